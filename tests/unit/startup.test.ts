// Startup, the store's schema check: run once at a time, its facts kept once it has passed,
// a set-up error remembered (operations fail at once with it) until its recheck time, and what
// close() does. The checks themselves, against servers, are in tests/setup_errors.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SessionStoreError } from "../../src/errors.ts";
import type { ServerFacts } from "../../src/schema_setup.ts";
import { Startup, type StartupOptions } from "../../src/startup.ts";
import { withClock } from "../helpers/clock.ts";

const RECHECK_AFTER = 30_000;
const QUERY_TIMEOUT = 10_000;

/** A promise and the functions that settle it. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

function facts(maxAllowedPacket = 64 << 20): ServerFacts {
  return { server: "mysql", maxAllowedPacket, sidComparesLikeJavaScript: true, warnings: [] };
}

/**
 * A Startup whose check gives the next of `outcomes` (facts, or an error to reject with) or,
 * past their end, facts; and a record of its calls.
 */
function startup(outcomes: (ServerFacts | Error | Promise<ServerFacts>)[] = []) {
  const calls = {
    checks: 0,
    ready: [] as ServerFacts[],
    setupErrors: [] as SessionStoreError[],
    unreachable: 0,
    retries: [] as { attempt: number; error: unknown }[],
  };
  const options: StartupOptions = {
    check: () => {
      const outcome = outcomes[calls.checks++] ?? facts();
      return outcome instanceof Error ? Promise.reject(outcome) : Promise.resolve(outcome);
    },
    onReady: (facts) => calls.ready.push(facts),
    onSetupError: (error) => calls.setupErrors.push(error),
    onUnreachable: () => calls.unreachable++,
    onRetry: (attempt, error) => calls.retries.push({ attempt, error }),
    recheckAfter: RECHECK_AFTER,
    queryTimeout: QUERY_TIMEOUT,
    maxRetries: Infinity,
    retryDelay: 25,
  };
  return { startup: new Startup(options), calls };
}

/** How far the store's clock has moved on in the running test. */
let elapsed = 0;

/** Runs `run` on a store clock that moves only by `elapsed` (wall and monotonic time alike). */
function onFakeClock(run: () => Promise<void>): () => Promise<void> {
  return () => {
    elapsed = 0;
    return withClock({
      now: () => Date.UTC(2030, 0, 1) + elapsed,
      monotonic: () => 1_000 + elapsed,
      // A resend's pause moves the clock on instead of waiting.
      rest: (ms) => {
        elapsed += ms;
        return Promise.resolve();
      },
    }, run);
  };
}

/** The rejection of a check that failed with `cause`: the store's error, naming the start-up. */
const failedWith = (cause: unknown) => (error: unknown) =>
  error instanceof SessionStoreError && error.cause === cause &&
  error.message.includes("start-up failed");

const setupError = (code: "ERR_SCHEMA" | "ERR_ACCESS_DENIED" | "ERR_CONFIG") =>
  new SessionStoreError(code, `a ${code} for the test`);

