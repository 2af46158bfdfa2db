// Turns per-round measurements into medians, per-round ratios and the targets.
import { ADAPTERS } from "./adapters.ts";
import { SCENARIOS, VARIANTS } from "./http-level.ts";
import { SCALE_OPS, type Sweep } from "./scale.ts";
import { STORE_OPS } from "./store-level.ts";

/**
 * One batch of one op (or HTTP scenario) on one subject (a store, an HTTP variant, or a table of
 * the scale phase: small or large) at one concurrency, in one round. Latencies are in ms; wrong
 * counts results other than what was stored (HTTP: responses other than 200); cpuPerOp is the
 * whole bench process's CPU time per operation, µs (store level).
 */
export interface Measurement {
  subject: string;
  op: string;
  concurrency: number;
  round: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  wrong: number;
  cpuPerOp?: number;
}

/** Medians over rounds; oursOver: the median of the per-round ratios of ours' ops/s to this. */
export type Row = Omit<Measurement, "round"> & { oursOver?: number };

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = (sorted.length - 1) / 2; // the two middle values are one when the count is odd
  return ((sorted[Math.floor(middle)] as number) + (sorted[Math.ceil(middle)] as number)) / 2;
}

/** Rounds to 3 significant digits, for tables and JSON. */
export const round3 = (value: number) =>
  !Number.isFinite(value) || value === 0 ? value : Number(value.toPrecision(3));

const key = (m: { op: string; concurrency: number; subject?: string }) =>
  `${m.op}|${m.concurrency}|${m.subject}`;

function groupBy<T>(items: T[], keyOf: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(keyOf(item), [...(groups.get(keyOf(item)) ?? []), item]);
  return groups;
}

type Where = { op: string; concurrency: number };
const opsOf = (m: Measurement) => m.opsPerSecond;

/** Median over the rounds where both ran of a's `value` divided by b's, at op and concurrency. */
function ratio(results: Measurement[], where: Where, [a, b]: string[], value = opsOf): number {
  const of = (subject?: string) => results.filter((m) => key(m) === key({ ...where, subject }));
  const [as, bs] = [of(a), of(b)];
  const ratios = as.flatMap((x) =>
    bs.filter((y) => y.round === x.round).map((y) => value(x) / value(y))
  );
  return round3(median(ratios));
}

/**
 * A row per op, concurrency and subject (concurrency first, then in the order of `ops` and of
 * `subjects`), with its ratio to `ours` where given.
 */
function summarize(results: Measurement[], ops: string[], subjects: string[], ours?: string) {
  const sorted = [...results].sort((a, b) =>
    a.concurrency - b.concurrency || ops.indexOf(a.op) - ops.indexOf(b.op) ||
    subjects.indexOf(a.subject) - subjects.indexOf(b.subject)
  );
  return [...groupBy(sorted, key).values()].map((rounds): Row => {
    const { subject, op, concurrency, cpuPerOp } = rounds[0] as Measurement;
    const middle = (value: (m: Measurement) => number) => round3(median(rounds.map(value)));
    const sum = (value: (m: Measurement) => number) => rounds.reduce((s, m) => s + value(m), 0);
    return {
      ...{ subject, op, concurrency, opsPerSecond: middle((m) => m.opsPerSecond) },
      ...{ p50: middle((m) => m.p50), p99: middle((m) => m.p99) },
      ...{ errors: sum((m) => m.errors), wrong: sum((m) => m.wrong) },
      ...(cpuPerOp === undefined ? {} : { cpuPerOp: middle((m) => m.cpuPerOp as number) }),
      ...(ours ? { oursOver: ratio(results, { op, concurrency }, [ours, subject]) } : {}),
    };
  });
}

/** Two stores (or tables) measured in the same rounds, op by op: `other` over `base`. */
type Pair = { base: string; other: string; label: string; ops: string[] };

const READS = ["get-hit", "get-miss"];
const WRITES = ["set-new", "set-existing", "touch", "destroy"];
const SETS = ["set-new", "set-existing"];

/**
 * What a CALL costs on the run's server: the hand-written store writing through this project's
 * procedures (bound-call) against the same statements sent as plain prepared statements (bound).
 */
const CALL_COST = { base: "bound", other: "bound-call", label: "CALL/plain", ops: WRITES };

