// The results as Markdown, written next to the JSON for the docs' Benchmarks page: one run's
// tables, or several runs (one per server) side by side. Tables are padded and prose wrapped
// as `deno fmt` writes them, so that a section rendered into the docs passes its check.
import { ADAPTER_LABELS } from "./adapters.ts";
import { variantLabel } from "./http-level.ts";
import type { BenchOptions } from "./options.ts";
import type { BufferPool } from "./buffer-pool.ts";
import { type SweepResult, USER_OPS } from "./scale.ts";
import { round3 } from "./stats.ts";
import {
  type HttpRow,
  pairLabel,
  type PairRow,
  type ScaleRow,
  type StoreRow,
  type Target,
} from "./summary.ts";

type Cell = string | number;
/** A column: its header and its cell for a row. */
type Column<R> = [string, (row: R) => Cell];

const LINE_WIDTH = 100;

function table(header: string[], rows: Cell[][]): string {
  const text = [header, ...rows].map((cells) => cells.map(String));
  const widths = header.map((_, i) => Math.max(1, ...text.map((cells) => cells[i]?.length ?? 0)));
  const line = (cells: string[]) =>
    `| ${widths.map((width, i) => (cells[i] ?? "").padEnd(width)).join(" | ")} |`;
  return [header, widths.map((width) => "-".repeat(width)), ...text.slice(1)].map(line)
    .join("\n");
}

