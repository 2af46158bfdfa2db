// Serves a built static site (docs/build) on a loopback port, the way GitHub Pages does:
// `/docs/options` is `docs/options.html`, `/` is `index.html`, anything else is `404.html`.
// Used by the docs browser test; run directly to look at a build: `node --import tsx
// scripts/docs-serve.ts [port]`.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { extname, join, normalize, sep } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".xml": "application/xml",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
};

export interface StaticServer {
  /** The site's address, ending in `/`. */
  url: string;
  close(): Promise<void>;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}

/** The file that answers `pathname` under `root`, or undefined for a 404. */
async function resolveFile(
  root: string,
  pathname: string,
): Promise<string | undefined> {
  const relative = normalize(decodeURIComponent(pathname)).replace(
    /^([/\\])+/,
    "",
  );
  const base = join(root, relative);
  if (base !== root && !base.startsWith(root + sep)) return undefined; // no escaping the root
  for (const candidate of [base, `${base}.html`, join(base, "index.html")]) {
    if (await isFile(candidate)) return candidate;
  }
  return undefined;
}

/** Starts serving `root` on 127.0.0.1 (`port` 0: any free port). */
export function serveStatic(root: string, port = 0): Promise<StaticServer> {
  const server = createServer(async (request, response) => {
    const { pathname } = new URL(request.url ?? "/", "http://localhost");
    const file = await resolveFile(root, pathname).catch(() => undefined);
    const found = file ?? join(root, "404.html");
    response.writeHead(file ? 200 : 404, {
      "content-type": CONTENT_TYPES[extname(found)] ??
        "application/octet-stream",
    });
    createReadStream(found).on("error", () => response.end()).pipe(response);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      const { port: actual } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${actual}/`,
        close: () => {
          server.closeAllConnections();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL("../docs/build", import.meta.url));
  const site = await serveStatic(root, Number(process.argv[2] ?? 3000));
  console.log(`Serving ${root} at ${site.url}`);
}
