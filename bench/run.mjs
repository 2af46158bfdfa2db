// `npm run bench`: bundles the bench (and the store's TypeScript sources) into plain
// JavaScript with esbuild, as the published package is, then runs it. Running the stores as
// compiled JS, not through a TypeScript loader, keeps the loader's CPU and memory out of the
// numbers (and treats every store alike: the compared packages ship JavaScript).
import { build } from "esbuild";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";

const bench = fileURLToPath(new URL(".", import.meta.url));
const outdir = `${bench}.build`;
await build({
  entryPoints: [`${bench}main.ts`, `${bench}http-server.ts`],
  outdir,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  outExtension: { ".js": ".mjs" },
  logLevel: "warning",
});
const child = spawn(process.execPath, [`${outdir}/main.mjs`, ...process.argv.slice(2)], {
  stdio: "inherit",
});
child.on("exit", (code, signal) => {
  process.exitCode = code ?? (signal ? 1 : 0);
});
