// Command-line options of `npm run bench`.
import process from "node:process";
import { ADAPTERS } from "./adapters.ts";

const PHASES = ["store", "http", "scale"] as const;

export const HELP = `npm run bench -- [options]

  --quick               seconds, not minutes (CI): few ops, one round, small tables
  --ops N               operations per adapter, operation and concurrency a round (3000; 100+ each)
  --concurrency A,B     store-level concurrency levels (1,32)
  --sessions N          sessions stored before the store-level run (10000)
  --payload BYTES       JSON size of one session (1024)
  --adapters LIST       among ${ADAPTERS.join(",")} (all);
                        ours-user and bound-v1 run at the store level only
  --phases LIST         among ${PHASES.join(",")} (all)
  --rounds N            interleaved rounds, order rotated each round (7)
  --duration S          HTTP seconds per adapter and scenario per round (5)
  --connections N       HTTP connections (32)
  --scale-sessions N    sessions of the large scale table, up to 1000000 (1000000)
  --buffer-pool MODE    auto: fit InnoDB's buffer pool to the scale phase, then restore it; keep
  --url URL             MariaDB or MySQL server (MYSQL_URL, else mysql://root@127.0.0.1:3306/test)
  --out FILE            JSON results (bench/results/<full|quick>-<server>-<time>.json); the
                        Markdown tables go next to it
`;

function defaults(quick: boolean, env: typeof process.env) {
  return {
    ops: quick ? 200 : 3000,
    concurrency: [1, 32],
    sessions: quick ? 1000 : 10_000,
    payload: 1024,
    adapters: ADAPTERS,
    phases: [...PHASES],
    rounds: quick ? 1 : 7,
    duration: quick ? 1 : 5,
    connections: 32,
    scaleSessions: quick ? 20_000 : 1_000_000,
    bufferPool: "auto" as "auto" | "keep",
    quick,
    mysqlUrl: env.MYSQL_URL || "mysql://root@127.0.0.1:3306/test",
    out: undefined as string | undefined,
  };
}
export type BenchOptions = ReturnType<typeof defaults>;

/**
 * Operations a store-level measurement at `concurrency` runs: at least 100 per concurrent one, or
 * at 256 it is mostly ramp-up and drain (3,000 are 12 each, 70 ms) and one GC decides the figure.
 */
export const opsAt = (options: Pick<BenchOptions, "ops" | "quick">, concurrency: number) =>
  options.quick ? options.ops : Math.max(options.ops, 100 * concurrency);

/** The options that take a whole number: their field, and their largest value. */
const INTEGERS: Record<string, [keyof BenchOptions, number]> = {
  ops: ["ops", Number.MAX_SAFE_INTEGER],
  sessions: ["sessions", 1_000_000],
  payload: ["payload", 1_000_000],
  rounds: ["rounds", 100],
  duration: ["duration", 600],
  connections: ["connections", 1024],
  "scale-sessions": ["scaleSessions", 1_000_000],
};

function positiveInteger(name: string, text: string, max: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new TypeError(`--${name}: expected an integer from 1 to ${max}, got ${text}`);
  }
  return value;
}

function listOf<T extends string>(name: string, text: string, allowed: readonly T[]): T[] {
  const items = text.split(",").map((item) => item.trim()).filter(Boolean);
  if (items.length === 0 || items.some((item) => !allowed.includes(item as T))) {
    throw new TypeError(`--${name}: expected a list among ${allowed.join(",")}, got ${text}`);
  }
  return items as T[];
}

/** Parses argv (without node and the script); throws a TypeError naming a bad option. */
export function parseOptions(argv: string[], env = process.env): BenchOptions | "help" {
  const options = defaults(argv.includes("--quick"), env);
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    if (flag === "--quick") continue;
    if (flag === "--help" || flag === "-h") return "help";
    const [name, value] = [flag.slice(2), argv[++i]];
    const integer = INTEGERS[name];
    if (!flag.startsWith("--") || value === undefined) {
      throw new TypeError(`unknown or incomplete option ${flag}\n\n${HELP}`);
    } else if (integer) {
      Object.assign(options, { [integer[0]]: positiveInteger(name, value, integer[1]) });
    } else if (name === "concurrency") {
      options.concurrency = value.split(",").map((item) => positiveInteger(name, item, 1024));
    } else if (name === "adapters") options.adapters = listOf(name, value, ADAPTERS);
    else if (name === "phases") options.phases = listOf(name, value, PHASES);
    else if (name === "buffer-pool" && (value === "auto" || value === "keep")) {
      options.bufferPool = value;
    } else if (name === "buffer-pool") {
      throw new TypeError(`--buffer-pool: expected auto or keep, got ${value}`);
    } else if (name === "url") options.mysqlUrl = value;
    else if (name === "out") options.out = value;
    else throw new TypeError(`unknown option ${flag}\n\n${HELP}`);
  }
  return options;
}