/**
 * What the owner column costs on set, in two parts: schema 2's set procedure (the column and its
 * index, no owner given) against schema 1's, both CALLed by the hand-written store; and this
 * store with `userId` (every session owned) against without.
 */
const OWNER_COST: [Pair, Pair] = [
  { base: "bound-v1", other: "bound-call", label: "schema 2 / schema 1", ops: SETS },
  { base: "ours", other: "ours-user", label: "userId set / unset", ops: SETS },
];

/** `pair` where both ran: the median of the per-round ratios of other's ops/s to base's. */
function compare(results: Measurement[], rows: Row[], pair: Pair) {
  return rows.flatMap((base) => {
    const other = rows.find((r) => key(r) === key({ ...base, subject: pair.other }));
    if (base.subject !== pair.base || !pair.ops.includes(base.op) || !other) return [];
    const over = ratio(results, base, [pair.other, pair.base]);
    return [{ label: pair.label, ratio: over, base, other }];
  });
}
export type PairRow = ReturnType<typeof compare>[number];

/** A run's summaries, from every round of its measurements and the other phases' figures. */
export function summarizeRun(
  raw: { store: Measurement[]; http: Measurement[]; scale: Measurement[] },
  memory: Record<string, number>,
  sweep: Sweep | undefined,
) {
  const store = summarize(raw.store, STORE_OPS, ADAPTERS, "ours");
  const tables = summarize(raw.scale, SCALE_OPS, ["small", "large"]);
  const largeOverSmall = { base: "small", other: "large", label: "large/small", ops: SCALE_OPS };
  return {
    store,
    callCost: compare(raw.store, store, CALL_COST),
    ownerCost: OWNER_COST.flatMap((pair) => compare(raw.store, store, pair)),
    http: summarize(raw.http, SCENARIOS, VARIANTS, "ours"),
    /** Peak RSS of each HTTP server, MB. */
    memory: Object.fromEntries(
      Object.entries(memory).map(([k, rss]) => [k, round3(rss / 2 ** 20)]),
    ),
    scale: compare(raw.scale, tables, largeOverSmall).map((r) => ({
      ...r,
      p50Ratio: ratio(raw.scale, r.base, ["large", "small"], (m) => m.p50),
    })),
    sweep,
  };
}
export type Summary = ReturnType<typeof summarizeRun>;

export type Target = { target: string; reached: string; met: boolean };

const fmt = (value: number) => `${value.toFixed(2)}x`;
const label = (r: Row) => `${r.op} c=${r.concurrency}`;

