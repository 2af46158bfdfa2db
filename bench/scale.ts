// Scale: this project's store (with `userId`: every session has an owner, 4 sessions per user)
// on a table of `sessions` rows against one of `scaleSessions` rows (interleaved rounds): gets,
// sets, and the lookups by user; then sweeping as many expired rows while gets keep running.
import type { KnexMySQLStore, UserSession } from "../mod.ts";
import { type Adapter, createAdapter } from "./adapters.ts";
import { type BufferPool, withBufferPool } from "./buffer-pool.ts";
import { type BenchDatabase, bulkLoad } from "./database.ts";
import type { BenchOptions } from "./options.ts";
import { DAY, ownerOf, type Payload, SESSIONS_PER_USER, userOf } from "./payload.ts";
import { note, progress } from "./progress.ts";
import { indexes, type Plan, planFor, rotate, runBatch } from "./store-level.ts";
import { quantile, summarize } from "./stats.ts";

export const SCALE_OPS = [
  "get-hit",
  "set-existing",
  "sessions-of",
  "count-of",
  "destroy-user",
] as const;
export type ScaleOp = (typeof SCALE_OPS)[number];
/** The lookups by user: sessionsOf, countOf, destroyUser. */
export const USER_OPS: readonly ScaleOp[] = ["sessions-of", "count-of", "destroy-user"];

export interface ScaleResult {
  /** Stored sessions in the table. */
  rows: number;
  op: ScaleOp;
  concurrency: number;
  round: number;
  opsPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  wrong: number;
}

export interface SweepResult {
  expiredRows: number;
  deleted: number;
  sweepSeconds: number;
  concurrency: number;
  idle: { operations: number; p50: number; p99: number };
  duringSweep: { operations: number; p50: number; p99: number };
  errors: number;
  wrong: number;
}

const SWEEP_CONCURRENCY = 32;

/** Whole users of a table of `rows` sessions sidOf("s", 0…): user k owns 4k … 4k + 3. */
const usersOf = (rows: number) => Math.floor(rows / SESSIONS_PER_USER);

/** Users logged out everywhere: `count` of them, first + k * stride (k < count). */
interface Victims {
  first: number;
  stride: number;
  count: number;
}

/**
 * `count` lookups by user on a table of `rows` sessions: sessions-of and count-of of random
 * users, each to find its 4 sessions; destroy-user of `victims`, each to delete its 4.
 */
function userPlan(
  op: ScaleOp,
  payload: Payload,
  rows: number,
  count: number,
  seed: number,
  victims: Victims,
): Plan {
  const picks = indexes(count, usersOf(rows), seed);
  const user = op === "destroy-user"
    ? (i: number) => userOf("s", victims.first + i * victims.stride)
    : (i: number) => userOf("s", picks[i] as number);
  const ownStore = (store: unknown) => store as KnexMySQLStore;
  const all = (sessions: UserSession[] | undefined, i: number) =>
    sessions?.length === SESSIONS_PER_USER &&
    sessions.every((s) => ownerOf(s.id) === user(i) && payload.matches(s.session, s.id));
  return {
    sid: (i) => user(i),
    run: (store, i, done) => {
      if (op === "sessions-of") {
        ownStore(store).sessionsOf(user(i), (error, found) => done(error, all(found, i)));
      } else if (op === "count-of") {
        ownStore(store).countOf(user(i), (error, n) => done(error, n === SESSIONS_PER_USER));
      } else {
        ownStore(store).destroyUser(user(i), (error, n) => done(error, n === SESSIONS_PER_USER));
      }
    },
  };
}

function merge(parts: Float64Array[]): Float64Array {
  const all = new Float64Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  return all.sort();
}

