// Store level: each operation, at each concurrency, on every store, interleaved within each
// round (the order of stores rotates every round), so that noise hits all stores alike.
import type { Store } from "express-session";
import process from "node:process";
import { type Adapter, ADAPTER_LABELS, operations } from "./adapters.ts";
import { bulkLoad } from "./database.ts";
import type { BenchDatabase } from "./database.ts";
import type { AdapterName, BenchOptions } from "./options.ts";
import { DAY, type Payload, sidOf } from "./payload.ts";
import { note, progress } from "./progress.ts";
import { type LatencySummary, summarize } from "./stats.ts";

export const STORE_OPS = [
  "get-hit",
  "get-miss",
  "set-new",
  "set-existing",
  "touch",
  "destroy",
] as const;
export type StoreOp = (typeof STORE_OPS)[number];

export interface BatchResult extends LatencySummary {
  adapter: AdapterName;
  op: StoreOp;
  concurrency: number;
  round: number;
  errors: number;
  /** Reads that returned something else than what was stored (or found a destroyed one). */
  wrong: number;
  /** Node CPU time per operation, µs (user + system, the whole bench process). */
  cpuPerOp: number;
}

/** Deterministic random indexes (xorshift32), the same for every store in a round. */
export function indexes(count: number, limit: number, seed: number): Uint32Array {
  const out = new Uint32Array(count);
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = (x >>> 0) % limit;
  }
  return out;
}

export interface Plan {
  sid(i: number): string;
  /** Starts operation i; calls back with whether its result is right. */
  run(store: Store, i: number, done: (error: unknown, right: boolean) => void): void;
}

export function planFor(
  op: StoreOp,
  payload: Payload,
  sessions: number,
  count: number,
  tag: string,
  seed: number,
): Plan {
  const picks = indexes(count, sessions, seed);
  const stored = (i: number) => sidOf("s", picks[i] as number);
  const fresh = (i: number) => sidOf(`n${tag}-`, i);
  switch (op) {
    case "get-hit":
      return {
        sid: stored,
        run: (store, i, done) =>
          operations.get(
            store,
            stored(i),
            (error, value) => done(error, payload.matches(value, stored(i))),
          ),
      };
    case "get-miss":
      return {
        sid: (i) => sidOf(`m${tag}-`, i),
        run: (store, i, done) =>
          operations.get(store, sidOf(`m${tag}-`, i), (error, value) => done(error, value == null)),
      };
    case "set-new":
      return {
        sid: fresh,
        run: (store, i, done) =>
          operations.set(store, fresh(i), payload.session(fresh(i)), (error) => done(error, true)),
      };
    case "set-existing":
      return {
        sid: stored,
        run: (store, i, done) => {
          const session = payload.session(stored(i));
          session.views = i + 1; // a real change, as when a request modifies its session
          operations.set(store, stored(i), session, (error) => done(error, true));
        },
      };
    case "touch":
      return {
        sid: stored,
        run: (store, i, done) => {
          const session = payload.session(stored(i));
          // A later expiry than the stored one, by whole seconds (the column's unit), so that
          // every touch really writes, also of a sid touched earlier in the batch.
          Object.assign(session.cookie, {
            expires: new Date(Date.now() + 8 * DAY + i * 1000).toISOString(),
          });
          operations.touch(store, stored(i), session, (error) => done(error, true));
        },
      };
    case "destroy":
      // The sessions that set-new stored in this round, at this concurrency.
      return {
        sid: fresh,
        run: (store, i, done) => operations.destroy(store, fresh(i), (error) => done(error, true)),
      };
  }
}

export interface Batch {
  /** Each operation's latency, ms. */
  latencies: Float64Array;
  wallMs: number;
  /** CPU time of this process (user + system) per operation, µs: the store's own cost. */
  cpuPerOp: number;
  errors: number;
  wrong: number;
  firstError: unknown;
}

