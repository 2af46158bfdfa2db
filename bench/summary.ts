// Turns per-round results into medians, per-round ratios and the targets.
import { type HttpResult, type MemoryResult, SCENARIOS } from "./http-level.ts";
import { type AdapterName, ADAPTERS } from "./options.ts";
import { type ScaleOp, type ScaleResult, type SweepResult, USER_OPS } from "./scale.ts";
import { median, round3 } from "./stats.ts";
import { type BatchResult, STORE_OPS, type StoreOp } from "./store-level.ts";

export interface StoreRow {
  op: StoreOp;
  concurrency: number;
  adapter: AdapterName;
  opsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  wrong: number;
  /** Node CPU per operation, µs (median of rounds). */
  cpuPerOp: number;
  /** Median over rounds of this project's ops/s divided by this adapter's, same round. */
  oursOver: number;
}

export interface HttpRow {
  scenario: string;
  variant: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  wrong: number;
  oursOver: number;
}

export interface Target {
  target: string;
  reached: string;
  met: boolean;
}

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
}

/** Median over rounds of a(round) / b(round), for rounds where both ran. */
function ratioOfRounds<T extends { round: number }>(
  a: T[],
  b: T[],
  value: (item: T) => number,
): number {
  const ratios = a.flatMap((x) => {
    const y = b.find((item) => item.round === x.round);
    return y ? [value(x) / value(y)] : [];
  });
  return median(ratios);
}

/** The HTTP variants in table order: this store, with touchAfter, then the others. */
export const VARIANT_ORDER = ["ours", "ours-touchAfter", ...ADAPTERS.slice(1)];

export function summarizeStore(results: BatchResult[]): StoreRow[] {
  const sorted = [...results].sort((a, b) =>
    a.concurrency - b.concurrency || STORE_OPS.indexOf(a.op) - STORE_OPS.indexOf(b.op) ||
    ADAPTERS.indexOf(a.adapter) - ADAPTERS.indexOf(b.adapter)
  );
  const groups = groupBy(sorted, (r) => `${r.op}|${r.concurrency}|${r.adapter}`);
  return [...groups.values()].map((rounds) => {
    const { op, concurrency, adapter } = rounds[0] as BatchResult;
    const ours = groups.get(`${op}|${concurrency}|ours`) ?? [];
    return {
      op,
      concurrency,
      adapter,
      opsPerSecond: round3(median(rounds.map((r) => r.opsPerSecond))),
      p50: round3(median(rounds.map((r) => r.p50))),
      p99: round3(median(rounds.map((r) => r.p99))),
      errors: rounds.reduce((sum, r) => sum + r.errors, 0),
      wrong: rounds.reduce((sum, r) => sum + r.wrong, 0),
      cpuPerOp: round3(median(rounds.map((r) => r.cpuPerOp))),
      oursOver: round3(ratioOfRounds(ours, rounds, (r) => r.opsPerSecond)),
    };
  });
}

export function summarizeHttp(results: HttpResult[]): HttpRow[] {
  const sorted = [...results].sort((a, b) =>
    SCENARIOS.indexOf(a.scenario) - SCENARIOS.indexOf(b.scenario) ||
    VARIANT_ORDER.indexOf(a.variant) - VARIANT_ORDER.indexOf(b.variant)
  );
  const groups = groupBy(sorted, (r) => `${r.scenario}|${r.variant}`);
  return [...groups.values()].map((rounds) => {
    const { scenario, variant } = rounds[0] as HttpResult;
    const ours = groups.get(`${scenario}|ours`) ?? [];
    return {
      scenario,
      variant,
      requestsPerSecond: round3(median(rounds.map((r) => r.requestsPerSecond))),
      p50: round3(median(rounds.map((r) => r.p50))),
      p99: round3(median(rounds.map((r) => r.p99))),
      errors: rounds.reduce((sum, r) => sum + r.errors, 0),
      wrong: rounds.reduce((sum, r) => sum + r.wrong, 0),
      oursOver: round3(ratioOfRounds(ours, rounds, (r) => r.requestsPerSecond)),
    };
  });
}

