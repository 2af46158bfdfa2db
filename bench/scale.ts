// Scale: this project's store (with `userId`: every session has an owner, 4 sessions per user)
// on a table of `sessions` rows against one of `scaleSessions` rows (interleaved rounds): gets,
// sets, and the lookups by user; then sweeping as many expired rows while gets keep running.
//
// InnoDB's buffer pool is sized for the tables, as a production server is sized for its working
// set: the default pool (128 MB on MariaDB and MySQL) holds the 10,000-session table but not the
// 1,000,000-session one (about 1.2 GB, twice that with the expired rows of the sweep), and no
// store can make reads from disk as fast as reads from memory. The setting is restored after.
import type mysql from "mysql2/promise";
import type { KnexMySQLStore, UserSession } from "../mod.ts";
import { type Adapter, createAdapter } from "./adapters.ts";
import { type BenchDatabase, bulkLoad } from "./database.ts";
import type { BenchOptions } from "./options.ts";
import { DAY, ownerOf, type Payload, SESSIONS_PER_USER, userOf } from "./payload.ts";
import { note, progress } from "./progress.ts";
import { indexes, interleave, measured, type Plan, planFor } from "./store-level.ts";
import { quantile, runBatch } from "./store-level.ts";

export const SCALE_OPS = ["get-hit", "set-existing", "sessions-of", "count-of", "destroy-user"];
/** The lookups by user: sessionsOf, countOf, destroyUser. */
const USER_OPS = ["sessions-of", "count-of", "destroy-user"];
const SWEEP_CONCURRENCY = 32;
const MIB = 2 ** 20;
/** innodb_buffer_pool_size's unit here (its chunk size, by default). */
const CHUNK = 128 * MIB;
/** InnoDB's own overhead per row (record header, page fill, the expired and owner indexes), bytes. */
const ROW_OVERHEAD = 400;

/** Whole users of a table of `rows` sessions sidOf("s", 0…): user k owns 4k … 4k + 3. */
const usersOf = (rows: number) => Math.floor(rows / SESSIONS_PER_USER);

/** Users logged out everywhere: `count` of them, first + k * stride (k < count). */
type Victims = { first: number; stride: number; count: number };

/**
 * `victims.count` lookups by user on a table of `rows` sessions: sessions-of and count-of of
 * random users, each to find its 4 sessions; destroy-user of `victims`, each to delete its 4.
 */
function userPlan(op: string, payload: Payload, rows: number, seed: number, victims: Victims) {
  const picks = indexes(victims.count, usersOf(rows), seed);
  const user = op === "destroy-user"
    ? (i: number) => userOf("s", victims.first + i * victims.stride)
    : (i: number) => userOf("s", picks[i] as number);
  const all = (sessions: UserSession[] | undefined, i: number) =>
    sessions?.length === SESSIONS_PER_USER &&
    sessions.every((s) => ownerOf(s.id) === user(i) && payload.matches(s.session, s.id));
  const four = (n: number | undefined) => n === SESSIONS_PER_USER;
  return ((store, i, done) => {
    const ours = store as KnexMySQLStore;
    if (op === "sessions-of") ours.sessionsOf(user(i), (e, found) => done(e, all(found, i)));
    else if (op === "count-of") ours.countOf(user(i), (e, n) => done(e, four(n)));
    else ours.destroyUser(user(i), (e, n) => done(e, four(n)));
  }) satisfies Plan;
}

async function poolSize(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin.query("SELECT @@GLOBAL.innodb_buffer_pool_size AS size");
  return Number((rows as { size: number | string }[])[0]?.size);
}

/**
 * The scale phase, with a buffer pool large enough for its rows ("auto"), or with the server's
 * setting as it is ("keep", or an account that may not change it: a note says so).
 */
export async function runScale(db: BenchDatabase, options: BenchOptions, payload: Payload) {
  const { admin } = db;
  const before = await poolSize(admin);
  // Live rows of both tables, and as many expired rows again for the sweep.
  const rows = options.sessions + 2 * options.scaleSessions;
  const wanted = Math.ceil(rows * (options.payload + ROW_OVERHEAD) * 1.25 / CHUNK) * CHUNK;
  const measure = async (during = before) => ({
    ...await measureScale(db, options, payload),
    /** innodb_buffer_pool_size before and during the phase, bytes. */
    bufferPool: { before, during },
  });
  if (options.bufferPool === "keep" || before >= wanted) return await measure();
  try {
    await admin.query("SET GLOBAL innodb_buffer_pool_size = ?", [wanted]);
  } catch (error) {
    note(`buffer pool: kept at ${before / MIB} MB, cannot resize: ${(error as Error).message}`);
    return await measure();
  }
  // The server resizes in the background; its status is empty or "Completed resizing buffer
  // pool at …" once done (MySQL keeps the latter).
  const status = "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'";
  const resized = async () => {
    const text = String(((await admin.query(status))[0] as { Value?: string }[])[0]?.Value ?? "");
    const busy = !/^completed/i.test(text) && /resizing|withdrawing|allocating/i.test(text);
    return await poolSize(admin) >= wanted && !busy;
  };
  let waited = 0;
  for (; waited < 120_000 && !await resized(); waited += 250) {
    await new Promise((r) => setTimeout(r, 250));
  }
  if (waited >= 120_000) {
    note("buffer pool: resize still running after 2 minutes; measuring anyway");
  }
  const during = await poolSize(admin);
  note(`buffer pool: ${before / MIB} MB -> ${during / MIB} MB for the scale phase`);
  try {
    return await measure(during);
  } finally {
    await admin.query("SET GLOBAL innodb_buffer_pool_size = ?", [before]);
    note(`buffer pool: back to ${before / MIB} MB`);
  }
}

