// `npm run bench`: store level, HTTP level, scale and sweep, memory; prints tables, writes
// JSON results to bench/results/ and the docs' SVG chart. See `npm run bench -- --help`.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { type Adapter, ADAPTER_LABELS, createAdapter, tableFor } from "./adapters.ts";
import type { BufferPool } from "./buffer-pool.ts";
import { chartSvg, type Panel } from "./chart.ts";
import { createBenchDatabase } from "./database.ts";
import { type HttpResult, type MemoryResult, runHttpLevel, variantLabel } from "./http-level.ts";
import { resultsMarkdown, type ResultsSummary } from "./markdown.ts";
import { type BenchOptions, HELP, parseOptions } from "./options.ts";
import { Payload } from "./payload.ts";
import { note } from "./progress.ts";
import { runScale, type ScaleResult, type SweepResult } from "./scale.ts";
import { preload, runStoreLevel, STORE_OPS } from "./store-level.ts";
import type { BatchResult } from "./store-level.ts";
import {
  evaluateTargets,
  type HttpRow,
  type StoreRow,
  summarizeHttp,
  summarizeMemory,
  summarizeScale,
  summarizeStore,
  type Target,
  VARIANT_ORDER,
} from "./summary.ts";

// The repository: one level up from bench/, or two from bench/.build/ (see run.mjs).
const root = fileURLToPath(
  new URL(import.meta.url.endsWith(".mjs") ? "../.." : "..", import.meta.url),
);

/** Short names for the chart's legends. */
const CHART_LABELS: Record<string, string> = {
  ours: "knex-mysql-session",
  "ours-touchAfter": "knex-mysql-session + touchAfter",
  csk: "connect-session-knex v5",
  ems: "express-mysql-session v3",
  bound: "mysql2 bound",
  "bound-call": "mysql2 bound, same procedures",
  memory: "MemoryStore",
};

const COLORS: Record<string, string> = {
  ours: "#2a7ae2",
  "ours-touchAfter": "#7fb2f0",
  csk: "#e2872a",
  ems: "#3a9e54",
  bound: "#777777",
  "bound-call": "#9c6ade",
  memory: "#b9b9b9",
};

