// What a run leaves: its results file, Markdown and chart; and drawing them again from results
// files (`--render`), of one run, or of several (one per server) side by side.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, relative } from "node:path";
import { serverKindOf } from "../src/server.ts";
import { chartSvg, type Panel } from "./chart.ts";
import {
  type ComparedRun,
  comparisonMarkdown,
  replaceMarked,
  resultsMarkdown,
  type ResultsSummary,
} from "./markdown.ts";
import { type BenchOptions, STORE_ONLY } from "./options.ts";
import { root } from "./root.ts";
import { type BatchResult, STORE_OPS } from "./store-level.ts";
import type { HttpResult } from "./http-level.ts";
import type { ScaleResult } from "./scale.ts";
import {
  evaluateTargets,
  OWNER_PAIRS,
  pairLabel,
  type PairRow,
  summarizeCallCost,
  summarizeHttp,
  summarizeOwnerCost,
  summarizeScale,
  summarizeStore,
  type Target,
  VARIANT_ORDER,
} from "./summary.ts";

/** The options as results record them: without the server URL (it may hold a password). */
export type ShownOptions = Omit<BenchOptions, "mysqlUrl">;

export interface Machine {
  cpu: string;
  memoryGiB: number;
  node: string;
  /** What the server's VERSION() answered. */
  server: string;
  loadAverageAtStart: number[];
}

/** A results file. */
export interface Results {
  date: string;
  machine: Machine | undefined;
  options: ShownOptions;
  targets: Target[];
  summary: ResultsSummary;
  raw: { store: BatchResult[]; http?: HttpResult[]; scale?: ScaleResult[] };
}

/** "mariadb" or "mysql": how results files are named. */
export function serverKindOfRun(results: Pick<Results, "machine">): string {
  return serverKindOf(results.machine?.server ?? "");
}

const KIND_NAMES: Record<string, string> = { mariadb: "MariaDB", mysql: "MySQL" };

/** "MariaDB 10.11.19" or "MySQL 9.7.4", from what VERSION() answered. */
export function serverName(version: string): string {
  return `${KIND_NAMES[serverKindOf(version)]} ${/^\d+(\.\d+)*/.exec(version)?.[0] ?? version}`;
}

function caption(results: Results): string {
  const { machine: info, options } = results;
  const server = info ? `${serverName(info.server)} (${info.server})` : "unknown server";
  return `${info?.cpu}, ${server}, Node ${info?.node}; ${options.rounds} interleaved round(s); ` +
    results.date.slice(0, 10);
}

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

/** One color per run in the panels that show runs side by side. */
const RUN_COLORS = ["#9c6ade", "#2a9d8f", "#e76f51", "#264653"];