describe("Startup.started", () => {
  it(
    "runs the check, calls onReady with its facts, and keeps them",
    onFakeClock(async () => {
      const passed = facts(1234);
      const { startup: s, calls } = startup([passed]);
      assert.equal(s.facts, undefined);
      assert.equal(await s.started(), passed);
      assert.equal(s.facts, passed);
      assert.deepEqual(calls.ready, [passed]);
      assert.equal(await s.started(), passed);
      assert.equal(await s.ready(), passed);
      assert.equal(calls.checks, 1);
      assert.equal(calls.ready.length, 1);
    }),
  );

  it(
    "runs one check at a time: calls while it runs share it",
    onFakeClock(async () => {
      const answer = deferred<ServerFacts>();
      const { startup: s, calls } = startup([answer.promise]);
      const first = s.started();
      const second = s.started();
      const third = s.ready();
      assert.equal(calls.checks, 1);
      const passed = facts(99);
      answer.resolve(passed);
      assert.deepEqual(await Promise.all([first, second, third]), [passed, passed, passed]);
      assert.equal(calls.checks, 1);
      assert.equal(calls.ready.length, 1);
    }),
  );

  it(
    "a check that got no answer calls onUnreachable and is not remembered: the next call checks again",
    onFakeClock(async () => {
      const timeout = new SessionStoreError("ERR_TIMEOUT", "no answer");
      const lost = new Error("connect ECONNREFUSED");
      const passed = facts(5);
      const { startup: s, calls } = startup([timeout, lost, passed]);
      await assert.rejects(s.started(), failedWith(timeout));
      assert.equal(calls.unreachable, 1);
      await assert.rejects(s.started(), failedWith(lost));
      assert.equal(calls.unreachable, 2);
      assert.equal(await s.started(), passed);
      assert.equal(calls.checks, 3);
      assert.deepEqual(calls.setupErrors, []);
      assert.equal(calls.ready.length, 1);
      assert.deepEqual(calls.retries, [], "a check that got no answer is not run again at once");
    }),
  );

  it(
    "a check the server rolled back (a cluster's conflicting DDL: a deadlock) runs again at once",
    onFakeClock(async () => {
      const deadlock = Object.assign(new Error("Deadlock found when trying to get lock"), {
        errno: 1213,
      });
      const lockWait = Object.assign(new Error("Lock wait timeout exceeded"), { errno: 1205 });
      const passed = facts(7);
      const { startup: s, calls } = startup([deadlock, lockWait, passed]);
      assert.equal(await s.started(), passed);
      assert.equal(calls.checks, 3);
      assert.deepEqual(calls.retries, [
        { attempt: 1, error: deadlock },
        { attempt: 2, error: lockWait },
      ]);
      assert.equal(calls.unreachable, 0);
      assert.deepEqual(calls.ready, [passed]);
    }),
  );

  it(
    "a check rolled back until queryTimeout has passed fails with the server's error",
    onFakeClock(async () => {
      const deadlock = Object.assign(new Error("Deadlock found"), { errno: 1213 });
      const { startup: s, calls } = startup(Array(1_000).fill(deadlock));
      await assert.rejects(s.started(), failedWith(deadlock));
      assert.ok(calls.checks > 2 && calls.checks < 1_000, `${calls.checks} checks`);
      assert.ok(elapsed < QUERY_TIMEOUT, `resent for ${elapsed} ms`);
      assert.equal(calls.unreachable, 1);
    }),
  );

  for (const code of ["ERR_SCHEMA", "ERR_ACCESS_DENIED", "ERR_CONFIG"] as const) {
    it(
      `a set-up error (${code}) is reported once, then given at once until recheckAfter`,
      onFakeClock(async () => {
        const failure = setupError(code);
        const { startup: s, calls } = startup([failure]);
        await assert.rejects(s.started(), (error) => error === failure);
        assert.deepEqual(calls.setupErrors, [failure]);
        assert.equal(calls.unreachable, 0);
        elapsed = RECHECK_AFTER - 1;
        await assert.rejects(s.started(), (error) => error === failure);
        await assert.rejects(s.started(), (error) => error === failure);
        assert.equal(calls.checks, 1);
        assert.equal(calls.setupErrors.length, 1);
        assert.equal(s.facts, undefined);
        elapsed = RECHECK_AFTER; // the recheck: the fix was made
        assert.deepEqual(await s.started(), facts());
        assert.equal(calls.checks, 2);
        assert.equal(calls.ready.length, 1);
      }),
    );
  }

  it(
    "a set-up error's recheck time counts from the last failed check",
    onFakeClock(async () => {
      const first = setupError("ERR_SCHEMA");
      const second = setupError("ERR_ACCESS_DENIED");
      const { startup: s, calls } = startup([first, second]);
      await assert.rejects(s.started(), (error) => error === first);
      elapsed = RECHECK_AFTER + 5_000;
      await assert.rejects(s.started(), (error) => error === second); // checked again, failed again
      assert.deepEqual(calls.setupErrors, [first, second]);
      elapsed += RECHECK_AFTER - 1;
      await assert.rejects(s.started(), (error) => error === second);
      assert.equal(calls.checks, 2);
      elapsed += 1;
      await s.started();
      assert.equal(calls.checks, 3);
    }),
  );

  it(
    "a check that passes after a set-up error forgets it",
    onFakeClock(async () => {
      const failure = setupError("ERR_CONFIG");
      const { startup: s, calls } = startup([failure, facts(), new Error("unreachable")]);
      await assert.rejects(s.started());
      await s.ready();
      s.invalidate();
      // Had the set-up error stayed, this would be it, without a check.
      await assert.rejects(s.started(), /unreachable/);
      assert.equal(calls.checks, 3);
      assert.equal(calls.unreachable, 1);
    }),
  );
});