export interface ScaleRow {
  op: ScaleOp;
  concurrency: number;
  smallRows: number;
  largeRows: number;
  /** ops/s, medians over rounds (missing in results files written before they were added). */
  smallOps?: number;
  largeOps?: number;
  smallP50: number;
  largeP50: number;
  smallP99: number;
  largeP99: number;
  /** Median over rounds of the large table's p50 divided by the small one's. */
  p50Ratio: number;
  /** Median over rounds of the large table's ops/s divided by the small one's. */
  opsRatio?: number;
}

export function summarizeScale(results: ScaleResult[]): ScaleRow[] {
  const groups = groupBy(results, (r) => `${r.op}|${r.concurrency}`);
  return [...groups.values()].map((rows) => {
    const sizes = [...new Set(rows.map((r) => r.rows))].sort((a, b) => a - b);
    const small = rows.filter((r) => r.rows === sizes[0]);
    const large = rows.filter((r) => r.rows === sizes[sizes.length - 1]);
    const first = rows[0] as ScaleResult;
    const middle = (of: ScaleResult[], value: (r: ScaleResult) => number) =>
      round3(median(of.map(value)));
    return {
      op: first.op,
      concurrency: first.concurrency,
      smallRows: sizes[0] as number,
      largeRows: sizes[sizes.length - 1] as number,
      smallOps: middle(small, (r) => r.opsPerSecond),
      largeOps: middle(large, (r) => r.opsPerSecond),
      smallP50: middle(small, (r) => r.p50),
      largeP50: middle(large, (r) => r.p50),
      smallP99: middle(small, (r) => r.p99),
      largeP99: middle(large, (r) => r.p99),
      p50Ratio: round3(ratioOfRounds(large, small, (r) => r.p50)),
      opsRatio: round3(ratioOfRounds(large, small, (r) => r.opsPerSecond)),
    };
  });
}

/** Peak RSS per variant, MB: the median over rounds of each server process's peak. */
export function summarizeMemory(results: MemoryResult[]): Record<string, number> {
  const peaks: Record<string, number> = {};
  for (const [variant, rounds] of groupBy(results, (r) => r.variant)) {
    peaks[variant] = round3(median(rounds.map((r) => r.peakRss / 2 ** 20)));
  }
  return peaks;
}

const READS: StoreOp[] = ["get-hit", "get-miss"];
const WRITES: StoreOp[] = ["set-new", "set-existing", "touch", "destroy"];
const SETS: StoreOp[] = ["set-new", "set-existing"];

/** Two stores measured in the same rounds, op by op: `other`'s ops/s against `base`'s. */
export interface PairRow {
  base: AdapterName;
  other: AdapterName;
  op: StoreOp;
  concurrency: number;
  /** ops/s of each, medians over rounds. */
  baseOps: number;
  otherOps: number;
  /** Median over rounds of other's ops/s divided by base's, same round. */
  ratio: number;
  /** p50 latency, ms, medians over rounds. */
  baseP50: number;
  otherP50: number;
}

/** `other` against `base` on `ops` at every concurrency where both ran. */
function summarizePair(
  results: BatchResult[],
  base: AdapterName,
  other: AdapterName,
  ops: StoreOp[],
): PairRow[] {
  const groups = groupBy(results, (r) => `${r.op}|${r.concurrency}|${r.adapter}`);
  const concurrencies = [...new Set(results.map((r) => r.concurrency))].sort((a, b) => a - b);
  const middle = (rounds: BatchResult[], value: (r: BatchResult) => number) =>
    round3(median(rounds.map(value)));
  return concurrencies.flatMap((concurrency) =>
    ops.flatMap((op) => {
      const baseRounds = groups.get(`${op}|${concurrency}|${base}`);
      const otherRounds = groups.get(`${op}|${concurrency}|${other}`);
      if (!baseRounds || !otherRounds) return [];
      return [{
        base,
        other,
        op,
        concurrency,
        baseOps: middle(baseRounds, (r) => r.opsPerSecond),
        otherOps: middle(otherRounds, (r) => r.opsPerSecond),
        ratio: round3(ratioOfRounds(otherRounds, baseRounds, (r) => r.opsPerSecond)),
        baseP50: middle(baseRounds, (r) => r.p50),
        otherP50: middle(otherRounds, (r) => r.p50),
      }];
    })
  );
}

