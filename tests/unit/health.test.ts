// ConnectionHealth, whether the database is reachable as the store tells express-session: what
// changes its mind, that a suspicion is checked by one probe at a time, and the recovery with
// backoff while disconnected. Real timers with delays of a few ms; the store's use of it
// against a server that goes away is in tests/faults.test.ts.
import assert from "node:assert/strict";
import process from "node:process";
import { describe, it } from "node:test";
import { clearTimeout, setTimeout } from "node:timers";
import { setTimeout as sleep } from "node:timers/promises";
import { ConnectionHealth, type HealthOptions, type Reachability } from "../../src/health.ts";

/** A promise and the functions that settle it. */
function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Resolves once `condition` holds, polling every ms; fails after `ms`. */
async function until(condition: () => boolean, ms = 1_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) assert.fail("the condition never held");
    await sleep(1);
  }
}

/**
 * A ConnectionHealth whose announcements are recorded, with a probe that succeeds and a recover
 * that fails unless replaced.
 */
function monitor(options: Partial<HealthOptions> = {}) {
  const changes: Reachability[] = [];
  const health = new ConnectionHealth({
    probe: () => Promise.resolve(),
    recover: () => Promise.reject(new Error("still down")),
    onChange: (state) => changes.push(state),
    firstDelay: 2,
    maxDelay: 8,
    ...options,
  });
  return { health, changes };
}

describe("ConnectionHealth's state", () => {
  it("is unknown until told, and announces each change once", () => {
    const { health, changes } = monitor();
    assert.equal(health.state, "unknown");
    health.connected();
    assert.equal(health.state, "connected");
    health.connected();
    health.connected();
    assert.deepEqual(changes, ["connected"]);
    health.stop();
  });

  it("a start-up that never reached the database announces disconnected", () => {
    const { health, changes } = monitor();
    health.disconnected();
    assert.equal(health.state, "disconnected");
    health.disconnected();
    assert.deepEqual(changes, ["disconnected"]);
    health.stop();
  });

  it("connected after disconnected (a statement got an answer) is announced", () => {
    const { health, changes } = monitor();
    health.connected();
    health.disconnected();
    health.connected();
    assert.equal(health.state, "connected");
    assert.deepEqual(changes, ["connected", "disconnected", "connected"]);
    health.stop();
  });
});

describe("ConnectionHealth.suspect", () => {
  it("probes only while connected", () => {
    let probes = 0;
    const { health } = monitor({
      probe: () => {
        probes++;
        return Promise.resolve();
      },
    });
    health.suspect(); // unknown
    assert.equal(probes, 0);
    health.disconnected();
    health.suspect();
    assert.equal(probes, 0);
    health.connected();
    health.suspect();
    assert.equal(probes, 1);
    health.stop();
  });

  it("runs one probe at a time, and another once it has answered", async () => {
    const answers: ReturnType<typeof deferred>[] = [];
    const { health, changes } = monitor({
      probe: () => {
        answers.push(deferred());
        return answers.at(-1)!.promise;
      },
    });
    health.connected();
    health.suspect();
    health.suspect();
    health.suspect();
    assert.equal(answers.length, 1);
    answers[0]!.resolve();
    await until(() => {
      health.suspect();
      return answers.length === 2;
    });
    assert.equal(health.state, "connected");
    assert.deepEqual(changes, ["connected"]); // a probe that answers changes nothing
    health.stop();
  });

  it("a failed probe makes it disconnected, and it recovers once recover() succeeds", async () => {
    let recoveries = 0;
    const { health, changes } = monitor({
      probe: () => Promise.reject(new Error("no answer")),
      firstDelay: 15,
      recover: () => {
        recoveries++;
        return Promise.resolve();
      },
    });
    health.connected();
    health.suspect();
    await until(() => changes.length === 2);
    assert.equal(changes[1], "disconnected");
    assert.equal(recoveries, 0); // not at once: after firstDelay
    await until(() => changes.length === 3);
    assert.deepEqual(changes, ["connected", "disconnected", "connected"]);
    assert.equal(health.state, "connected");
    assert.equal(recoveries, 1);
    await sleep(20);
    assert.equal(recoveries, 1); // connected: no more attempts
    health.stop();
  });
});