/** The targets against what this run reached; `rows`: the scale phase's table sizes. */
export function evaluateTargets(s: Summary, rows: { sessions: number; scaleSessions: number }) {
  const targets: Target[] = [];
  const push = (target: string, reached: string, met: boolean) =>
    targets.push({ target, reached, met });
  /** A target on the lowest of `ratios` (at least `limit`), or on the highest (at most). */
  const add = (target: string, ratios: [string, number][], limit: number, highest = false) => {
    const [at, top] = [...ratios].sort((a, b) => highest ? b[1] - a[1] : a[1] - b[1])[0] ?? [];
    const all = ratios.map(([name, value]) => `${name} ${fmt(value)}`).join(", ");
    if (top === undefined) return push(target, "not measured", false);
    const extreme = highest ? `highest ${fmt(top)}` : `lowest ${fmt(top)} (${at})`;
    push(target, `${extreme}; ${all}`, highest ? top <= limit : top >= limit);
  };
  /** This store over `subject` on `ops` (at `concurrency`, where given). */
  const over = (subject: string, ops: string[], concurrency?: number) =>
    s.store.filter((r) => r.subject === subject && ops.includes(r.op))
      .filter((r) => !concurrency || r.concurrency === concurrency)
      .map((r): [string, number] => [label(r), r.oursOver as number]);
  const ran = (subject: string) => s.store.some((r) => r.subject === subject);
  const every = [...READS, ...WRITES];
  if (s.store.length > 0) {
    add("store: every op ≥ 0.95x the hand-written bound (c=1, c=32)", over("bound", every), 0.95);
    // Not one of the targets: it separates this store's own cost from the cost of
    // writing through stored procedures, which the plain bound does not pay.
    const sameProcedures = "a hand-written mysql2 store calling the same procedures";
    if (ran("bound-call")) {
      add(`store: every op ≥ 0.95x ${sameProcedures}`, over("bound-call", every), 0.95);
    }
    add("≥ 1.8x connect-session-knex on reads at c=32", over("csk", READS, 32), 1.8);
    add("≥ 1.2x connect-session-knex on writes at c=32", over("csk", WRITES, 32), 1.2);
    // Schema 3's bounds: the hand-written store CALLing the seed's schema's procedures (schema
    // 1: no owner column, no markers), one round trip per operation; the owner's cost; destroy.
    const seed = "the hand-written store CALLing the seed schema's procedures";
    if (ran("bound-v1")) add(`store: every op ≥ 0.95x ${seed}`, over("bound-v1", every), 0.95);
    // oursOver is this store without userId over with it: userId's cost is its inverse.
    const userId = over("ours-user", ["set-new", "set-existing", "touch"])
      .map(([at, value]): [string, number] => [at, 1 / value]);
    if (ran("ours-user")) {
      add("store: userId set costs ≤ 3% on set and touch (with / without)", userId, 0.97);
    }
    add("store: destroy ≥ 1.0x connect-session-knex at c=32", over("csk", ["destroy"], 32), 1);
  }
  const others = [["csk", "connect-session-knex"], ["ems", "express-mysql-session"]];
  for (const [other, name] of s.http.length > 0 ? others : []) {
    const them = s.http.filter((r) => r.subject === other);
    add(`HTTP: ≥ 1.1x ${name} req/s`, them.map((r) => [r.op, r.oursOver as number]), 1.1);
    const p99s = them.flatMap((r) => {
      const ours = s.http.find((o) => o.subject === "ours" && o.op === r.op);
      return ours ? [{ scenario: r.op, ours: ours.p99, other: r.p99 }] : [];
    });
    const reached = p99s.map((w) => `${w.scenario} ${w.ours} vs ${w.other} ms`).join(", ");
    push(`HTTP: p99 no worse than ${other}`, reached, p99s.every((w) => w.ours <= w.other));
  }
  const touchAfter = s.http.find((r) => r.subject === "ours-touchAfter");
  const csk = s.http.find((r) => r.subject === "csk" && r.op === "rolling");
  if (touchAfter && csk) {
    // ours-touchAfter's oursOver is ours/ours-touchAfter: use req/s medians instead.
    const ratio = touchAfter.opsPerSecond / csk.opsPerSecond;
    const reached = `${fmt(ratio)} (${touchAfter.opsPerSecond} vs ${csk.opsPerSecond} req/s)`;
    push("HTTP rolling with touchAfter: ≥ 1.5x connect-session-knex", reached, ratio >= 1.5);
  }
  const owner = (pair: Pair) =>
    s.ownerCost.filter((r) => r.label === pair.label).map((
      r,
    ): [string, number] => [label(r.base), r.ratio]);
  if (s.ownerCost.length > 0) {
    const schemas = "v1's (hand-written CALLs, schema 2 / schema 1)";
    add(`set with the owner column ≥ 0.97x ${schemas}`, owner(OWNER_COST[0]), 0.97);
    add("set with userId ≥ 0.97x without (this store)", owner(OWNER_COST[1]), 0.97);
  }
  const byUser = (r: PairRow) => /^(sessions-of|count-of|destroy-user)$/.test(r.base.op);
  for (const [what, ratios] of groupBy(s.scale, (r) => byUser(r) ? ", lookups by user" : "")) {
    const target =
      `scale${what}: p50 at ${rows.scaleSessions} rows within 1.3x of ${rows.sessions}`;
    add(target, ratios.map((r) => [label(r.base), r.p50Ratio]), 1.3, true);
  }
  if (s.sweep) {
    const { idle, duringSweep: during, sweepSeconds, concurrency } = s.sweep;
    const ratio = during.p99 / idle.p99;
    const reached = `${fmt(ratio)} (${round3(during.p99)} vs ${round3(idle.p99)} ms, ` +
      `c=${concurrency}, sweep ${sweepSeconds.toFixed(1)} s)`;
    push(`sweep of ${s.sweep.expiredRows} expired rows: get p99 ≤ 2x idle`, reached, ratio <= 2);
  }
  const { ours, csk: theirs } = s.memory;
  if (ours !== undefined && theirs !== undefined) {
    const target = "memory: peak RSS ≤ connect-session-knex's";
    push(target, `${ours} MB vs ${theirs} MB`, ours <= theirs);
  }
  return targets;
}
