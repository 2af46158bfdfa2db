// `npm run bench`: store level, HTTP level, scale and sweep, memory, on the server of MYSQL_URL
// or --url (MariaDB or MySQL); prints tables, writes JSON results, Markdown and an SVG chart to
// bench/results/ (report.ts, which also draws runs again: --render). See --help.
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname } from "node:path";
import process from "node:process";
import { type Adapter, ADAPTER_LABELS, createAdapter, tableFor } from "./adapters.ts";
import type { BufferPool } from "./buffer-pool.ts";
import { createBenchDatabase } from "./database.ts";
import { type HttpResult, type MemoryResult, runHttpLevel, variantLabel } from "./http-level.ts";
import { type BenchOptions, HELP, parseOptions } from "./options.ts";
import { Payload } from "./payload.ts";
import { note } from "./progress.ts";
import {
  type Machine,
  render,
  type Results,
  serverKindOfRun,
  serverName,
  type ShownOptions,
  writeReport,
} from "./report.ts";
import { root } from "./root.ts";
import { runScale, type ScaleResult, type SweepResult } from "./scale.ts";
import { preload, runStoreLevel } from "./store-level.ts";
import type { BatchResult } from "./store-level.ts";
import {
  evaluateTargets,
  groupBy,
  type HttpRow,
  pairLabel,
  type PairRow,
  type ScaleRow,
  type StoreRow,
  summarizeCallCost,
  summarizeHttp,
  summarizeMemory,
  summarizeOwnerCost,
  summarizeScale,
  summarizeStore,
} from "./summary.ts";