/** A run's store-level and HTTP panels, their titles prefixed with `prefix`. */
function runPanels(results: Results, prefix: string): Panel[] {
  const { options, summary: { store, http } } = results;
  const panels: Panel[] = [];
  // The stores of the owner column's cost have panels of their own (pairPanels).
  const compared = options.adapters.filter((a) =>
    a !== "bound" && a !== "memory" && !STORE_ONLY.includes(a)
  );
  if (options.adapters.includes("bound")) {
    for (const concurrency of options.concurrency) {
      const bound = (op: string) =>
        store.find((r) => r.op === op && r.concurrency === concurrency && r.adapter === "bound");
      panels.push({
        title: `${prefix}Store level, concurrency ${concurrency}: ops/s relative to the ` +
          "hand-written mysql2 bound (higher is better)",
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
      title: `${prefix}HTTP level: requests/s, Express 5 + express-session, ` +
        `${options.connections} connections (higher is better)`,
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

/** A ratio per op and concurrency, one series per run; none when no run has rows. */
function ratioPanel(
  title: string,
  reference: string,
  runs: { name: string; rows: PairRow[] }[],
): Panel[] {
  const key = (r: PairRow) => `${r.op} c=${r.concurrency}`;
  const groups = [...new Set(runs.flatMap((run) => run.rows.map(key)))];
  if (groups.length === 0) return [];
  return [{
    title,
    groups,
    series: runs.map((run, i) => ({
      name: run.name,
      color: RUN_COLORS[i % RUN_COLORS.length] as string,
      values: groups.map((group) => run.rows.find((r) => key(r) === group)?.ratio ?? NaN),
    })),
    format: (value) => value.toFixed(2),
    reference: { value: 1, label: reference },
  }];
}

/** What a CALL costs, and what the owner column costs on set, on each run's server. */
function pairPanels(runs: { name: string; summary: ResultsSummary }[]): Panel[] {
  return [
    ...ratioPanel(
      "What a CALL costs: ops/s of the CALL relative to the same statement sent plainly",
      "plain = 1.00",
      runs.map((run) => ({ name: run.name, rows: run.summary.callCost })),
    ),
    ...OWNER_PAIRS.flatMap((pair) =>
      ratioPanel(
        `The owner column's cost on set: ops/s, ${pair.label}`,
        "without = 1.00",
        runs.map((run) => ({
          name: run.name,
          rows: run.summary.ownerCost.filter((r) => pairLabel(r) === pair.label),
        })),
      )
    ),
  ];
}

/** The narrow form of the chart at `path` (a phone's): `x.svg` → `x-narrow.svg`. */
function narrowChartPath(path: string): string {
  return path.replace(/(\.svg)?$/, "-narrow.svg");
}

/** The chart at `path`, and its narrow form beside it. */
async function writeChart(path: string, panels: Panel[], captions: string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, chartSvg(panels, captions));
  await writeFile(narrowChartPath(path), chartSvg(panels, captions, "narrow"));
}

/** Writes a run's Markdown next to its results file `out`, and its chart. */
export async function writeReport(results: Results, out: string, chartPath?: string) {
  const { options, summary, targets } = results;
  const server = serverName(results.machine?.server ?? "");
  const chart = chartPath ?? out.replace(/\.json$/, "") + ".svg";
  const markdown = out.replace(/\.json$/, "") + ".md";
  await writeFile(
    markdown,
    resultsMarkdown(options, server, caption(results), { ...summary, targets }),
  );
  await writeChart(chart, [
    ...runPanels(results, ""),
    ...pairPanels([{ name: server, summary }]),
  ], [caption(results)]);
  console.log(`\nresults: ${out}, ${markdown}\nchart: ${chart}, ${narrowChartPath(chart)}`);
}

/**
 * A results file, with the summaries computed from its rounds again (a file older than a table
 * lacks it, or has it in an older form) and its targets evaluated again (they may have changed
 * since).
 */
async function load(file: string): Promise<Results> {
  const results = JSON.parse(await readFile(file, "utf8")) as Results;
  const { summary, raw } = results;
  // From the rounds, also where a summary is there: JSON writes a ratio that is not finite (a
  // store served nothing in a short window) as null.
  summary.store = summarizeStore(raw.store);
  if (raw.http) summary.http = summarizeHttp(raw.http);
  summary.callCost = summarizeCallCost(raw.store);
  summary.ownerCost = summarizeOwnerCost(raw.store);
  if (raw.scale) summary.scale = summarizeScale(raw.scale);
  const { store, http, scale, sweep, memory, ownerCost } = summary;
  results.targets = evaluateTargets(store, http, scale, sweep, memory, ownerCost);
  return results;
}

/** Labels that tell the runs apart: the server kind, else its version, else the time too. */
function labels(runs: Results[]): string[] {
  const version = (run: Results) => run.machine?.server ?? "";
  const candidates = [
    (run: Results) => KIND_NAMES[serverKindOfRun(run)] as string,
    (run: Results) => serverName(version(run)),
    (run: Results) => `${serverName(version(run))} ${run.date.slice(0, 16)}`,
  ];
  for (const candidate of candidates) {
    const names = runs.map(candidate);
    if (new Set(names).size === names.length) return names;
  }
  return runs.map((_, i) => `run ${i + 1}`);
}

/**
 * `--render`: one file draws its run's Markdown and chart again; several draw them side by
 * side into the marked section of `--out` (default: this docs page for full runs) and one chart.
 */
export async function render(options: BenchOptions): Promise<void> {
  const files = options.render;
  const runs = await Promise.all(files.map(load));
  if (runs.length === 1) return writeReport(runs[0] as Results, files[0] as string, options.chart);
  const full = runs.every((run) => !run.options.quick);
  const out = options.out ??
    (full ? `${root}docs/docs/benchmarks.md` : `${root}bench/results/quick-compare.md`);
  const chart = options.chart ??
    (full ? `${root}docs/static/img/benchmark.svg` : `${root}bench/results/quick-compare.svg`);
  const names = labels(runs);
  const compared: ComparedRun[] = runs.map((run, i) => ({
    label: names[i] as string,
    server: serverName(run.machine?.server ?? ""),
    version: run.machine?.server ?? "unknown",
    machine: `${run.machine?.cpu}, ${run.machine?.memoryGiB} GiB, Node ${run.machine?.node}`,
    date: run.date,
    file: relative(root, files[i] as string),
    options: run.options,
    summary: { ...run.summary, targets: run.targets },
  }));
  const existing = await readFile(out, "utf8").catch((error) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  });
  await writeFile(out, replaceMarked(existing, comparisonMarkdown(compared)));
  // The same panel of every run one after the other, then what a CALL and the owner column
  // cost on each.
  const perRun = runs.map((run, i) => runPanels(run, `${names[i]}: `));
  const rows = Math.max(...perRun.map((panels) => panels.length));
  const interleaved = Array.from({ length: rows }, (_, i) => perRun.flatMap((p) => p[i] ?? []));
  await writeChart(chart, [
    ...interleaved.flat(),
    ...pairPanels(compared.map((run) => ({ name: run.label, summary: run.summary }))),
  ], runs.map((run, i) => `${names[i]}: ${caption(run)}`));
  console.log(`comparison: ${out}\nchart: ${chart}, ${narrowChartPath(chart)}`);
}