/** A paragraph wrapped at the docs' line width; like deno fmt, never inside `code`. */
function paragraph(text: string): string {
  const lines: string[] = [];
  for (const word of text.match(/(?:`[^`]*`|\S)+/g) ?? []) {
    const last = lines.length - 1;
    if (last >= 0 && `${lines[last]} ${word}`.length <= LINE_WIDTH) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines.join("\n");
}

/** A section: its heading, its paragraphs, then its table. */
function section(heading: string, paragraphs: string[], body: string): string {
  return [`### ${heading}`, ...paragraphs.map(paragraph), body].join("\n\n");
}

/** One run's rows, under a label that heads its columns ("" for a run on its own). */
interface Labelled<R> {
  label: string;
  rows: R[];
}

/**
 * Runs side by side: one row per key found in any run (in order of first appearance), the
 * key's columns once, then each run's columns, their headers prefixed with the run's label.
 */
function sideBySide<R>(runs: Labelled<R>[], keys: Column<R>[], columns: Column<R>[]): string {
  const id = (row: R) => keys.map(([, cell]) => cell(row)).join("\u0000");
  const firsts = new Map<string, R>();
  for (const row of runs.flatMap((run) => run.rows)) {
    if (!firsts.has(id(row))) firsts.set(id(row), row);
  }
  return table(
    [
      ...keys.map(([header]) => header),
      ...runs.flatMap((run) => columns.map(([header]) => `${run.label} ${header}`.trim())),
    ],
    [...firsts].map(([key, first]) => [
      ...keys.map(([, cell]) => cell(first)),
      ...runs.flatMap((run) => {
        const row = run.rows.find((r) => id(r) === key);
        return columns.map(([, cell]) => row ? cell(row) : "–");
      }),
    ]),
  );
}

const TARGET_KEYS: Column<Target>[] = [["target", (t) => t.target]];
const met: Column<Target> = ["met", (t) => t.met ? "yes" : "**no**"];

const STORE_KEYS: Column<StoreRow>[] = [
  ["op", (r) => r.op],
  ["c", (r) => r.concurrency],
  ["store", (r) => ADAPTER_LABELS[r.adapter]],
];
const STORE = {
  ops: ["ops/s", (r) => r.opsPerSecond],
  p50: ["p50 ms", (r) => r.p50],
  p99: ["p99 ms", (r) => r.p99],
  cpu: ["CPU µs/op", (r) => r.cpuPerOp],
  errors: ["errors", (r) => r.errors],
  wrong: ["wrong", (r) => r.wrong],
  oursOver: ["ours/x", (r) => r.adapter === "ours" ? "" : r.oursOver],
} satisfies Record<string, Column<StoreRow>>;

const HTTP_KEYS: Column<HttpRow>[] = [
  ["scenario", (r) => r.scenario],
  ["store", (r) => variantLabel(r.variant)],
];
const HTTP = {
  requests: ["req/s", (r) => r.requestsPerSecond],
  p50: ["p50 ms", (r) => r.p50],
  p99: ["p99 ms", (r) => r.p99],
  errors: ["errors", (r) => r.errors],
  wrong: ["non-200", (r) => r.wrong],
  oursOver: ["ours/x", (r) => r.variant === "ours" ? "" : r.oursOver],
} satisfies Record<string, Column<HttpRow>>;

const CALL_KEYS: Column<PairRow>[] = [["op", (r) => r.op], ["c", (r) => r.concurrency]];
const CALL_COLUMNS: Column<PairRow>[] = [
  // Paired figures share a column, so both servers' tables fit a page side by side.
  ["ops/s plain / CALL", (r) => `${r.baseOps} / ${r.otherOps}`],
  ["CALL/plain", (r) => r.ratio],
  ["p50 ms plain / CALL", (r) => `${r.baseP50} / ${r.otherP50}`],
];

const OWNER_KEYS: Column<PairRow>[] = [["compared", pairLabel], ...CALL_KEYS];
const OWNER = {
  ratio: ["with/without", (r) => r.ratio],
  ops: ["ops/s without / with", (r) => `${r.baseOps} / ${r.otherOps}`],
  p50: ["p50 ms without / with", (r) => `${r.baseP50} / ${r.otherP50}`],
} satisfies Record<string, Column<PairRow>>;

const SCALE_KEYS: Column<ScaleRow>[] = [["op", (r) => r.op], ["c", (r) => r.concurrency]];
/** A table's figures: ops/s (missing in results written before it was), p50 / p99 ms. */
const tableFigures = (rows: number, ops: number | undefined, p50: number, p99: number) =>
  `${rows} rows: ${ops ?? "–"} ops/s, ${p50} / ${p99} ms`;
const SCALE = {
  small: ["small table", (r) => tableFigures(r.smallRows, r.smallOps, r.smallP50, r.smallP99)],
  large: ["large table", (r) => tableFigures(r.largeRows, r.largeOps, r.largeP50, r.largeP99)],
  p50: ["p50 large/small", (r) => r.p50Ratio],
  ops: ["ops/s large/small", (r) => r.opsRatio ?? "–"],
} satisfies Record<string, Column<ScaleRow>>;

const storeIntro = (options: ShownOptions) =>
  `${options.rounds} rounds x ${options.ops} operations per store, operation and concurrency; ` +
  `${options.sessions} stored sessions of ~${options.payload} bytes. ops/s, p50 and p99 are ` +
  "medians over rounds; CPU is the Node process's time per operation; ours/x is the median of " +
  "the per-round ratios of this store's ops/s to that store's.";

const httpIntro = (options: ShownOptions) =>
  `Express 5 + express-session, autocannon with ${options.connections} connections, ` +
  `${options.rounds} rounds x ${options.duration} s per store and scenario; medians over rounds.`;

const OWNER_INTRO = "What the owner column costs on set, in two parts, each pair interleaved in " +
  "the same rounds: schema 2 / schema 1, the hand-written mysql2 store CALLing schema 2's set " +
  "procedure (the `user_id` column and its index; no owner given) against schema 1's on a " +
  "schema 1 table (tests/fixtures/schema_v1.sql: no owner column), both always the upsert " +
  "(on MySQL, schema 1's uses `VALUES()`, which raises warning 1287 on every CALL; schema 2's " +
  "the row alias); " +
  "userId set / unset, this store with the `userId` option (every session owned by a user of 4 " +
  "sessions) against without. with/without is the median of the per-round ratios of their " +
  "ops/s: below 1.00, what the column costs.";

const scaleIntro = (options: ShownOptions, rows: ScaleRow[]) =>
  `This store on a table of ${options.sessions} sessions (small) and one of ` +
  `${options.scaleSessions} (large), interleaved, ${options.rounds} rounds; medians ` +
  "over rounds, the ratios medians of per-round ratios." +
  (rows.some((r) => USER_OPS.includes(r.op))
    ? " The store has `userId` and each user owns 4 sessions: sessions-of and count-of ask for " +
      "a random user's, destroy-user logs out a distinct user each time (4 rows deleted, loaded " +
      "again after the batch; at most a quarter of the small table's users per batch)."
    : "");

const CALL_INTRO = "The hand-written mysql2 store sends each write as the very statement the " +
  "project's procedure runs on this server (plain), or CALLs the procedure (CALL), interleaved " +
  "in the same rounds. CALL/plain is the median of the per-round ratios of their ops/s: below " +
  "1.00, what writing through a procedure costs on this server.";

type ShownOptions = Omit<BenchOptions, "mysqlUrl">;

/** A run's summaries, as the results file keeps them. */
export interface ResultsSummary {
  store: StoreRow[];
  http: HttpRow[];
  scale: ScaleRow[];
  sweep?: SweepResult;
  bufferPool?: BufferPool;
  memory: Record<string, number>;
  /** Computed again from the rounds when a results file is drawn again (report.ts). */
  callCost: PairRow[];
  ownerCost: PairRow[];
}

/** One run's Markdown; `server` names its server, `machine` says where and when it ran. */
export function resultsMarkdown(
  options: ShownOptions,
  server: string,
  machine: string,
  results: ResultsSummary & { targets: Target[] },
): string {
  const one = <R>(rows: R[]): Labelled<R>[] => [{ label: "", rows }];
  const parts = [paragraph(`Machine: ${machine}.`)];
  if (results.targets.length > 0) {
    parts.push(section(
      "Targets",
      [],
      sideBySide(one(results.targets), TARGET_KEYS, [
        ["reached", (t) => t.reached],
        met,
      ]),
    ));
  }
  if (results.store.length > 0) {
    parts.push(
      section(
        "Store level",
        [storeIntro(options)],
        sideBySide(
          one(results.store),
          STORE_KEYS,
          Object.values(STORE),
        ),
      ),
    );
  }
  if (results.callCost.length > 0) {
    parts.push(
      section(
        `What a CALL costs on ${server}`,
        [CALL_INTRO],
        sideBySide(one(results.callCost), CALL_KEYS, CALL_COLUMNS),
      ),
    );
  }
  if (results.ownerCost.length > 0) {
    parts.push(
      section(
        `The owner column's cost on set on ${server}`,
        [OWNER_INTRO],
        sideBySide(one(results.ownerCost), OWNER_KEYS, Object.values(OWNER)),
      ),
    );
  }
  if (results.http.length > 0) {
    parts.push(
      section(
        "HTTP level",
        [httpIntro(options)],
        sideBySide(
          one(results.http),
          HTTP_KEYS,
          Object.values(HTTP),
        ),
      ),
    );
  }
  if (Object.keys(results.memory).length > 0) {
    parts.push(section(
      "Memory",
      ["Peak RSS of each HTTP server process over the whole HTTP run."],
      table(
        ["store", "peak RSS MB"],
        Object.entries(results.memory).map(([variant, mb]) => [variantLabel(variant), mb]),
      ),
    ));
  }
  if (results.scale.length > 0) {
    parts.push(section(
      "Scale",
      [`${scaleIntro(options, results.scale)} ${bufferPoolSentence(results.bufferPool)}`.trim()],
      sideBySide(one(results.scale), SCALE_KEYS, Object.values(SCALE)),
    ));
  }
  if (results.sweep) {
    const s = results.sweep;
    parts.push(section(
      "Sweep",
      [
        `${s.deleted} expired rows deleted by \`clearExpired()\` in ` +
        `${s.sweepSeconds.toFixed(1)} s while ${s.concurrency} concurrent gets ran on live ` +
        "sessions of the same table.",
      ],
      table(
        ["gets", "operations", "p50 ms", "p99 ms"],
        [
          ["idle", s.idle.operations, round3(s.idle.p50), round3(s.idle.p99)],
          [
            "during the sweep",
            s.duringSweep.operations,
            round3(s.duringSweep.p50),
            round3(s.duringSweep.p99),
          ],
        ],
      ),
    ));
  }
  return `${parts.join("\n\n")}\n`;
}

/** A run to show beside others: its label, and what says where and how it ran. */
export interface ComparedRun {
  label: string;
  server: string;
  version: string;
  machine: string;
  date: string;
  file: string;
  options: ShownOptions;
  summary: ResultsSummary & { targets: Target[] };
}

/**
 * Runs side by side, between the markers `replaceMarked` looks for: the runs, what a CALL costs
 * on each, the targets, and the store-level and HTTP tables.
 */
export function comparisonMarkdown(runs: ComparedRun[]): string {
  const of = <R>(rows: (run: ComparedRun) => R[]) =>
    runs.map((run) => ({ label: run.label, rows: rows(run) }));
  const first = (runs[0] as ComparedRun).options;
  const parts = [
    MARK_START,
    "Rendered from one run per server by:",
    ["```bash", `npm run bench -- ${runs.map((r) => `--render ${r.file}`).join(" ")}`, "```"]
      .join("\n"),
    paragraph(
      "Within a run every store is measured in the same interleaved rounds, so a run's ratios " +
        "(ours/x, CALL/plain) compare stores on one server; the runs' figures compare servers " +
        "only as far as runs made at different times can.",
    ),
    table(
      ["run", "server", "VERSION()", "machine", "rounds x ops", "date", "results"],
      runs.map((r) => [
        r.label,
        r.server,
        `\`${r.version}\``,
        r.machine,
        `${r.options.rounds} x ${r.options.ops}`,
        r.date.slice(0, 10),
        `\`${r.file}\``,
      ]),
    ),
    section(
      "What a CALL costs on each server",
      [CALL_INTRO.replaceAll("this server", "each server")],
      sideBySide(of((run) => run.summary.callCost), CALL_KEYS, CALL_COLUMNS),
    ),
    section(
      "Targets on each server",
      ["The lowest (or highest) ratio of each target; each run's Markdown has them all."],
      sideBySide(of((run) => run.summary.targets), TARGET_KEYS, [
        ["reached", (t) => t.reached.split(";")[0] as string],
        met,
      ]),
    ),
    section(
      "Store level on each server",
      [storeIntro(first), "Each run's own Markdown adds p50, CPU, errors and wrong results."],
      sideBySide(of((run) => run.summary.store), STORE_KEYS, [
        STORE.ops,
        STORE.p99,
        STORE.oursOver,
      ]),
    ),
    section(
      "HTTP level on each server",
      [httpIntro(first), "Each run's own Markdown adds p50, errors and non-200 responses."],
      sideBySide(of((run) => run.summary.http), HTTP_KEYS, [
        HTTP.requests,
        HTTP.p99,
        HTTP.oursOver,
      ]),
    ),
    ...optionalSection(
      "The owner column's cost on set on each server",
      [OWNER_INTRO, "Each run's own Markdown adds p50."],
      of((run) => run.summary.ownerCost),
      OWNER_KEYS,
      [OWNER.ratio, OWNER.ops],
    ),
    ...optionalSection(
      "Scale on each server",
      [
        scaleIntro(first, runs.flatMap((run) => run.summary.scale)),
        "Each run's own Markdown adds ops/s and says how its buffer pool was sized.",
      ],
      of((run) => run.summary.scale),
      SCALE_KEYS,
      [
        [
          "p50 / p99 ms small, large",
          (r) => `${r.smallP50} / ${r.smallP99}, ${r.largeP50} / ${r.largeP99}`,
        ],
        SCALE.p50,
        SCALE.ops,
      ],
    ),
    MARK_END,
  ];
  return `${parts.join("\n\n")}\n`;
}

/** A section of runs side by side, or none when no run has rows for it. */
function optionalSection<R>(
  heading: string,
  paragraphs: string[],
  runs: Labelled<R>[],
  keys: Column<R>[],
  columns: Column<R>[],
): string[] {
  if (runs.every((run) => run.rows.length === 0)) return [];
  return [section(heading, paragraphs, sideBySide(runs, keys, columns))];
}

/** The markers of a rendered comparison (MDX comments: the docs page is MDX). */
const MARK_START = "{/* bench-compare:start (written by npm run bench -- --render …) */}";
const MARK_END = "{/* bench-compare:end */}";

/**
 * `section` (from comparisonMarkdown) into `text`, in place of its marked section; the whole
 * text when `text` is undefined (a new file). Throws when `text` has no marked section.
 */
export function replaceMarked(text: string | undefined, section: string): string {
  if (text === undefined) return section;
  const start = text.indexOf(MARK_START.slice(0, MARK_START.indexOf(" ")));
  const end = text.indexOf(MARK_END);
  if (start < 0 || end < start) {
    throw new TypeError(`no section between ${MARK_START} and ${MARK_END} to replace`);
  }
  return text.slice(0, start) + section.trimEnd() + text.slice(end + MARK_END.length);
}

/** How the scale phase's server was set up, in a sentence. */
function bufferPoolSentence(pool: BufferPool | undefined): string {
  if (!pool) return "";
  const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
  return pool.during === pool.before
    ? `InnoDB's buffer pool: the server's own ${mb(pool.before)}.`
    : `InnoDB's buffer pool: ${mb(pool.during)} for this phase (the server's own ` +
      `${mb(pool.before)}, restored after), so that the tables fit in memory as on a server ` +
      "sized for its sessions.";
}
