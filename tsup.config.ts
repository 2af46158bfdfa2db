// The npm build: the library as ESM + CJS with types for each (index.d.ts, index.d.cts), and the
// CLI as one ESM file for package.json's "bin". Dependencies and peers stay external.
import { defineConfig } from "tsup";

const shared = {
  outDir: "dist",
  platform: "node",
  target: "node20",
  sourcemap: false,
  // Keep `node:` specifiers as written: Deno and every supported Node resolve them.
  removeNodeProtocol: false,
} as const;

export default defineConfig([
  {
    ...shared,
    entry: { index: "mod.ts" },
    format: ["esm", "cjs"],
    dts: true,
    // Both builds run at once: the library cleans dist/ but must not delete the CLI's output.
    clean: ["!cli.js"],
  },
  {
    ...shared,
    entry: { cli: "src/cli/main.ts" },
    format: ["esm"],
  },
]);