/** Runs `count` operations with `concurrency` in flight. */
export function runBatch(
  store: Store,
  plan: Plan,
  count: number,
  concurrency: number,
): Promise<Batch> {
  return new Promise((resolve) => {
    const batch: Batch = {
      latencies: new Float64Array(count),
      wallMs: 0,
      cpuPerOp: 0,
      errors: 0,
      wrong: 0,
      firstError: undefined,
    };
    let next = 0;
    let finished = 0;
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    const launch = () => {
      const i = next++;
      const t0 = performance.now();
      plan.run(store, i, (error, right) => {
        batch.latencies[i] = performance.now() - t0;
        if (error) {
          batch.errors++;
          batch.firstError ??= error;
        } else if (!right) batch.wrong++;
        finished++;
        if (next < count) launch();
        else if (finished === count) {
          batch.wallMs = performance.now() - started;
          const cpu = process.cpuUsage(cpuAtStart);
          batch.cpuPerOp = (cpu.user + cpu.system) / count;
          resolve(batch);
        }
      });
    };
    for (let k = 0; k < Math.min(concurrency, count); k++) launch();
  });
}

/** Reads back a sample of a batch's sessions: after set-new they must be there, after destroy not. */
async function verifySample(
  store: Store,
  plan: Plan,
  count: number,
  payload: Payload,
  present: boolean,
): Promise<number> {
  let wrong = 0;
  const step = Math.max(1, Math.floor(count / 20));
  for (let i = 0; i < count; i += step) {
    const sid = plan.sid(i);
    const value = await new Promise((resolve) =>
      operations.get(store, sid, (error, found) => resolve(error ? undefined : found))
    );
    if (present ? !payload.matches(value, sid) : value != null) wrong++;
  }
  return wrong;
}

/** Stores `count` sessions sidOf("s", 0..count-1) in the adapter's table (or memory). */
export async function preload(
  adapter: Adapter,
  db: BenchDatabase,
  payload: Payload,
  count: number,
): Promise<void> {
  if (adapter.layout) {
    await bulkLoad(db.admin, adapter.layout, payload, {
      prefix: "s",
      from: 0,
      count,
      expiresAt: payload.expiresAt,
    });
    return;
  }
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) =>
      operations.set(adapter.store, sidOf("s", i), payload.session(sidOf("s", i)), resolve)
    );
  }
}

export function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % items.length;
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/** Runs every round; round 0 is a warm-up that is not recorded. */
export async function runStoreLevel(
  adapters: Adapter[],
  options: BenchOptions,
  payload: Payload,
): Promise<BatchResult[]> {
  const results: BatchResult[] = [];
  const warmUp = Math.max(50, Math.floor(options.ops / 5));
  const total = options.rounds * options.concurrency.length * STORE_OPS.length * adapters.length;
  let step = 0;
  for (let round = 0; round <= options.rounds; round++) {
    const count = round === 0 ? warmUp : options.ops;
    for (const concurrency of options.concurrency) {
      for (const [opIndex, op] of STORE_OPS.entries()) {
        const tag = `${round}c${concurrency}`;
        const seed = (round * 1000 + concurrency) * 16 + opIndex + 1;
        const plan = planFor(op, payload, options.sessions, count, tag, seed);
        for (const adapter of rotate(adapters, round)) {
          if (round > 0) step++;
          progress(
            `store ${round === 0 ? "warm-up" : `round ${round}/${options.rounds}`} ` +
              `c=${concurrency} ${op} ${ADAPTER_LABELS[adapter.name]}` +
              (round > 0 ? ` (${step}/${total})` : ""),
          );
          const batch = await runBatch(adapter.store, plan, count, concurrency);
          if (op === "set-new" || op === "destroy") {
            batch.wrong += await verifySample(
              adapter.store,
              plan,
              count,
              payload,
              op === "set-new",
            );
          }
          if (batch.errors > 0 && round <= 1) {
            note(
              `${adapter.name} ${op}: ${batch.errors} errors, first: ${String(batch.firstError)}`,
            );
          }
          if (round === 0) continue;
          results.push({
            adapter: adapter.name,
            op,
            concurrency,
            round,
            ...summarize(batch.latencies, batch.wallMs),
            errors: batch.errors,
            wrong: batch.wrong,
            cpuPerOp: batch.cpuPerOp,
          });
        }
      }
    }
  }
  return results;
}