/**
 * What a CALL costs on the run's server: the hand-written store writing through this project's
 * procedures (bound-call) against the same statements sent as plain prepared statements (bound).
 */
export function summarizeCallCost(results: BatchResult[]): PairRow[] {
  return summarizePair(results, "bound", "bound-call", WRITES);
}

/**
 * What the owner column costs on set, in two parts: schema 2's set procedure (the column and its
 * index, no owner given) against schema 1's, both CALLed by the hand-written store; and this
 * store with `userId` (every session owned) against without.
 */
export const OWNER_PAIRS = [
  { base: "bound-v1", other: "bound-call", label: "schema 2 / schema 1" },
  { base: "ours", other: "ours-user", label: "userId set / unset" },
] as const satisfies readonly { base: AdapterName; other: AdapterName; label: string }[];

export function summarizeOwnerCost(results: BatchResult[]): PairRow[] {
  return OWNER_PAIRS.flatMap((pair) => summarizePair(results, pair.base, pair.other, SETS));
}

/** The label of an owner-cost row's pair. */
export function pairLabel(row: PairRow): string {
  return OWNER_PAIRS.find((p) => p.base === row.base && p.other === row.other)?.label ??
    `${row.other} / ${row.base}`;
}

const fmt = (value: number) => `${value.toFixed(2)}x`;

function worst(rows: { oursOver: number; label: string }[]): { value: number; text: string } {
  if (rows.length === 0) return { value: NaN, text: "not measured" };
  const sorted = [...rows].sort((a, b) => a.oursOver - b.oursOver);
  const low = sorted[0] as { oursOver: number; label: string };
  return {
    value: low.oursOver,
    text: `lowest ${fmt(low.oursOver)} (${low.label}); ` +
      rows.map((r) => `${r.label} ${fmt(r.oursOver)}`).join(", "),
  };
}