async function loadTable(
  db: BenchDatabase,
  adapter: Adapter,
  payload: Payload,
  range: { prefix: string; count: number; expiresAt: number },
  what: string,
) {
  const started = Date.now();
  await bulkLoad(
    db.admin,
    adapter.layout!,
    payload,
    { ...range, from: 0 },
    (loaded) => progress(`scale: loading ${what} ${loaded}/${range.count}`),
  );
  note(`scale: loaded ${range.count} ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** The scale phase with the buffer pool `options.bufferPool` asks for (see buffer-pool.ts). */
export async function runScale(
  db: BenchDatabase,
  options: BenchOptions,
  payload: Payload,
): Promise<{ scale: ScaleResult[]; sweep: SweepResult; bufferPool: BufferPool }> {
  // Live rows of both tables, and as many expired rows again for the sweep.
  const rows = options.sessions + 2 * options.scaleSessions;
  const { result, bufferPool } = await withBufferPool(
    db.admin,
    options.bufferPool,
    rows,
    options.payload,
    () => measureScale(db, options, payload),
  );
  return { ...result, bufferPool };
}

async function measureScale(
  db: BenchDatabase,
  options: BenchOptions,
  payload: Payload,
): Promise<{ scale: ScaleResult[]; sweep: SweepResult }> {
  const small = await createAdapter("ours-user", db.url, "scale_small");
  const large = await createAdapter("ours-user", db.url, "scale_large");
  try {
    const sizes = new Map([[small, options.sessions], [large, options.scaleSessions]]);
    // destroy-user: as many users on each table, at most a quarter of the small table's, so
    // that it stays about its size; their sessions are loaded again after each batch.
    const loggedOut = Math.min(options.ops, Math.floor(usersOf(options.sessions) / 4));
    const ops = SCALE_OPS.filter((op) => loggedOut > 0 || !USER_OPS.includes(op));
    await loadTable(db, small, payload, {
      prefix: "s",
      count: options.sessions,
      expiresAt: payload.expiresAt,
    }, "live sessions (small table)");
    await loadTable(db, large, payload, {
      prefix: "s",
      count: options.scaleSessions,
      expiresAt: payload.expiresAt,
    }, "live sessions (large table)");
    const scale: ScaleResult[] = [];
    for (let round = 0; round <= options.rounds; round++) {
      for (const concurrency of options.concurrency) {
        for (const op of ops) {
          for (const adapter of rotate([small, large], round)) {
            const rows = sizes.get(adapter) as number;
            progress(`scale round ${round}/${options.rounds} ${op} c=${concurrency} ${rows} rows`);
            const seed = round * 7919 + concurrency * 31 + rows;
            const count = op === "destroy-user" ? loggedOut : options.ops;
            const stride = Math.floor(usersOf(rows) / loggedOut);
            const victims = { first: seed % stride, stride, count };
            const plan = USER_OPS.includes(op)
              ? userPlan(op, payload, rows, count, seed, victims)
              : planFor(op as "get-hit" | "set-existing", payload, rows, count, `x${round}`, seed);
            const batch = await runBatch(adapter.store, plan, count, concurrency);
            if (op === "destroy-user") await reload(db, adapter, payload, victims);
            if (round === 0) continue; // warm-up
            const { opsPerSecond, p50, p99 } = summarize(batch.latencies, batch.wallMs);
            scale.push({
              rows,
              op,
              concurrency,
              round,
              opsPerSecond,
              p50,
              p99,
              errors: batch.errors,
              wrong: batch.wrong,
            });
          }
        }
      }
    }
    const sweep = await sweepWhileReading(db, large, options, payload);
    return { scale, sweep };
  } finally {
    await small.close();
    await large.close();
  }
}

/** Loads the sessions of users logged out by a destroy-user batch again: 4 strided ranges. */
async function reload(db: BenchDatabase, adapter: Adapter, payload: Payload, victims: Victims) {
  for (let k = 0; k < SESSIONS_PER_USER; k++) {
    await bulkLoad(db.admin, adapter.layout!, payload, {
      prefix: "s",
      from: victims.first * SESSIONS_PER_USER + k,
      step: victims.stride * SESSIONS_PER_USER,
      count: victims.count,
      expiresAt: payload.expiresAt,
    });
  }
}

/**
 * Adds `scaleSessions` expired rows to the large table, measures gets on its live sessions
 * while idle, then again while the store's own sweeper (clearExpired) deletes the expired rows.
 */
async function sweepWhileReading(
  db: BenchDatabase,
  large: Adapter,
  options: BenchOptions,
  payload: Payload,
): Promise<SweepResult> {
  const expiredRows = options.scaleSessions;
  await loadTable(db, large, payload, {
    prefix: "e",
    count: expiredRows,
    expiresAt: Date.now() - DAY,
  }, "expired sessions");
  const store = large.store as KnexMySQLStore;
  /** Gets in batches until `done()`, at least one batch. */
  const measure = async (done: () => boolean) => {
    const parts: Float64Array[] = [];
    let errors = 0;
    let wrong = 0;
    for (let i = 0; i === 0 || !done(); i++) {
      const plan = planFor("get-hit", payload, options.scaleSessions, options.ops, "w", i + 1);
      const batch = await runBatch(store, plan, options.ops, SWEEP_CONCURRENCY);
      parts.push(batch.latencies);
      errors += batch.errors;
      wrong += batch.wrong;
    }
    const all = merge(parts);
    return {
      figures: { operations: all.length, p50: quantile(all, 0.5), p99: quantile(all, 0.99) },
      errors,
      wrong,
    };
  };
  // As long a window as a sweep takes, so that both p99s see the same share of the server's
  // own hiccups (checkpoints, other jobs): a p99 over a few seconds would flatter the idle side.
  const idleSeconds = options.quick ? 2 : 30;
  progress(`sweep: gets while idle (${idleSeconds} s)`);
  const idleUntil = performance.now() + idleSeconds * 1000;
  const idle = await measure(() => performance.now() >= idleUntil);
  progress(`sweep: gets while sweeping ${expiredRows} expired rows`);
  const started = performance.now();
  let sweeping = true;
  const swept = store.clearExpired().finally(() => {
    sweeping = false;
  });
  const during = await measure(() => !sweeping);
  const deleted = await swept;
  const sweepSeconds = (performance.now() - started) / 1000;
  note(`sweep: deleted ${deleted} rows in ${sweepSeconds.toFixed(1)} s`);
  return {
    expiredRows,
    deleted,
    sweepSeconds,
    concurrency: SWEEP_CONCURRENCY,
    idle: idle.figures,
    duringSweep: during.figures,
    errors: idle.errors + during.errors,
    wrong: idle.wrong + during.wrong,
  };
}
