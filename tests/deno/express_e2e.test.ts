// Express 5 with the store, end to end over real HTTP, written for `deno test -A` (npm run
// test:deno): the same scenario the npm package's CommonJS and ESM consumers run, here on the
// TypeScript sources as JSR serves them.
import { after, before, it } from "node:test";
import express from "express";
import session from "express-session";
import { KnexMySQLStore } from "../../mod.ts";
import { createTestDatabase, tableName, type TestDatabase } from "../helpers/database.ts";
import { runExpressScenario } from "../packaging/fixtures/express_scenario.mjs";
import { assertScenario } from "../packaging/helpers.ts";

let database: TestDatabase;

before(async () => {
  database = await createTestDatabase("deno_express");
});

after(async () => {
  await database.drop();
});

it("Express 5 keeps a session across requests, destroys it on logout, stores it in MySQL", async () => {
  const table = tableName();
  const store = new KnexMySQLStore({ connection: database.url, tablename: table });
  await assertScenario(await runExpressScenario({ express, session, store }), database, table);
});
