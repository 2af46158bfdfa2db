// Busy is not down: on a healthy server, a knex pool whose connections are all in use makes
// an operation fail with ERR_POOL_TIMEOUT at its deadline, and the store does not announce a
// lost database (express-session would serve requests without sessions). Beyond a bound,
// statements waiting for a connection are refused at once instead of queueing without end.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { appAccount } from "./helpers/app_account.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

const QUERY_TIMEOUT = 1_000;

describe("a busy pool", () => {
  let db: TestDatabase;

  before(async () => {
    db = await createTestDatabase("busy_pool");
  });
  after(() => db.drop());

  it("times out with ERR_POOL_TIMEOUT, and no disconnect", async () => {
    await closing(async (defer) => {
      const app = await appAccount(db, { table: tableName() });
      const knex = app.knex({ pool: { min: 0, max: 2 } });
      const store = app.store({
        knex,
        clearInterval: 0,
        queryTimeout: QUERY_TIMEOUT,
      });
      defer(() => store.close());
      const changes: string[] = [];
      store.on("disconnect", () => changes.push("disconnect"));
      await store.ready;
      await store.set("s", sessionFor({ n: 1 }));
      // The app's own slow queries hold both connections of the pool.
      // (knex runs a query builder only once it is awaited: then() starts it.)
      let slowDone = false;
      const slow = Promise.all([1, 2].map(() => knex.raw("SELECT SLEEP(5)"))).then(() => {
        slowDone = true;
      });
      await sleep(100);
      await assert.rejects(store.get("s"), {
        code: "ERR_POOL_TIMEOUT",
        message: /no free connection in knex's pool within \d+ ms: all 2 are in use/,
      });
      // It gave up at its deadline, not when a connection came free.
      assert.equal(slowDone, false);
      await slow;
      // The probe that the slow statement asked for found the server answering.
      await sleep(500);
      assert.deepEqual(changes, []);
      assert.equal((await store.get("s") as unknown as { n: number }).n, 1);
    });
  });

  it("refuses statements beyond the waiting bound at once (ERR_QUEUE_FULL)", async () => {
    await closing(async (defer) => {
      const app = await appAccount(db, { table: tableName() });
      const knex = app.knex({ pool: { min: 0, max: 1 } });
      const store = app.store({
        knex,
        clearInterval: 0,
        queryTimeout: 5_000,
      });
      defer(() => store.close());
      await store.ready;
      const slow = knex.raw("SELECT SLEEP(1)").then(() => {});
      await sleep(50);
      const outcomes = await Promise.all(
        Array.from(
          { length: 1_200 },
          (_, i) => store.get(`s${i}`).then(() => "ok", (error: { code?: string }) => error.code),
        ),
      );
      await slow;
      const refused = outcomes.filter((code) => code === "ERR_QUEUE_FULL").length;
      // One statement asks the pool, 1000 wait behind it, the rest are refused at once.
      assert.equal(refused, 1_200 - 1_001, JSON.stringify([...new Set(outcomes)]));
      assert.equal(outcomes.filter((code) => code === "ok").length, 1_001);
    });
  });
});
