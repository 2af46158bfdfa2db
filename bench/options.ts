// Command-line options of `npm run bench`.
import process from "node:process";

export const ADAPTERS = [
  "ours",
  "ours-user",
  "csk",
  "ems",
  "bound",
  "bound-call",
  "bound-v1",
  "memory",
] as const;
export type AdapterName = (typeof ADAPTERS)[number];

/** Measured at the store level only: what the owner column costs on set (not over HTTP). */
export const STORE_ONLY: readonly AdapterName[] = ["ours-user", "bound-v1"];

export const PHASES = ["store", "http", "scale"] as const;
export type PhaseName = (typeof PHASES)[number];

export interface BenchOptions {
  /** Operations per (adapter, operation, concurrency) in each round. */
  ops: number;
  concurrency: number[];
  /** Sessions stored before the store-level operations run. */
  sessions: number;
  /** Approximate JSON size of one session, bytes. */
  payload: number;
  adapters: AdapterName[];
  phases: PhaseName[];
  rounds: number;
  /** HTTP: seconds of load per (adapter, scenario) in each round. */
  duration: number;
  connections: number;
  /** Scale phase: stored sessions of the large table (and expired rows swept). */
  scaleSessions: number;
  /** Scale phase: size InnoDB's buffer pool for its tables ("auto") or leave it ("keep"). */
  bufferPool: "auto" | "keep";
  quick: boolean;
  mysqlUrl: string;
  /**
   * A run's JSON results file; default bench/results/<full|quick>-<mariadb|mysql>-<time>.json.
   * With several --render: the Markdown file of the comparison (see HELP).
   */
  out: string | undefined;
  /** SVG chart; default next to the results file, or (comparisons) see HELP. */
  chart: string | undefined;
  /** Results JSON files to draw the chart and tables of again, instead of running. */
  render: string[];
}

const HELP = `npm run bench -- [options]

  --quick               seconds, not minutes (CI): few ops, one round, small tables
  --ops N               operations per adapter, operation and concurrency per round (3000)
  --concurrency A,B     store-level concurrency levels (1,32)
  --sessions N          sessions stored before the store-level run (10000)
  --payload BYTES       JSON size of one session (1024)
  --adapters LIST       among ${ADAPTERS.join(",")} (all);
                        ours-user (this store with userId) and bound-v1 (the hand-written store
                        calling schema 1's procedures) run at the store level only
  --phases LIST         among ${PHASES.join(",")} (all)
  --rounds N            interleaved rounds, order rotated each round (7)
  --duration S          HTTP seconds per adapter and scenario per round (5)
  --connections N       HTTP connections (32)
  --scale-sessions N    stored sessions of the large scale table, up to 1000000 (1000000)
  --buffer-pool MODE    auto: raise innodb_buffer_pool_size for the scale phase until its
                        tables fit, as in production, and restore it after; keep: leave the
                        server's setting (auto)
  --url URL             server root URL (MYSQL_URL, else mysql://root@127.0.0.1:3306/test),
                        MariaDB or MySQL; the bench creates and drops its own database
                        kms_bench_<random>
  --out FILE            JSON results file (bench/results/<full|quick>-<server>-<time>.json;
                        the Markdown tables and the chart go next to it)
  --chart FILE          SVG chart file
  --render FILE         draw the chart and Markdown tables of a results JSON again; runs
                        nothing. Given several times (one run per server), shows the runs side
                        by side: the Markdown goes into the section between the bench-compare
                        markers of --out (full runs: docs/docs/benchmarks.md; quick runs:
                        bench/results/quick-compare.md), the chart to --chart (full runs:
                        docs/static/img/benchmark.svg; quick: bench/results/quick-compare.svg)
`;

function positiveInteger(name: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(`--${name}: expected an integer from 1 to ${max}, got ${text}`);
  }
  return value;
}

function listOf<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(",").map((item) => item.trim()).filter(Boolean);
  const unknown = items.filter((item) => !allowed.includes(item as T));
  if (items.length === 0 || unknown.length > 0) {
    throw new TypeError(`--${name}: expected a list among ${allowed.join(",")}, got ${text}`);
  }
  return items as T[];
}

/** Parses argv (without node and the script); throws a TypeError naming a bad option. */
export function parseOptions(argv: string[], env = process.env): BenchOptions | "help" {
  const quick = argv.includes("--quick");
  const options: BenchOptions = {
    ops: quick ? 200 : 3000,
    concurrency: [1, 32],
    sessions: quick ? 1000 : 10_000,
    payload: 1024,
    adapters: [...ADAPTERS],
    phases: [...PHASES],
    rounds: quick ? 1 : 7,
    duration: quick ? 1 : 5,
    connections: 32,
    scaleSessions: quick ? 20_000 : 1_000_000,
    bufferPool: "auto",
    quick,
    mysqlUrl: env.MYSQL_URL || "mysql://root@127.0.0.1:3306/test",
    out: undefined,
    chart: undefined,
    render: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--quick") continue;
    if (flag === "--help" || flag === "-h") return "help";
    const value = argv[i + 1];
    if (!flag.startsWith("--") || value === undefined) {
      throw new TypeError(`unknown or incomplete option ${flag}\n\n${HELP}`);
    }
    i++;
    const name = flag.slice(2);
    switch (name) {
      case "ops":
        options.ops = positiveInteger(name, value);
        break;
      case "concurrency":
        options.concurrency = value.split(",").map((item) => positiveInteger(name, item, 1024));
        break;
      case "sessions":
        options.sessions = positiveInteger(name, value, 1_000_000);
        break;
      case "payload":
        options.payload = positiveInteger(name, value, 1_000_000);
        break;
      case "adapters":
        options.adapters = listOf(name, value, ADAPTERS);
        break;
      case "phases":
        options.phases = listOf(name, value, PHASES);
        break;
      case "rounds":
        options.rounds = positiveInteger(name, value, 100);
        break;
      case "duration":
        options.duration = positiveInteger(name, value, 600);
        break;
      case "connections":
        options.connections = positiveInteger(name, value, 1024);
        break;
      case "scale-sessions":
        options.scaleSessions = positiveInteger(name, value, 1_000_000);
        break;
      case "buffer-pool":
        if (value !== "auto" && value !== "keep") {
          throw new TypeError(`--buffer-pool: expected auto or keep, got ${value}`);
        }
        options.bufferPool = value;
        break;
      case "url":
        options.mysqlUrl = value;
        break;
      case "out":
        options.out = value;
        break;
      case "chart":
        options.chart = value;
        break;
      case "render":
        options.render.push(value);
        break;
      default:
        throw new TypeError(`unknown option ${flag}\n\n${HELP}`);
    }
  }
  return options;
}

export { HELP };
