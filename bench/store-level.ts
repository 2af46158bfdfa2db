// Store level: each operation, at each concurrency, on every store, interleaved within each
// round (the order of stores rotates every round), so that noise hits all stores alike.
import type { Store } from "express-session";
import process from "node:process";
import { type Adapter, ADAPTER_LABELS, type Callback, callOnce } from "./adapters.ts";
import { createAdapter, tableFor } from "./adapters.ts";
import { type BenchDatabase, bulkLoad } from "./database.ts";
import { type BenchOptions, opsAt } from "./options.ts";
import { DAY, type Payload, sidOf } from "./payload.ts";
import { note, progress } from "./progress.ts";
import type { Measurement } from "./summary.ts";

export const STORE_OPS = ["get-hit", "get-miss", "set-new", "set-existing", "touch", "destroy"];

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

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

type Done = (error: unknown, right: boolean) => void;
/** Starts operation i of a batch; calls back with whether its result is right. */
export type Plan = (store: Store, i: number, done: Done) => void;

/** The sessions of `tag` that set-new stores (and destroy ends). */
const fresh = (tag: string, i: number) => sidOf(`n${tag}-`, i);

/** Operation `op` of a batch of `count`, on `sessions` stored sessions. */
export function planFor(
  op: string,
  payload: Payload,
  sessions: number,
  count: number,
  tag: string,
  seed: number,
): Plan {
  const picks = indexes(count, sessions, seed);
  const stored = (i: number) => sidOf("s", picks[i] as number);
  const wrote = (done: Done) => (error: unknown) => done(error, true);
  const plans: Record<string, Plan> = {
    "get-hit": (store, i, done) =>
      callOnce((cb) => store.get(stored(i), cb), (e, v) => done(e, payload.matches(v, stored(i)))),
    "get-miss": (store, i, done) =>
      callOnce((cb) => store.get(sidOf(`m${tag}-`, i), cb), (e, value) => done(e, value == null)),
    "set-new": (store, i, done) =>
      callOnce((cb) => store.set(fresh(tag, i), payload.session(fresh(tag, i)), cb), wrote(done)),
    "set-existing": (store, i, done) => {
      const session = payload.session(stored(i));
      session.views = i + 1; // a real change, as when a request modifies its session
      callOnce((cb) => store.set(stored(i), session, cb), wrote(done));
    },
    touch: (store, i, done) => {
      const session = payload.session(stored(i));
      // A later expiry than the stored one, by whole seconds (the column's unit), so that
      // every touch really writes, also of a sid touched earlier in the batch.
      const expires = new Date(Date.now() + 8 * DAY + i * 1000).toISOString();
      Object.assign(session.cookie, { expires });
      callOnce((cb) => store.touch?.(stored(i), session, (e?: unknown) => cb(e)), wrote(done));
    },
    // The sessions that set-new stored in this round, at this concurrency.
    destroy: (store, i, done) => callOnce((cb) => store.destroy(fresh(tag, i), cb), wrote(done)),
  };
  return plans[op] as Plan;
}

/**
 * Runs `count` operations with `concurrency` in flight: each one's latency (ms), the wall time
 * (ms), this process's CPU time (user + system) per operation (µs: the store's own cost).
 */
export function runBatch(store: Store, plan: Plan, count: number, concurrency: number) {
  const [latencies, firstError] = [new Float64Array(count), null as unknown];
  const batch = { latencies, wallMs: 0, cpuPerOp: 0, errors: 0, wrong: 0, firstError };
  return new Promise<typeof batch>((resolve) => {
    let next = 0;
    let finished = 0;
    const started = performance.now();
    const cpuAtStart = process.cpuUsage();
    const launch = () => {
      const i = next++;
      const t0 = performance.now();
      plan(store, i, (error, right) => {
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

type Where = Pick<Measurement, "subject" | "op" | "concurrency" | "round">;
/** A batch's figures, as a measurement of `where`; its latencies get sorted. */
export function measured(batch: Awaited<ReturnType<typeof runBatch>>, where: Where): Measurement {
  const { latencies, wallMs, errors, wrong } = batch;
  latencies.sort();
  const [p50, p99] = [quantile(latencies, 0.5), quantile(latencies, 0.99)];
  return { ...where, opsPerSecond: latencies.length / (wallMs / 1000), p50, p99, errors, wrong };
}

export const rotate = <T>(
  items: readonly T[],
  by: number,
): T[] => [...items.slice(by % items.length), ...items.slice(0, by % items.length)];

/**
 * Measures every op at every concurrency on every subject, in every round, the subjects in an
 * order rotated each round; round 0 is a warm-up that is not recorded.
 */
export async function interleave<S>(
  options: BenchOptions,
  ops: string[],
  subjects: S[],
  measure: (round: number, concurrency: number, op: string, subject: S) => Promise<Measurement>,
): Promise<Measurement[]> {
  const results: Measurement[] = [];
  const steps = options.concurrency.flatMap((concurrency) =>
    ops.map((op) => ({ concurrency, op }))
  );
  for (let round = 0; round <= options.rounds; round++) {
    for (const { concurrency, op } of steps) {
      for (const subject of rotate(subjects, round)) {
        const measurement = await measure(round, concurrency, op, subject);
        if (round > 0) results.push(measurement);
      }
    }
  }
  return results;
}

/** The store level: every adapter on its own table, holding `options.sessions` sessions. */
export async function runStoreLevel(db: BenchDatabase, options: BenchOptions, payload: Payload) {
  const adapters: Adapter[] = [];
  const measure = async (round: number, concurrency: number, op: string, adapter: Adapter) => {
    const ops = opsAt(options, concurrency);
    const count = round === 0 ? Math.max(50, Math.floor(ops / 5)) : ops;
    const seed = (round * 1000 + concurrency) * 16 + STORE_OPS.indexOf(op) + 1;
    const tag = `${round}c${concurrency}`;
    const plan = planFor(op, payload, options.sessions, count, tag, seed);
    const which = round === 0 ? "warm-up" : `round ${round}/${options.rounds}`;
    progress(`store ${which} c=${concurrency} ${op} ${ADAPTER_LABELS[adapter.name]}`);
    const batch = await runBatch(adapter.store, plan, count, concurrency);
    // A sample of set-new's sessions read back: there after set-new, gone after destroy.
    const step = op === "set-new" || op === "destroy" ? Math.max(1, Math.floor(count / 20)) : 0;
    for (let i = 0; step && i < count; i += step) {
      const read = (callback: Callback) => adapter.store.get(fresh(tag, i), callback);
      const found = await new Promise((resolve) => callOnce(read, (e, v) => resolve(!e && v)));
      if (op === "set-new" ? !payload.matches(found, fresh(tag, i)) : found) batch.wrong++;
    }
    if (batch.errors > 0 && round <= 1) {
      note(`${adapter.name} ${op}: ${batch.errors} errors, first: ${String(batch.firstError)}`);
    }
    const where = { subject: adapter.name, op, concurrency, round };
    return { ...measured(batch, where), cpuPerOp: batch.cpuPerOp };
  };
  try {
    for (const name of options.adapters) {
      const adapter = await createAdapter(name, db.url, tableFor("store", name));
      adapters.push(adapter);
      const range = { prefix: "s", from: 0, count: options.sessions, expiresAt: payload.expiresAt };
      if (adapter.layout) await bulkLoad(db.admin, adapter.layout, payload, range);
      else await payload.seed(adapter.store, "s", options.sessions);
    }
    return await interleave(options, STORE_OPS, adapters, measure);
  } finally {
    for (const adapter of adapters) await adapter.close();
  }
}
