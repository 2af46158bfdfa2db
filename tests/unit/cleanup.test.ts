// The sweep's pacing and scheduling, on the store's clock seam: batches "take" time on a fake
// monotonic clock and every rest is recorded, so what is asserted is the rule, not a timer's
// punctuality. The sweeps against the server are in lifecycle.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { CleanupScheduler, sweepInBatches } from "../../src/cleanup.ts";
import { withClock } from "../helpers/clock.ts";

/**
 * A fake monotonic clock, batches that take `durations[i]` ms of it and report `results[i]`,
 * and a rest that is recorded instead of waited for (running `onRest` first, if given).
 */
function pacing(durations: number[], results: number[], onRest?: () => void) {
  let time = 1_000;
  let batch = 0;
  const rests: { ms: number; unref: boolean; afterBatch: number }[] = [];
  return {
    rests,
    batches: () => batch,
    sweepBatch: (limit: number) => {
      assert.equal(limit, 10);
      time += durations[batch] ?? 0;
      return Promise.resolve(results[batch++] ?? 0);
    },
    clock: {
      monotonic: () => time,
      rest: (ms: number, { unref }: { unref: boolean }) => {
        rests.push({ ms, unref, afterBatch: batch });
        onRest?.();
        return Promise.resolve();
      },
    },
  };
}

describe("sweepInBatches", () => {
  it("rests after each full batch for as long as that batch took, and not after the last", async () => {
    const run = pacing([40, 25, 60, 10], [10, 10, 10, 3]);
    await withClock(run.clock, async () => {
      assert.equal(await sweepInBatches(run.sweepBatch, 10), 33);
    });
    assert.equal(run.batches(), 4);
    assert.deepEqual(run.rests, [
      { ms: 40, unref: false, afterBatch: 1 },
      { ms: 25, unref: false, afterBatch: 2 },
      { ms: 60, unref: false, afterBatch: 3 },
    ]);
  });

  it("a background sweep rests on unref'd timers; one someone awaits does not", async () => {
    const run = pacing([5, 5], [10, 0]);
    await withClock(run.clock, () => sweepInBatches(run.sweepBatch, 10, { background: true }));
    assert.deepEqual(run.rests, [{ ms: 5, unref: true, afterBatch: 1 }]);
  });

  it("a sweep stopped while resting sends no further batch", async () => {
    let stopped = false;
    const run = pacing([30, 30, 30], [10, 10, 10], () => {
      stopped = true;
    });
    await withClock(run.clock, async () => {
      assert.equal(await sweepInBatches(run.sweepBatch, 10, { stopped: () => stopped }), 10);
    });
    assert.equal(run.batches(), 1);
  });

  it("a background sweep does not keep the process alive", () => {
    const script = fileURLToPath(new URL("../fixtures/background_sweep.ts", import.meta.url));
    const runtime = "Deno" in globalThis ? ["run", "-A", script] : ["--import", "tsx", script];
    // The fixture's sweep never ends: had its rests kept the process alive, it would run until
    // this timeout, which is there only so that a failure ends (a pass exits at once).
    const child = spawnSync(process.execPath, runtime, { timeout: 120_000 });
    assert.equal(child.status, 0, String(child.stderr));
  });
});

describe("CleanupScheduler", () => {
  async function scheduled(random: number): Promise<Date | undefined> {
    const scheduler = new CleanupScheduler({
      interval: 60_000,
      batchSize: 10,
      sweepBatch: () => Promise.resolve(0),
      onError: () => {},
    });
    try {
      return await withClock({ now: () => Date.UTC(2030, 0, 1), random: () => random }, () => {
        scheduler.start();
        return Promise.resolve(scheduler.nextSweep);
      });
    } finally {
      await scheduler.stop();
    }
  }

  it("jitters each sweep by up to ±10% of the interval, so instances started together drift apart", async () => {
    const at = (offset: number) => new Date(Date.UTC(2030, 0, 1) + offset);
    assert.deepEqual(await scheduled(0), at(54_000));
    assert.deepEqual(await scheduled(0.5), at(60_000));
    assert.deepEqual(await scheduled(0.75), at(63_000));
  });
});