describe("Startup.ready", () => {
  it(
    "checks again at once after a set-up error",
    onFakeClock(async () => {
      const failure = setupError("ERR_SCHEMA");
      const passed = facts(7);
      const { startup: s, calls } = startup([failure, passed]);
      await assert.rejects(s.started(), (error) => error === failure);
      assert.equal(await s.ready(), passed);
      assert.equal(calls.checks, 2);
      assert.deepEqual(calls.ready, [passed]);
      assert.equal(await s.started(), passed);
    }),
  );

  it(
    "after a set-up error that stays, the error is remembered again from that check",
    onFakeClock(async () => {
      const first = setupError("ERR_SCHEMA");
      const second = setupError("ERR_SCHEMA");
      const { startup: s, calls } = startup([first, second]);
      await assert.rejects(s.started(), (error) => error === first);
      elapsed = 10_000;
      await assert.rejects(s.ready(), (error) => error === second);
      assert.equal(calls.checks, 2);
      elapsed = 10_000 + RECHECK_AFTER - 1;
      await assert.rejects(s.started(), (error) => error === second);
      assert.equal(calls.checks, 2);
    }),
  );
});

describe("Startup.invalidate", () => {
  it(
    "drops the facts: the next call checks again and calls onReady again",
    onFakeClock(async () => {
      const first = facts(1);
      const second = facts(2);
      const { startup: s, calls } = startup([first, second]);
      await s.started();
      s.invalidate();
      assert.equal(s.facts, undefined);
      assert.equal(await s.started(), second);
      assert.equal(s.facts, second);
      assert.equal(calls.checks, 2);
      assert.deepEqual(calls.ready, [first, second]);
    }),
  );

  it(
    "during a check: that check's callers get its facts, and the next call checks again",
    onFakeClock(async () => {
      const pending = deferred<ServerFacts>();
      const stale = facts(1);
      const fresh = facts(2);
      const { startup: s, calls } = startup([pending.promise, fresh]);
      const running = s.started();
      s.invalidate(); // the schema changed while the check was under way
      pending.resolve(stale);
      assert.equal(await running, stale);
      assert.equal(s.facts, undefined, "facts from before the change are not kept");
      assert.equal(await s.started(), fresh);
      assert.equal(calls.checks, 2);
    }),
  );
});

describe("Startup.close", () => {
  const isClosed = (error: unknown) =>
    error instanceof SessionStoreError && error.code === "ERR_STORE_CLOSED" &&
    /closed/.test(error.message);

  it(
    "started() and ready() reject with ERR_STORE_CLOSED, without a check",
    onFakeClock(async () => {
      const { startup: s, calls } = startup();
      await s.started();
      await s.close();
      assert.equal(s.facts, undefined);
      await assert.rejects(s.started(), isClosed);
      await assert.rejects(s.ready(), isClosed);
      assert.equal(calls.checks, 1);
    }),
  );

  it(
    "also after a set-up error",
    onFakeClock(async () => {
      const { startup: s, calls } = startup([setupError("ERR_SCHEMA")]);
      await assert.rejects(s.started());
      await s.close();
      await assert.rejects(s.started(), isClosed);
      await assert.rejects(s.ready(), isClosed);
      assert.equal(calls.checks, 1);
    }),
  );

  it(
    "waits for a check under way, whose facts are not kept nor announced",
    onFakeClock(async () => {
      const answer = deferred<ServerFacts>();
      const { startup: s, calls } = startup([answer.promise]);
      const running = s.started();
      let closed = false;
      const closing = s.close().then(() => {
        closed = true;
      });
      await sleep(5);
      assert.equal(closed, false);
      answer.resolve(facts());
      await closing;
      await assert.rejects(running, isClosed);
      assert.equal(s.facts, undefined);
      assert.deepEqual(calls.ready, []);
    }),
  );

  it(
    "a check under way that gets no answer does not call onUnreachable",
    onFakeClock(async () => {
      const answer = deferred<ServerFacts>();
      const { startup: s, calls } = startup([answer.promise]);
      const running = s.started();
      const closing = s.close();
      const lost = new Error("connect ECONNREFUSED");
      answer.reject(lost);
      await closing;
      await assert.rejects(running, failedWith(lost));
      assert.equal(calls.unreachable, 0);
    }),
  );

  it(
    "a check under way that the server rolls back is not run again",
    onFakeClock(async () => {
      const answer = deferred<ServerFacts>();
      const { startup: s, calls } = startup([answer.promise]);
      const running = s.started();
      const closing = s.close();
      const deadlock = Object.assign(new Error("Deadlock found"), { errno: 1213 });
      answer.reject(deadlock);
      await closing;
      await assert.rejects(running, failedWith(deadlock));
      assert.equal(calls.checks, 1);
      assert.deepEqual(calls.retries, []);
    }),
  );

  it(
    "close() with no check under way resolves",
    onFakeClock(async () => {
      const { startup: s, calls } = startup();
      await s.close();
      await s.close();
      assert.equal(calls.checks, 0);
    }),
  );
});