async function measureScale(db: BenchDatabase, options: BenchOptions, payload: Payload) {
  const open = (name: string) => createAdapter("ours-user", db.url, `scale_${name}`);
  const tables = [
    { name: "small", rows: options.sessions, adapter: await open("small") },
    { name: "large", rows: options.scaleSessions, adapter: await open("large") },
  ];
  try {
    // destroy-user: as many users on each table, at most a quarter of the small table's, so
    // that it stays about its size; their sessions are loaded again after each batch.
    const loggedOut = Math.min(options.ops, Math.floor(usersOf(options.sessions) / 4));
    const live = { prefix: "s", from: 0, expiresAt: payload.expiresAt };
    for (const { name, rows, adapter } of tables) {
      const what = `live sessions (${name} table)`;
      await bulkLoad(db.admin, adapter.layout!, payload, { ...live, count: rows }, what);
    }
    const ops = SCALE_OPS.filter((op) => loggedOut > 0 || !USER_OPS.includes(op));
    const scale = await interleave(options, ops, tables, async (round, concurrency, op, table) => {
      const { name, rows, adapter } = table;
      progress(`scale round ${round}/${options.rounds} ${op} c=${concurrency} ${rows} rows`);
      const seed = round * 7919 + concurrency * 31 + rows;
      const count = op === "destroy-user" ? loggedOut : options.ops;
      const stride = Math.floor(usersOf(rows) / loggedOut);
      const victims = { first: seed % stride, stride, count };
      const plan = USER_OPS.includes(op)
        ? userPlan(op, payload, rows, seed, victims)
        : planFor(op, payload, rows, count, `x${round}`, seed);
      const batch = await runBatch(adapter.store, plan, count, concurrency);
      // The logged-out users' sessions again: 4 strided ranges.
      for (let k = 0; op === "destroy-user" && k < SESSIONS_PER_USER; k++) {
        const [from, step] = [victims.first * SESSIONS_PER_USER + k, stride * SESSIONS_PER_USER];
        await bulkLoad(db.admin, adapter.layout!, payload, { ...live, from, step, count });
      }
      return measured(batch, { subject: name, op, concurrency, round });
    });
    return { scale, sweep: await sweep(db, tables[1]!.adapter, options, payload) };
  } finally {
    for (const { adapter } of tables) await adapter.close();
  }
}

/**
 * Adds `scaleSessions` expired rows to the large table, measures gets on its live sessions
 * while idle, then again while the store's own sweeper (clearExpired) deletes the expired rows.
 */
async function sweep(db: BenchDatabase, large: Adapter, options: BenchOptions, payload: Payload) {
  const expiredRows = options.scaleSessions;
  const range = { prefix: "e", from: 0, count: expiredRows, expiresAt: Date.now() - DAY };
  await bulkLoad(db.admin, large.layout!, payload, range, "expired sessions");
  const store = large.store as KnexMySQLStore;
  /** Gets in batches until `done()`, at least one batch. */
  const measure = async (done: () => boolean) => {
    const parts: Float64Array[] = [];
    let [errors, wrong] = [0, 0];
    for (let i = 0; i === 0 || !done(); i++) {
      const plan = planFor("get-hit", payload, options.scaleSessions, options.ops, "w", i + 1);
      const batch = await runBatch(store, plan, options.ops, SWEEP_CONCURRENCY);
      parts.push(batch.latencies);
      [errors, wrong] = [errors + batch.errors, wrong + batch.wrong];
    }
    const all = new Float64Array(parts.flatMap((part) => [...part])).sort();
    return {
      operations: all.length,
      p50: quantile(all, 0.5),
      p99: quantile(all, 0.99),
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
  const duringSweep = await measure(() => !sweeping);
  const deleted = await swept;
  const sweepSeconds = (performance.now() - started) / 1000;
  note(`sweep: deleted ${deleted} rows in ${sweepSeconds.toFixed(1)} s`);
  const [errors, wrong] = [idle.errors + duringSweep.errors, idle.wrong + duringSweep.wrong];
  const concurrency = SWEEP_CONCURRENCY;
  return { expiredRows, deleted, sweepSeconds, concurrency, idle, duringSweep, errors, wrong };
}
export type Sweep = Awaited<ReturnType<typeof sweep>>;