/** The targets against what this run reached. */
export function evaluateTargets(
  store: StoreRow[],
  http: HttpRow[],
  scale: ScaleRow[],
  sweep: SweepResult | undefined,
  memory: Record<string, number>,
  ownerCost: PairRow[],
): Target[] {
  const targets: Target[] = [];
  const storeVs = (adapter: AdapterName, ops: StoreOp[], concurrency?: number) =>
    store.filter((r) =>
      r.adapter === adapter && ops.includes(r.op) &&
      (concurrency === undefined || r.concurrency === concurrency)
    ).map((r) => ({ oursOver: r.oursOver, label: `${r.op} c=${r.concurrency}` }));
  const add = (target: string, rows: { oursOver: number; label: string }[], min: number) => {
    const { value, text } = worst(rows);
    targets.push({ target, reached: text, met: value >= min });
  };
  if (store.length > 0) {
    add(
      "store: every op ≥ 0.95x the hand-written bound (c=1, c=32)",
      storeVs("bound", [...READS, ...WRITES]),
      0.95,
    );
    if (store.some((r) => r.adapter === "bound-call")) {
      // Not one of the targets: it separates this store's own cost from the cost of
      // writing through stored procedures, which the plain bound does not pay.
      add(
        "store: every op ≥ 0.95x a hand-written mysql2 store calling the same procedures",
        storeVs("bound-call", [...READS, ...WRITES]),
        0.95,
      );
    }
    add("≥ 1.8x connect-session-knex on reads at c=32", storeVs("csk", READS, 32), 1.8);
    add("≥ 1.2x connect-session-knex on writes at c=32", storeVs("csk", WRITES, 32), 1.2);
    // Schema 3's bounds: the hand-written store CALLing the seed's schema's procedures (schema
    // 1: no owner column, no markers), one round trip per operation; the owner's cost; destroy.
    if (store.some((r) => r.adapter === "bound-v1")) {
      add(
        "store: every op ≥ 0.95x the hand-written store CALLing the seed schema's procedures",
        storeVs("bound-v1", [...READS, ...WRITES]),
        0.95,
      );
    }
    if (store.some((r) => r.adapter === "ours-user")) {
      // oursOver is this store without userId over with it: userId's cost is its inverse.
      add(
        "store: userId set costs ≤ 3% on set and touch (with / without)",
        storeVs("ours-user", ["set-new", "set-existing", "touch"]).map((row) => ({
          ...row,
          oursOver: 1 / row.oursOver,
        })),
        0.97,
      );
    }
    add("store: destroy ≥ 1.0x connect-session-knex at c=32", storeVs("csk", ["destroy"], 32), 1);
  }
  if (http.length > 0) {
    for (const other of ["csk", "ems"]) {
      const rows = http.filter((r) => r.variant === other);
      add(
        `HTTP: ≥ 1.1x ${other === "csk" ? "connect-session-knex" : "express-mysql-session"} req/s`,
        rows.map((r) => ({ oursOver: r.oursOver, label: r.scenario })),
        1.1,
      );
      const worse = rows.flatMap((r) => {
        const ours = http.find((o) => o.variant === "ours" && o.scenario === r.scenario);
        return ours ? [{ scenario: r.scenario, ours: ours.p99, other: r.p99 }] : [];
      });
      targets.push({
        target: `HTTP: p99 no worse than ${other}`,
        reached: worse.map((w) => `${w.scenario} ${w.ours} vs ${w.other} ms`).join(", "),
        met: worse.every((w) => w.ours <= w.other),
      });
    }
    const touchAfter = http.find((r) => r.variant === "ours-touchAfter");
    const cskRolling = http.find((r) => r.variant === "csk" && r.scenario === "rolling");
    if (touchAfter && cskRolling) {
      // ours-touchAfter's oursOver is ours/ours-touchAfter: use req/s medians instead.
      const ratio = touchAfter.requestsPerSecond / cskRolling.requestsPerSecond;
      targets.push({
        target: "HTTP rolling with touchAfter: ≥ 1.5x connect-session-knex",
        reached: `${
          fmt(ratio)
        } (${touchAfter.requestsPerSecond} vs ${cskRolling.requestsPerSecond} req/s)`,
        met: ratio >= 1.5,
      });
    }
  }
  const ownerVs = (label: string) =>
    ownerCost.filter((r) => pairLabel(r) === label)
      .map((r) => ({ oursOver: r.ratio, label: `${r.op} c=${r.concurrency}` }));
  if (ownerCost.length > 0) {
    add(
      "set with the owner column ≥ 0.97x v1's (hand-written CALLs, schema 2 / schema 1)",
      ownerVs(OWNER_PAIRS[0].label),
      0.97,
    );
    add("set with userId ≥ 0.97x without (this store)", ownerVs(OWNER_PAIRS[1].label), 0.97);
  }
  for (const [what, rows] of groupBy(scale, (r) => USER_OPS.includes(r.op) ? "user" : "")) {
    const ratios = rows.map((r) => ({
      oursOver: r.p50Ratio,
      label: `${r.op} c=${r.concurrency}`,
    }));
    const high = Math.max(...ratios.map((r) => r.oursOver));
    targets.push({
      target: `scale${what ? ", lookups by user" : ""}: p50 at ${rows[0]?.largeRows} rows ` +
        `within 1.3x of ${rows[0]?.smallRows}`,
      reached: `highest ${fmt(high)}; ` +
        ratios.map((r) => `${r.label} ${fmt(r.oursOver)}`).join(", "),
      met: high <= 1.3,
    });
  }
  if (sweep) {
    const ratio = sweep.duringSweep.p99 / sweep.idle.p99;
    targets.push({
      target: `sweep of ${sweep.expiredRows} expired rows: get p99 ≤ 2x idle`,
      reached: `${fmt(ratio)} (${round3(sweep.duringSweep.p99)} vs ${round3(sweep.idle.p99)} ms, ` +
        `c=${sweep.concurrency}, sweep ${sweep.sweepSeconds.toFixed(1)} s)`,
      met: ratio <= 2,
    });
  }
  if (memory.ours !== undefined && memory.csk !== undefined) {
    targets.push({
      target: "memory: peak RSS ≤ connect-session-knex's",
      reached: `${memory.ours} MB vs ${memory.csk} MB`,
      met: memory.ours <= memory.csk,
    });
  }
  return targets;
}
