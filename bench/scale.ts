// Scale: this project's store on a table of `sessions` rows against one of `scaleSessions`
// rows (interleaved rounds), then sweeping as many expired rows while gets keep running.
import type { KnexMySQLStore } from "../mod.ts";
import { type Adapter, createAdapter } from "./adapters.ts";
import { type BufferPool, withBufferPool } from "./buffer-pool.ts";
import { type BenchDatabase, bulkLoad } from "./database.ts";
import type { BenchOptions } from "./options.ts";
import { DAY, type Payload } from "./payload.ts";
import { note, progress } from "./progress.ts";
import { planFor, rotate, runBatch } from "./store-level.ts";
import { quantile, summarize } from "./stats.ts";

export interface ScaleResult {
  /** Stored sessions in the table. */
  rows: number;
  op: "get-hit" | "set-existing";
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

const SCALE_OPS = ["get-hit", "set-existing"] as const;
const SWEEP_CONCURRENCY = 32;

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
  const small = await createAdapter("ours", db.url, "scale_small");
  const large = await createAdapter("ours", db.url, "scale_large");
  try {
    const sizes = new Map([[small, options.sessions], [large, options.scaleSessions]]);
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
        for (const op of SCALE_OPS) {
          for (const adapter of rotate([small, large], round)) {
            const rows = sizes.get(adapter) as number;
            progress(`scale round ${round}/${options.rounds} ${op} c=${concurrency} ${rows} rows`);
            const seed = round * 7919 + concurrency * 31 + rows;
            const plan = planFor(op, payload, rows, options.ops, `x${round}`, seed);
            const batch = await runBatch(adapter.store, plan, options.ops, concurrency);
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
