// HTTP level: each store behind Express 5 + express-session in its own child process,
// loaded by autocannon; stores take turns within each scenario of each round, in an order
// rotated every round. Also records each server's peak RSS (the memory target).
import autocannon from "autocannon";
import { type ChildProcess, fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { ADAPTER_LABELS, tableFor } from "./adapters.ts";
import type { ServerMessage, ServerSettings } from "./http-server.ts";
import { type AdapterName, type BenchOptions, STORE_ONLY } from "./options.ts";
import { sidOf } from "./payload.ts";
import { note, progress } from "./progress.ts";
import { rotate } from "./store-level.ts";

const require = createRequire(import.meta.url);
const { sign } = require("cookie-signature") as { sign(value: string, secret: string): string };

/** A store under a configuration: this project's store runs twice, with and without touchAfter. */
interface Variant {
  key: string;
  adapter: AdapterName;
  ours: ServerSettings["ours"];
  scenarios: Scenario[];
}

export const TOUCH_AFTER = 60_000;

/** The scenarios, each at its own path of the server: what a request does to its session. */
export const SCENARIOS = ["read", "increment", "rolling"] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface HttpResult {
  variant: string;
  adapter: AdapterName;
  scenario: Scenario;
  round: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  /** Transport errors and timeouts. */
  errors: number;
  /** Responses other than 200: the session was not found, or the store failed. */
  wrong: number;
}

export interface MemoryResult {
  variant: string;
  adapter: AdapterName;
  round: number;
  peakRss: number;
}

function variantsOf(adapters: AdapterName[]): Variant[] {
  const variants: Variant[] = adapters.filter((a) => !STORE_ONLY.includes(a)).map((adapter) => ({
    key: adapter,
    adapter,
    ours: {},
    scenarios: [...SCENARIOS],
  }));
  if (adapters.includes("ours")) {
    variants.push({
      key: "ours-touchAfter",
      adapter: "ours",
      ours: { touchAfter: TOUCH_AFTER },
      scenarios: ["rolling"],
    });
  }
  return variants;
}

export function variantLabel(key: string): string {
  return key === "ours-touchAfter"
    ? `${ADAPTER_LABELS.ours} (touchAfter ${TOUCH_AFTER / 1000} s)`
    : ADAPTER_LABELS[key as AdapterName];
}

function startServer(settings: ServerSettings): Promise<{ child: ChildProcess; port: number }> {
  // Compiled by run.mjs (http-server.mjs next to this file), or TypeScript through tsx.
  const compiled = import.meta.url.endsWith(".mjs");
  const script = fileURLToPath(
    new URL(compiled ? "./http-server.mjs" : "./http-server.ts", import.meta.url),
  );
  const child = fork(script, [JSON.stringify(settings)], {
    execArgv: compiled ? [] : ["--import", "tsx"],
    stdio: ["ignore", 2, 2, "ipc"], // the server's output goes to stderr, with the progress
  });
  return new Promise((resolve, reject) => {
    child.once("message", (message: ServerMessage) => {
      if ("listening" in message) resolve({ child, port: message.listening });
      else reject(new Error(`${settings.adapter} server failed: ${JSON.stringify(message)}`));
    });
    child.once("exit", (code) => reject(new Error(`${settings.adapter} server exited (${code})`)));
  });
}

/**
 * Asks the server for its peak RSS and to stop; resolves once it has exited, so that requests
 * it still finishes never meet the next server, or a dropped database.
 */
function stopServer(child: ChildProcess): Promise<number> {
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const peak = new Promise<number>((resolve, reject) => {
    child.once("message", (message: ServerMessage) => {
      if ("memory" in message) resolve(message.memory.peakRss);
      else reject(new Error(`server failed: ${JSON.stringify(message)}`));
    });
    child.send("stop");
  });
  return peak.then(async (rss) => {
    const stuck = setTimeout(() => child.kill(), 10_000); // a server that cannot close
    await exited;
    clearTimeout(stuck);
    return rss;
  });
}

function load(
  port: number,
  paths: string[],
  cookies: string[],
  options: BenchOptions,
  seconds: number,
) {
  let next = 0;
  const setupRequest = (request: Record<string, unknown>) => {
    const cookie = cookies[next++ % cookies.length] as string;
    return { ...request, headers: { ...(request.headers as object), cookie } };
  };
  return autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: options.connections,
    duration: seconds,
    requests: paths.map((path) => ({ method: "GET", path, setupRequest })),
  });
}

/**
 * Starts every store's server first, then in each round runs each scenario on every store in
 * turn (order rotated each round), so that the figures a ratio compares are measured seconds
 * apart, not minutes: the machine's drift falls on all stores alike. Each server gets a short
 * unrecorded warm-up on all its paths first, and reports its peak RSS over the whole run.
 */
export async function runHttpLevel(
  options: BenchOptions,
  url: string,
): Promise<{ http: HttpResult[]; memory: MemoryResult[] }> {
  const http: HttpResult[] = [];
  const memory: MemoryResult[] = [];
  const secret = randomBytes(16).toString("hex");
  const sessions = options.quick ? 200 : 1000;
  const cookies = Array.from(
    { length: sessions },
    (_, i) => `connect.sid=${encodeURIComponent(`s:${sign(sidOf("h", i), secret)}`)}`,
  );
  const variants = variantsOf(options.adapters);
  const servers = new Map<Variant, { child: ChildProcess; port: number }>();
  try {
    for (const variant of variants) {
      progress(`http: starting ${variantLabel(variant.key)}`);
      const server = await startServer({
        adapter: variant.adapter,
        url,
        table: tableFor("http", variant.key),
        ours: variant.ours,
        sessions,
        payload: options.payload,
        secret,
      });
      servers.set(variant, server);
      const paths = variant.scenarios.map((scenario) => `/${scenario}`);
      await load(server.port, paths, cookies, options, 1);
    }
    for (let round = 1; round <= options.rounds; round++) {
      for (const scenario of SCENARIOS) {
        const running = variants.filter((variant) => variant.scenarios.includes(scenario));
        for (const variant of rotate(running, round - 1)) {
          progress(
            `http round ${round}/${options.rounds} ${scenario} ${variantLabel(variant.key)}`,
          );
          const { port } = servers.get(variant) as { port: number };
          const result = await load(port, [`/${scenario}`], cookies, options, options.duration);
          const wrong = result.non2xx;
          if (wrong > 0 || result.errors > 0) {
            note(`${variant.key} ${scenario}: ${wrong} non-200, ${result.errors} errors`);
          }
          http.push({
            variant: variant.key,
            adapter: variant.adapter,
            scenario,
            round,
            requestsPerSecond: result.requests.total / result.duration,
            p50: result.latency.p50,
            p99: result.latency.p99,
            errors: result.errors + result.timeouts,
            wrong,
          });
        }
      }
    }
  } finally {
    for (const [variant, { child }] of servers) {
      const peakRss = await stopServer(child);
      memory.push({ variant: variant.key, adapter: variant.adapter, round: 1, peakRss });
    }
  }
  return { http, memory };
}
