// Expiry is UTC wall-clock time computed by the app: neither the Node process's TZ nor the
// connection's time_zone changes what is stored or what counts as expired.
import assert from "node:assert/strict";
import process from "node:process";
import { after, before, it } from "node:test";
import type { Knex } from "knex";
import type { KnexMySQLStore } from "../mod.ts";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { later } from "./helpers/clock.ts";
import { createTestDatabase, everyConnectionRuns, type TestDatabase } from "./helpers/database.ts";

process.env.TZ = "America/Los_Angeles";
const processTzApplied = new Date(Date.UTC(2026, 0, 1)).getTimezoneOffset() !== 0;

let database: TestDatabase;
let app: AppAccount;
let tokyo: Knex;
let stores: KnexMySQLStore[];

function zoned(timeZone: string): Knex {
  return app.knex(everyConnectionRuns(`SET time_zone = '${timeZone}'`, 2));
}

before(async () => {
  database = await createTestDatabase("time");
  app = await appAccount(database);
  tokyo = zoned("+09:00");
  stores = [
    app.store({ knex: tokyo, disableDbCleanup: true }),
    app.store({ knex: zoned("-05:00"), disableDbCleanup: true }),
  ];
  await Promise.all(stores.map((store) => store.ready));
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await database.drop();
});

it("stores the cookie's expiry as UTC, whatever TZ and time_zone say", {
  skip: processTzApplied ? false : "this runtime ignores TZ set at run time",
}, async () => {
  const [atTokyo, atNewYork] = stores as [KnexMySQLStore, KnexMySQLStore];
  const expires = new Date(Date.UTC(2031, 6, 4, 12, 30, 15));
  await atTokyo.set("utc", { cookie: { expires } } as never);
  const [[row]] = await tokyo.raw("SELECT CAST(expired AS CHAR) AS expired FROM sessions");
  assert.equal(row.expired, "2031-07-04 12:30:15");
  // The other zone reads the same session and the same expiry.
  assert.ok(await atNewYork.get("utc"));
  const [[seen]] = await database.admin.raw(
    "SELECT TIMESTAMPDIFF(SECOND, '1970-01-01', expired) AS at FROM sessions WHERE sid = 'utc'",
  );
  assert.equal(Number(seen.at) * 1000, expires.getTime());
});

it("a session expires at the same instant for every time zone", async () => {
  const [atTokyo, atNewYork] = stores as [KnexMySQLStore, KnexMySQLStore];
  // Nine hours either way would be the bug: a session good for 3 s must be live now ...
  await atTokyo.set("soon", { cookie: { expires: new Date(Date.now() + 3_000) } } as never);
  assert.ok(await atTokyo.get("soon"));
  assert.ok(await atNewYork.get("soon"));
  const live = await atNewYork.length();
  assert.equal(await atTokyo.length(), live);
  // ... and gone for both 4 s later (by the store's clock: the app's "now" is what counts).
  await later(4_000, async () => {
    assert.equal(await atTokyo.get("soon"), null);
    assert.equal(await atNewYork.get("soon"), null);
    assert.equal(await atNewYork.length(), live - 1);
  });
});