async function machine(db: { admin: { query(sql: string): Promise<unknown> } }): Promise<Machine> {
  const [rows] = await db.admin.query("SELECT VERSION() AS version") as [{ version: string }[]];
  const cpus = os.cpus();
  return {
    cpu: `${cpus.length} x ${cpus[0]?.model ?? "unknown"}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    server: rows[0]?.version ?? "unknown",
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

const pad = (text: string | number, width: number) => String(text).padEnd(width);
const padStart = (text: string | number, width: number) => String(text).padStart(width);

const LABEL_WIDTH = Math.max(...Object.values(ADAPTER_LABELS).map((label) => label.length)) + 1;

function printStore(rows: StoreRow[], options: BenchOptions): void {
  console.log(
    `\nStore level: median of ${options.rounds} round(s) x ${options.ops} ops, ` +
      `${options.sessions} stored sessions of ~${options.payload} B; ` +
      "ours/x = median of per-round ops/s ratios",
  );
  console.log(
    `${pad("op", 13)}${padStart("c", 3)}  ${pad("store", LABEL_WIDTH)}${padStart("ops/s", 9)}` +
      `${padStart("p50 ms", 9)}${padStart("p99 ms", 9)}${padStart("cpu µs", 8)}${
        padStart("err", 5)
      }` +
      `${padStart("wrong", 6)}${padStart("ours/x", 8)}`,
  );
  for (const row of rows) {
    console.log(
      `${pad(row.op, 13)}${padStart(row.concurrency, 3)}  ` +
        `${pad(ADAPTER_LABELS[row.adapter], LABEL_WIDTH)}` +
        `${padStart(row.opsPerSecond, 9)}${padStart(row.p50, 9)}${padStart(row.p99, 9)}` +
        `${padStart(row.cpuPerOp, 8)}` +
        `${padStart(row.errors, 5)}${padStart(row.wrong, 6)}${padStart(row.oursOver, 8)}`,
    );
  }
}

function printHttp(rows: HttpRow[], options: BenchOptions): void {
  console.log(
    `\nHTTP level: Express 5 + express-session, autocannon ${options.connections} connections, ` +
      `median of ${options.rounds} round(s) x ${options.duration} s`,
  );
  console.log(
    `${pad("scenario", 11)}${pad("store", 42)}${padStart("req/s", 9)}${padStart("p50 ms", 8)}` +
      `${padStart("p99 ms", 8)}${padStart("err", 5)}${padStart("wrong", 6)}${
        padStart("ours/x", 8)
      }`,
  );
  for (const row of rows) {
    console.log(
      `${pad(row.scenario, 11)}${pad(variantLabel(row.variant), 42)}` +
        `${padStart(row.requestsPerSecond, 9)}${padStart(row.p50, 8)}${padStart(row.p99, 8)}` +
        `${padStart(row.errors, 5)}${padStart(row.wrong, 6)}${padStart(row.oursOver, 8)}`,
    );
  }
}

/** Ratios of pairs of stores, a line per pair and concurrency: "<what>, c=1: set-new 0.98x, …". */
function printPairs(title: string, rows: PairRow[], what: (row: PairRow) => string): void {
  console.log(`\n${title} (median of per-round ratios of ops/s)`);
  for (const [line, group] of groupBy(rows, (r) => `${what(r)}, c=${r.concurrency}`)) {
    console.log(`${line}: ${group.map((r) => `${r.op} ${r.ratio.toFixed(2)}x`).join(", ")}`);
  }
}

function printScale(rows: ScaleRow[]): void {
  console.log("\nScale (this store, userId set): ops/s p50/p99 ms per table, medians of rounds");
  for (const row of rows) {
    console.log(
      `${pad(row.op, 13)} c=${pad(row.concurrency, 3)} ${row.smallRows} rows ` +
        `${row.smallOps} ${row.smallP50}/${row.smallP99}  ${row.largeRows} rows ` +
        `${row.largeOps} ${row.largeP50}/${row.largeP99}  large/small: ` +
        `p50 ${row.p50Ratio}x, ops/s ${row.opsRatio}x`,
    );
  }
}

function shown(options: BenchOptions): ShownOptions {
  const { mysqlUrl: _, ...rest } = options;
  return rest;
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === "help") {
    console.log(HELP);
    return;
  }
  const options = parsed;
  // Draws the chart and tables of earlier runs again, without running anything.
  if (options.render.length > 0) return render(options);
  const db = await createBenchDatabase(options.mysqlUrl);
  note(`database ${db.name}; options ${JSON.stringify(shown(options))}`);
  const payload = new Payload(options.payload);
  const raw: {
    store: BatchResult[];
    http: HttpResult[];
    memory: MemoryResult[];
    scale: ScaleResult[];
    sweep?: SweepResult;
    bufferPool?: BufferPool;
  } = { store: [], http: [], memory: [], scale: [] };
  let info: Machine | undefined;
  try {
    info = await machine(db);
    if (options.phases.includes("store")) {
      const adapters: Adapter[] = [];
      try {
        for (const name of options.adapters) {
          const adapter = await createAdapter(name, db.url, tableFor("store", name));
          adapters.push(adapter);
          await preload(adapter, db, payload, options.sessions);
        }
        raw.store = await runStoreLevel(adapters, options, payload);
      } finally {
        for (const adapter of adapters) await adapter.close();
      }
    }
    if (options.phases.includes("http")) {
      Object.assign(raw, await runHttpLevel(options, db.url));
    }
    if (options.phases.includes("scale") && options.adapters.includes("ours")) {
      Object.assign(raw, await runScale(db, options, payload));
    }
  } finally {
    await db.drop();
  }
  const store = summarizeStore(raw.store);
  const http = summarizeHttp(raw.http);
  const scale = summarizeScale(raw.scale);
  const memory = summarizeMemory(raw.memory);
  const callCost = summarizeCallCost(raw.store);
  const ownerCost = summarizeOwnerCost(raw.store);
  const targets = evaluateTargets(store, http, scale, raw.sweep, memory, ownerCost);
  const server = serverName(info?.server ?? "");
  if (store.length > 0) printStore(store, options);
  if (callCost.length > 0) {
    printPairs(
      "What a CALL costs: the hand-written store CALLing the procedures / sending the same " +
        "statements plainly",
      callCost,
      () => `CALL/plain on ${server}`,
    );
  }
  if (ownerCost.length > 0) {
    printPairs(
      "The owner column's cost on set: the hand-written store CALLing schema 2's procedures / " +
        "schema 1's; this store with userId / without",
      ownerCost,
      (row) => `${pairLabel(row)} on ${server}`,
    );
  }
  if (http.length > 0) printHttp(http, options);
  if (scale.length > 0) printScale(scale);
  if (raw.sweep) console.log(`\nSweep: ${JSON.stringify(raw.sweep)}`);
  if (Object.keys(memory).length > 0) {
    console.log(`\nPeak RSS of the HTTP servers (MB): ${JSON.stringify(memory)}`);
  }
  console.log("\nTargets:");
  for (const t of targets) console.log(`${t.met ? "MET  " : "UNMET"} ${t.target}: ${t.reached}`);

  const failures = [...store, ...http].reduce((sum, row) => sum + row.errors + row.wrong, 0) +
    (raw.sweep ? raw.sweep.errors + raw.sweep.wrong : 0) +
    raw.scale.reduce((sum, row) => sum + row.errors + row.wrong, 0);
  // e.g. full-mariadb-2026-11-27T09-52-36-288Z.json
  const name = [
    options.quick ? "quick" : "full",
    serverKindOfRun({ machine: info }),
    new Date().toISOString().replace(/[:.]/g, "-"),
  ].join("-");
  const out = options.out ?? `${root}bench/results/${name}.json`;
  const results: Results = {
    date: new Date().toISOString(),
    machine: info,
    options: shown(options),
    targets,
    summary: {
      store,
      http,
      scale,
      sweep: raw.sweep,
      bufferPool: raw.bufferPool,
      memory,
      callCost,
      ownerCost,
    },
    raw,
  };
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  await writeReport(results, out, options.chart);
  if (failures > 0) {
    console.error(`${failures} errors or wrong results: see the tables above`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error instanceof TypeError ? error.message : error);
  process.exitCode = 1;
});
