// The zero-downtime path: the old app (connect-session-knex v5 on Express 4) and the new app
// (this store on Express 5) serve the same table during a rolling deploy, in both directions,
// and the rollback is pointing the app back at the old store.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { cli } from "./helpers/cli.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { login, oldStore, type SessionApp, sessionApp, whoami } from "./helpers/old_stores.ts";

let db: TestDatabase;
let knex: Knex;

before(async () => {
  db = await createTestDatabase("migrate_rolling");
  knex = db.connect();
});
after(() => db.drop());

/** A connect-session-knex v5 table with the old app serving it. */
async function oldDeployment(table: string): Promise<SessionApp> {
  const old = oldStore("connect-session-knex-v5", { knex, url: db.url, table });
  await old.ready;
  return await sessionApp(old.store, 4);
}

function newStore(table: string, createtable: boolean): KnexMySQLStore {
  return new KnexMySQLStore({ knex, tablename: table, createtable, clearInterval: 0 });
}

/** Sessions started, read and ended on either app are seen the same way by the other. */
async function assertSideBySide(oldApp: SessionApp, newApp: SessionApp) {
  const fromOld = await login(oldApp, "started on the old app");
  const fromNew = await login(newApp, "started on the new app");
  assert.equal(await whoami(newApp, fromOld), "started on the old app");
  assert.equal(await whoami(oldApp, fromNew), "started on the new app");
  await fetch(`${newApp.url}/logout`, { headers: { cookie: fromOld } }).then((r) => r.text());
  assert.equal(await whoami(oldApp, fromOld), "nobody");
  await fetch(`${oldApp.url}/logout`, { headers: { cookie: fromNew } }).then((r) => r.text());
  assert.equal(await whoami(newApp, fromNew), "nobody");
}

test("createtable: true on a connect-session-knex v5 table works at once, without the CLI", async () => {
  const table = tableName("v5");
  const oldApp = await oldDeployment(table);
  const cookie = await login(oldApp, "alice");
  const store = newStore(table, true);
  const warnings: string[] = [];
  store.on("warning", (message: string) => warnings.push(message));
  await store.ready;
  const newApp = await sessionApp(store, 5);
  try {
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /case-insensitive collation utf8mb4_general_ci/);
    assert.equal(await whoami(newApp, cookie), "alice");
    await assertSideBySide(oldApp, newApp);
    const status = await cli(["status", "--table", table, "--url", db.url]);
    assert.match(status.stdout, /procedures: v1 \(5 installed/);
    assert.match(status.stderr, /warning: column .* case-insensitive/);
    // Converting later recreates the procedures, whose sid parameter had the old collation.
    const run = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /drop the procedures typed for the old sid column/);
    await assertSideBySide(oldApp, newApp);
    assert.equal(await whoami(newApp, cookie), "alice");
  } finally {
    await newApp.close();
    await oldApp.close();
    await store.close();
  }
});

test("rolling deploy over a migrated table, then rollback by pointing the app back", async () => {
  const table = tableName("rolling");
  const oldApp = await oldDeployment(table);
  const before = await login(oldApp, "logged in before the migration");
  // Step 1: migrate in place while the old app runs.
  const run = await cli(["migrate", "--from", table, "--url", db.url]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(await whoami(oldApp, before), "logged in before the migration");
  // Step 2: the new version rolls out next to the old one (least privilege: createtable false).
  const store = newStore(table, false);
  const newApp = await sessionApp(store, 5);
  let fromNew: string;
  try {
    assert.equal(await whoami(newApp, before), "logged in before the migration");
    await assertSideBySide(oldApp, newApp);
    fromNew = await login(newApp, "logged in on the new version");
  } finally {
    // Step 3: rollback: the new app goes away, the old one serves every session.
    await newApp.close();
    await store.close();
  }
  try {
    assert.equal(await whoami(oldApp, fromNew), "logged in on the new version");
    assert.equal(await whoami(oldApp, before), "logged in before the migration");
  } finally {
    await oldApp.close();
  }
});
