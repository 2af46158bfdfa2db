// Running a documented app as printed: a scratch directory inside the checkout (so that
// node_modules resolves from it), a free port, a fresh database, and a start and stop of the app
// as a user would see them: it prints its URL, serves, and exits by itself on SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { appAccount } from "./app_account.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));
const scratchDirectories: string[] = [];

/** A new scratch directory `.tmp/docs-samples/<prefix>-…`, removed by removeScratchDirectories. */
export function scratchDirectory(prefix: string): string {
  mkdirSync(`${root}.tmp/docs-samples`, { recursive: true });
  const dir = mkdtempSync(`${root}.tmp/docs-samples/${prefix}-`);
  scratchDirectories.push(dir);
  return dir;
}

export function removeScratchDirectories(): void {
  for (const dir of scratchDirectories.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function freePort(): Promise<number> {
  const server = createServer();
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** What `drive` gets of a running app. */
export interface ServedApp {
  /** The app's base URL, ending in `/`. */
  url: string;
  database: TestDatabase;
  /** Everything the app printed so far. */
  output(): string;
}

/**
 * Starts `command args` in `cwd` with MYSQL_URL (a fresh database), PORT and SESSION_SECRET,
 * waits for its "Listening on" line, runs `drive`, stops it with SIGTERM and checks that it
 * exited cleanly by itself. Resolves with everything it printed. The app logs in as the app
 * account of table `sessions` (installed and granted beforehand), unless `as` is "root".
 */
export async function serveApp(
  command: string,
  args: string[],
  cwd: string,
  drive: (app: ServedApp) => Promise<void>,
  { as = "app" }: { as?: "app" | "root" } = {},
): Promise<string> {
  const database = await createTestDatabase("docs_sample");
  const url = as === "app" ? (await appAccount(database)).url : database.url;
  const port = await freePort();
  const child = spawn(command, args, {
    cwd,
    env: {
      ...process.env,
      MYSQL_URL: url,
      PORT: String(port),
      SESSION_SECRET: "docs sample test",
      NO_COLOR: "1",
    },
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  try {
    const line = `Listening on http://localhost:${port}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "${line}" in 60 s:\n${output}`)), 60_000);
      child.stdout.on("data", () => {
        if (output.includes(line)) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`the app exited (${code}) before listening:\n${output}`));
      });
    });
    await drive({ url: `http://127.0.0.1:${port}/`, database, output: () => output });
    child.kill("SIGTERM");
    const timeout = setTimeout(() => child.kill("SIGKILL"), 120_000); // only ends a failure
    const [code, signal] = await exited;
    clearTimeout(timeout);
    // Deno's node:child_process reports a child that handled SIGTERM and exited 0 as killed by
    // SIGTERM; there, exiting before the SIGKILL deadline is what can be checked.
    const clean = "Deno" in globalThis
      ? { code: null, signal: "SIGTERM" }
      : { code: 0, signal: null };
    assert.deepEqual({ code, signal }, clean, `exit on SIGTERM:\n${output}`);
    return output;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await database.drop();
  }
}
