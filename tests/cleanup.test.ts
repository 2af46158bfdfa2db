// The sweep's pacing. The batches here are timers standing in for the server's time, so that
// the pacing itself is what is measured; the sweeps against MariaDB are in lifecycle.test.ts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { sweepInBatches } from "../src/cleanup.ts";

interface Call {
  started: number;
  ended: number;
}

/** A batch function that takes `ms` per batch and reports `results` in turn. */
function batches(ms: number, results: number[]) {
  const calls: Call[] = [];
  const sweepBatch = async () => {
    const call = { started: performance.now(), ended: 0 };
    calls.push(call);
    await sleep(ms);
    call.ended = performance.now();
    return results[calls.length - 1] ?? 0;
  };
  return { calls, sweepBatch };
}

describe("sweepInBatches", () => {
  it("rests after each full batch for as long as the batch took, and not after the last", async () => {
    const { calls, sweepBatch } = batches(40, [10, 10, 10, 3]);
    const started = performance.now();
    assert.equal(await sweepInBatches(sweepBatch, 10), 33);
    const finished = performance.now();
    assert.equal(calls.length, 4);
    for (let i = 1; i < calls.length; i++) {
      const previous = calls[i - 1] as Call;
      const rest = (calls[i] as Call).started - previous.ended;
      // Timers fire at the earliest after their delay (to the millisecond).
      assert.ok(rest >= previous.ended - previous.started - 2, `rest ${rest} ms after batch ${i}`);
    }
    // The short last batch ends the sweep at once.
    assert.ok(finished - (calls[3] as Call).ended < 20);
    assert.ok(finished - started >= 7 * 38);
  });

  it("a sweep stopped while resting sends no further batch", async () => {
    const { calls, sweepBatch } = batches(30, [10, 10, 10]);
    let stopped = false;
    const sweep = sweepInBatches(sweepBatch, 10, { stopped: () => stopped });
    await sleep(45); // into the rest after the first batch
    stopped = true;
    assert.equal(await sweep, 10);
    assert.equal(calls.length, 1);
  });

  it("a background sweep rests on a timer that does not keep the process alive", () => {
    const script = fileURLToPath(new URL("./fixtures/background_sweep.ts", import.meta.url));
    const runtime = "Deno" in globalThis ? ["run", "-A", script] : ["--import", "tsx", script];
    // Had the rests kept the process alive, the sweep would run until the timeout.
    const child = spawnSync(process.execPath, runtime, { timeout: 20_000 });
    assert.equal(child.status, 0, String(child.stderr));
  });
});
