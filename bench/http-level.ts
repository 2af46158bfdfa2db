// HTTP level: each store behind Express 5 + express-session in its own child process,
// loaded by autocannon; stores take turns within each scenario of each round, in an order
// rotated every round. Also records each server's peak RSS (the memory target).
import autocannon from "autocannon";
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ADAPTER_LABELS, type AdapterName, STORE_ONLY, tableFor } from "./adapters.ts";
import type { ServerMessage, ServerSettings } from "./http-server.ts";
import type { BenchOptions } from "./options.ts";
import { sidOf } from "./payload.ts";
import { note, progress } from "./progress.ts";
import { rotate } from "./store-level.ts";
import type { Measurement } from "./summary.ts";

const require = createRequire(import.meta.url);
const { sign } = require("cookie-signature") as { sign(value: string, secret: string): string };

/** The scenarios, each at its own path of the server: what a request does to its session. */
export const SCENARIOS = ["read", "increment", "rolling"];
const TOUCH_AFTER = 60_000;
/** The HTTP variants in table order: this store, with touchAfter, then the others. */
export const VARIANTS = ["ours", "ours-touchAfter", ...Object.keys(ADAPTER_LABELS).slice(1)];

export function variantLabel(key: string): string {
  return key === "ours-touchAfter"
    ? `${ADAPTER_LABELS.ours} (touchAfter ${TOUCH_AFTER / 1000} s)`
    : ADAPTER_LABELS[key as AdapterName];
}

/** Starts a server, and resolves with what stops it: its peak RSS, once it has exited. */
function startServer(settings: ServerSettings) {
  // Compiled by run.mjs (http-server.mjs next to this file), or TypeScript through tsx.
  const [compiled, [name]] = [import.meta.url.endsWith(".mjs"), settings.adapter];
  const script = fileURLToPath(
    new URL(`./http-server.${compiled ? "mjs" : "ts"}`, import.meta.url),
  );
  const child: ChildProcess = fork(script, [JSON.stringify(settings)], {
    execArgv: compiled ? [] : ["--import", "tsx"],
    stdio: ["ignore", 2, 2, "ipc"], // the server's output goes to stderr, with the progress
  });
  const reply = (field: "listening" | "peakRss") =>
    new Promise<number>((resolve, reject) => {
      const fail = (what: string) => reject(new Error(`${name} server ${what}`));
      child.once("message", (message: ServerMessage) => {
        if (field in message) resolve((message as unknown as Record<typeof field, number>)[field]);
        else fail(`failed: ${JSON.stringify(message)}`);
      });
      child.once("exit", (code) => fail(`exited (${code})`));
    });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  /**
   * Asks for the peak RSS, and waits until the server has exited, so that requests it still
   * finishes never meet the next server, or a dropped database.
   */
  const stop = async () => {
    const peakRss = reply("peakRss");
    child.send("stop");
    await peakRss;
    const stuck = setTimeout(() => child.kill(), 10_000); // a server that cannot close
    await exited;
    clearTimeout(stuck);
    return peakRss;
  };
  return reply("listening").then((port) => ({ port, stop }));
}

/**
 * Starts every store's server first, then in each round runs each scenario on every store in
 * turn (order rotated each round), so that the figures a ratio compares are measured seconds
 * apart, not minutes: the machine's drift falls on all stores alike. Each server gets a short
 * unrecorded warm-up on all its paths first, and reports its peak RSS over the whole run.
 */
export async function runHttpLevel(options: BenchOptions, url: string) {
  const http: Measurement[] = [];
  const memory: Record<string, number> = {};
  const secret = randomBytes(16).toString("hex");
  const sessions = options.quick ? 200 : 1000;
  const cookies = Array.from(
    { length: sessions },
    (_, i) => `connect.sid=${encodeURIComponent(`s:${sign(sidOf("h", i), secret)}`)}`,
  );
  const load = (port: number, paths: string[], seconds: number) => {
    let next = 0;
    const setupRequest = (request: Record<string, unknown>) => {
      const cookie = cookies[next++ % cookies.length] as string;
      return { ...request, headers: { ...(request.headers as object), cookie } };
    };
    const requests = paths.map((path) => ({ method: "GET" as const, path, setupRequest }));
    const target = { url: `http://127.0.0.1:${port}`, connections: options.connections };
    return autocannon({ ...target, duration: seconds, requests });
  };
  // A store under a configuration: this project's store runs twice, with and without touchAfter.
  const variants = options.adapters.filter((a) => !STORE_ONLY.includes(a))
    .map((adapter) => ({ key: adapter as string, adapter, ours: {}, scenarios: SCENARIOS }));
  if (options.adapters.includes("ours")) {
    const ours = { touchAfter: TOUCH_AFTER };
    variants.push({ key: "ours-touchAfter", adapter: "ours", ours, scenarios: ["rolling"] });
  }
  const servers = new Map<string, Awaited<ReturnType<typeof startServer>>>();
  try {
    for (const { key, adapter, ours, scenarios } of variants) {
      progress(`http: starting ${variantLabel(key)}`);
      const store: ServerSettings["adapter"] = [adapter, url, tableFor("http", key), ours];
      const { payload } = options;
      const server = await startServer({ adapter: store, sessions, payload, secret });
      servers.set(key, server);
      await load(server.port, scenarios.map((scenario) => `/${scenario}`), 1);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const scenario of SCENARIOS) {
        const running = variants.filter((variant) => variant.scenarios.includes(scenario));
        for (const { key } of rotate(running, round - 1)) {
          progress(`http round ${round}/${options.rounds} ${scenario} ${variantLabel(key)}`);
          const { port } = servers.get(key)!;
          const result = await load(port, [`/${scenario}`], options.duration);
          const wrong = result.non2xx;
          if (wrong > 0 || result.errors > 0) {
            note(`${key} ${scenario}: ${wrong} non-200, ${result.errors} errors`);
          }
          http.push({
            ...{ subject: key, op: scenario, concurrency: options.connections, round },
            opsPerSecond: result.requests.total / result.duration,
            ...{ p50: result.latency.p50, p99: result.latency.p99 },
            ...{ errors: result.errors + result.timeouts, wrong },
          });
        }
      }
    }
  } finally {
    for (const [key, { stop }] of servers) memory[key] = await stop();
  }
  return { http, memory };
}