async function machine(db: { admin: { query(sql: string): Promise<unknown> } }) {
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

function printStore(rows: StoreRow[], options: BenchOptions): void {
  console.log(
    `\nStore level: median of ${options.rounds} round(s) x ${options.ops} ops, ` +
      `${options.sessions} stored sessions of ~${options.payload} B; ` +
      "ours/x = median of per-round ops/s ratios",
  );
  console.log(
    `${pad("op", 13)}${padStart("c", 3)}  ${pad("store", 29)}${padStart("ops/s", 9)}` +
      `${padStart("p50 ms", 9)}${padStart("p99 ms", 9)}${padStart("cpu µs", 8)}${
        padStart("err", 5)
      }` +
      `${padStart("wrong", 6)}${padStart("ours/x", 8)}`,
  );
  for (const row of rows) {
    console.log(
      `${pad(row.op, 13)}${padStart(row.concurrency, 3)}  ${pad(ADAPTER_LABELS[row.adapter], 29)}` +
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

function chartPanels(store: StoreRow[], http: HttpRow[], options: ShownOptions): Panel[] {
  const panels: Panel[] = [];
  const compared = options.adapters.filter((a) => a !== "bound" && a !== "memory");
  if (options.adapters.includes("bound")) {
    for (const concurrency of options.concurrency) {
      const bound = (op: string) =>
        store.find((r) => r.op === op && r.concurrency === concurrency && r.adapter === "bound");
      panels.push({
        title: `Store level, concurrency ${concurrency}: ops/s relative to the hand-written ` +
          "mysql2 bound (higher is better)",
        groups: [...STORE_OPS],
        series: compared.map((adapter) => ({
          name: CHART_LABELS[adapter] as string,
          color: COLORS[adapter] as string,
          values: STORE_OPS.map((op) => {
            const row = store.find((r) =>
              r.op === op && r.concurrency === concurrency && r.adapter === adapter
            );
            const b = bound(op);
            // ours/bound divided by ours/this = this/bound
            return row && b ? b.oursOver / row.oursOver : NaN;
          }),
        })),
        format: (value) => value.toFixed(2),
        reference: { value: 1, label: "bound = 1.00" },
      });
    }
  }
  if (http.length > 0) {
    const scenarios = [...new Set(http.map((r) => r.scenario))];
    const variants = VARIANT_ORDER.filter((variant) => http.some((r) => r.variant === variant));
    panels.push({
      title: `HTTP level: requests/s, Express 5 + express-session, ${options.connections} ` +
        "connections (higher is better)",
      groups: scenarios,
      series: variants.map((variant) => ({
        name: CHART_LABELS[variant] ?? variant,
        color: COLORS[variant] ?? "#000",
        values: scenarios.map((scenario) =>
          http.find((r) => r.variant === variant && r.scenario === scenario)
            ?.requestsPerSecond ?? NaN
        ),
      })),
      format: (value) => String(Math.round(value)),
    });
  }
  return panels;
}

/** The options as results record them: without the server URL (it may hold a password). */
type ShownOptions = Omit<BenchOptions, "mysqlUrl">;

function shown(options: BenchOptions): ShownOptions {
  const { mysqlUrl: _, ...rest } = options;
  return rest;
}

interface Results {
  date: string;
  machine: Awaited<ReturnType<typeof machine>> | undefined;
  options: ShownOptions;
  targets: Target[];
  summary: ResultsSummary;
  raw: unknown;
}

/** Writes the Markdown tables next to the JSON results, and the SVG chart. */
async function writeReport(results: Results, out: string, chartPath?: string): Promise<void> {
  const { options, machine: info, summary, targets } = results;
  const chart = chartPath ??
    (options.quick ? `${root}bench/results/quick.svg` : `${root}docs/static/img/benchmark.svg`);
  const caption = `${info?.cpu}, ${info?.server}, Node ${info?.node}; ` +
    `${options.rounds} interleaved round(s); ${results.date.slice(0, 10)}`;
  const markdown = out.replace(/\.json$/, "") + ".md";
  await writeFile(markdown, resultsMarkdown(options, caption, { ...summary, targets }));
  await mkdir(dirname(chart), { recursive: true });
  await writeFile(chart, chartSvg(chartPanels(summary.store, summary.http, options), caption));
  console.log(`\nresults: ${out}, ${markdown}\nchart: ${chart}`);
}

async function main(): Promise<void> {
  const parsed = parseOptions(process.argv.slice(2));
  if (parsed === "help") {
    console.log(HELP);
    return;
  }
  const options = parsed;
  if (options.render) {
    // Re-draws the chart and tables of an earlier run, without running anything.
    const results = JSON.parse(await readFile(options.render, "utf8")) as Results;
    const { store, http, scale, sweep, memory } = results.summary;
    results.targets = evaluateTargets(store, http, scale, sweep, memory);
    await writeReport(results, options.render, options.chart);
    return;
  }
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
  let info;
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
  const targets = evaluateTargets(store, http, scale, raw.sweep, memory);
  if (store.length > 0) printStore(store, options);
  if (http.length > 0) printHttp(http, options);
  if (scale.length > 0) {
    console.log("\nScale (this store): p50 / p99 ms, median of rounds");
    for (const row of scale) {
      console.log(
        `${pad(row.op, 13)} c=${pad(row.concurrency, 3)} ${row.smallRows} rows ` +
          `${row.smallP50}/${row.smallP99}  ${row.largeRows} rows ${row.largeP50}/${row.largeP99}` +
          `  p50 ratio ${row.p50Ratio}`,
      );
    }
  }
  if (raw.sweep) console.log(`\nSweep: ${JSON.stringify(raw.sweep)}`);
  if (Object.keys(memory).length > 0) {
    console.log(`\nPeak RSS of the HTTP servers (MB): ${JSON.stringify(memory)}`);
  }
  console.log("\nTargets (issue 6):");
  for (const t of targets) console.log(`${t.met ? "MET  " : "UNMET"} ${t.target}: ${t.reached}`);

  const failures = [...store, ...http].reduce((sum, row) => sum + row.errors + row.wrong, 0) +
    (raw.sweep ? raw.sweep.errors + raw.sweep.wrong : 0) +
    raw.scale.reduce((sum, row) => sum + row.errors + row.wrong, 0);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const out = options.out ??
    `${root}bench/results/${options.quick ? "quick" : "full"}-${stamp}.json`;
  const results: Results = {
    date: new Date().toISOString(),
    machine: info,
    options: shown(options),
    targets,
    summary: { store, http, scale, sweep: raw.sweep, bufferPool: raw.bufferPool, memory },
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