describe("ConnectionHealth's recovery", () => {
  it("retries recover() with a doubling pause up to maxDelay until it succeeds", async () => {
    const attempts: number[] = [];
    const start = performance.now();
    const { health, changes } = monitor({
      firstDelay: 4,
      maxDelay: 12,
      recover: () => {
        attempts.push(performance.now() - start);
        return attempts.length < 6 ? Promise.reject(new Error("still down")) : Promise.resolve();
      },
    });
    health.disconnected();
    await until(() => changes.length === 2);
    assert.deepEqual(changes, ["disconnected", "connected"]);
    assert.equal(attempts.length, 6);
    const pauses = attempts.map((at, i) => at - (attempts[i - 1] ?? 0));
    // At least 4, 8, 12, 12, 12, 12 ms (a timer may fire a ms early by the monotonic clock).
    const least = [4, 8, 12, 12, 12, 12];
    pauses.forEach((pause, i) => assert.ok(pause >= least[i]! - 1.5, `pauses ${pauses}`));
    // Capped: without maxDelay the last pause would be 128 ms.
    assert.ok(pauses[5]! < 100, `pauses ${pauses}`);
    await sleep(30);
    assert.equal(attempts.length, 6);
    health.stop();
  });

  it("runs one recovery at a time however often it is told the database is gone", async () => {
    let recoveries = 0;
    let running = 0;
    let overlapped = false;
    const { health, changes } = monitor({
      recover: async () => {
        recoveries++;
        overlapped ||= running > 0;
        running++;
        await sleep(3);
        running--;
        if (recoveries < 3) throw new Error("still down");
      },
    });
    health.disconnected();
    health.disconnected();
    health.connected();
    health.disconnected(); // a second change while the first recovery still waits
    await until(() => health.state === "connected" && running === 0);
    assert.equal(overlapped, false);
    assert.deepEqual(changes, ["disconnected", "connected", "disconnected", "connected"]);
    health.stop();
  });

  it("stop() during the pause ends the recovery: no attempt, no event", async () => {
    let recoveries = 0;
    const { health, changes } = monitor({
      firstDelay: 5,
      recover: () => {
        recoveries++;
        return Promise.resolve();
      },
    });
    health.disconnected();
    health.stop();
    await sleep(25);
    assert.equal(recoveries, 0);
    assert.deepEqual(changes, ["disconnected"]);
    assert.equal(health.state, "disconnected");
  });

  it("stop() during an attempt: its success is not announced, and no attempt follows", async () => {
    const attempt = deferred();
    let recoveries = 0;
    const { health, changes } = monitor({
      recover: () => {
        recoveries++;
        return attempt.promise;
      },
    });
    health.disconnected();
    await until(() => recoveries === 1);
    health.stop();
    attempt.resolve();
    await sleep(20);
    assert.deepEqual(changes, ["disconnected"]);
    assert.equal(recoveries, 1);
  });
});

describe("ConnectionHealth.stop", () => {
  it("ends events and probes", () => {
    let probes = 0;
    const { health, changes } = monitor({
      probe: () => {
        probes++;
        return Promise.resolve();
      },
    });
    health.connected();
    health.stop();
    health.suspect();
    health.disconnected();
    health.connected();
    assert.equal(probes, 0);
    assert.deepEqual(changes, ["connected"]);
    assert.equal(health.state, "connected");
  });

  it("a probe that fails after stop() announces nothing", async () => {
    const answer = deferred();
    const { health, changes } = monitor({ probe: () => answer.promise });
    health.connected();
    health.suspect();
    health.stop();
    answer.reject(new Error("no answer"));
    await sleep(10);
    assert.deepEqual(changes, ["connected"]);
    assert.equal(health.state, "connected");
  });

  it("its pauses between recovery attempts do not keep the process alive (unref'd timers)", (t) => {
    const timers = () => process.getActiveResourcesInfo().filter((name) => name === "Timeout");
    const before = timers().length;
    const check = setTimeout(() => {}, 1_000); // what a timer that keeps the process alive adds
    const listed = timers().length === before + 1;
    clearTimeout(check);
    // Bun 1.4's getActiveResourcesInfo() lists no timers: nothing to observe there.
    if (!listed && "Bun" in globalThis) return t.skip("this runtime does not list its timers");
    assert.ok(listed, "a timer that keeps the process alive is listed");
    const { health, changes } = monitor({ firstDelay: 1_000 });
    try {
      health.disconnected(); // now waits 1 s before its first attempt
      assert.deepEqual(changes, ["disconnected"]);
      assert.equal(timers().length, before);
    } finally {
      health.stop();
    }
  });
});
