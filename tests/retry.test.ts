// Transient failures are retried with backoff and counted; others surface at once. The lock is
// real: another transaction holds the row while the store writes it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Knex } from "knex";
import type { KnexMySQLStore, RetryEvent } from "../mod.ts";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, everyConnectionRuns, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { procedureName } from "../src/sql.ts";

let database: TestDatabase;
let app: AppAccount;
let impatient: Knex;
const stores: KnexMySQLStore[] = [];

before(async () => {
  database = await createTestDatabase("retry");
  app = await appAccount(database);
  // Lock waits give up after 1 s (error 1205) instead of 50 s.
  impatient = app.knex(everyConnectionRuns("SET SESSION innodb_lock_wait_timeout = 1", 4));
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await database.drop();
});

function open(options: { maxRetries?: number } = {}) {
  const store = app.store({ knex: impatient, disableDbCleanup: true, ...options });
  stores.push(store);
  return store;
}

/** Holds a row lock on `sid` for `ms` from another connection; `released` settles after. */
async function holdRow(sid: string, ms: number): Promise<{ released: Promise<void> }> {
  const transaction = await database.admin.transaction();
  await transaction.raw("SELECT sid FROM sessions WHERE sid = ? FOR UPDATE", [sid]);
  const released = new Promise<void>((resolve) =>
    setTimeout(() => transaction.commit().then(() => resolve()), ms)
  );
  return { released };
}

describe("retries", () => {
  it("a lock wait timeout is retried, counted, emitted, and the write lands", async () => {
    const store = open({ maxRetries: 3 });
    await store.set("busy", sessionFor({ v: 1 }));
    const events: RetryEvent[] = [];
    store.on("retry", (event: RetryEvent) => events.push(event));
    const { released } = await holdRow("busy", 2_500);
    await store.set("busy", sessionFor({ v: 2 }));
    await released;
    assert.ok(events.length >= 1);
    assert.equal(events[0]!.operation, "set");
    assert.equal(events[0]!.attempt, 1);
    assert.equal((events[0]!.error as { errno: number }).errno, 1205);
    assert.equal(store.stats().retries, events.length);
    assert.equal((await store.get("busy") as unknown as { v: number }).v, 2);
  });

  it("with maxRetries 0 the lock wait timeout surfaces and nothing changes", async () => {
    const store = open({ maxRetries: 0 });
    await store.set("busy", sessionFor({ v: 3 }));
    const { released } = await holdRow("busy", 2_500);
    await assert.rejects(store.set("busy", sessionFor({ v: 4 })), {
      code: "ERR_DATABASE",
      message: /set failed: Lock wait timeout/,
    });
    await released;
    assert.equal(store.stats().retries, 0);
    assert.equal((await store.get("busy") as unknown as { v: number }).v, 3);
  });

  it("an error that is not transient is not retried", async () => {
    const store = open({ maxRetries: 3 });
    await store.ready;
    await database.admin.raw(`DROP PROCEDURE ${procedureName("sessions", "destroy")}`); // as root
    // The app account's EXECUTE went with the procedure: the server says "denied".
    await assert.rejects(store.destroy("x"), /destroy failed: execute command denied/);
    assert.equal(store.stats().retries, 0);
  });
});
