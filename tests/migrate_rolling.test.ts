// The zero-downtime path: the old app (connect-session-knex v5 on Express 4) and the new app
// (this store on Express 5) serve the same table during a rolling deploy, in both directions,
// and the rollback is pointing the app back at the old store.
// Root: the old store creates its table, and migrating is an installer's job.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { PROCEDURES, SCHEMA_VERSION } from "../src/sql.ts";
import { cli } from "./helpers/cli.ts";
import { closing, type Defer } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { login, oldStore, type SessionApp, sessionApp, whoami } from "./helpers/old_stores.ts";
import { type ServerFacts, serverFacts } from "./helpers/server.ts";

let db: TestDatabase;
let knex: Knex;
let server: ServerFacts;

before(async () => {
  db = await createTestDatabase("migrate_rolling");
  knex = db.connect();
  server = await serverFacts(knex);
});
after(() => db?.drop());

/** A connect-session-knex v5 table with the old app serving it; `defer` closes both. */
async function oldDeployment(table: string, defer: Defer): Promise<SessionApp> {
  const old = oldStore("connect-session-knex-v5", { knex, url: db.url, table });
  defer(() => old.close());
  await old.ready;
  const app = await sessionApp(old.store, 4);
  defer(() => app.close());
  return app;
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

test("createtable: true on a connect-session-knex v5 table works at once, without the CLI", () =>
  closing(async (defer) => {
    const table = tableName("v5");
    const oldApp = await oldDeployment(table, defer);
    const cookie = await login(oldApp, "alice");
    const store = newStore(table, true);
    defer(() => store.close());
    const warnings: string[] = [];
    store.on("warning", (message: string) => warnings.push(message));
    await store.ready;
    const newApp = await sessionApp(store, 5);
    defer(() => newApp.close());
    // connect-session-knex v5 names no collation: its sid has the database's default, which is
    // case-insensitive (MariaDB utf8mb4_general_ci, MySQL utf8mb4_0900_ai_ci).
    const collation = server.defaultCollation;
    assert.match(collation, /_ci$/, "the database's default collation is case-insensitive");
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`case-insensitive collation ${collation}:`));
    assert.equal(await whoami(newApp, cookie), "alice");
    await assertSideBySide(oldApp, newApp);
    const status = await cli(["status", "--table", table, "--url", db.url]);
    assert.match(
      status.stdout,
      new RegExp(`procedures: v${SCHEMA_VERSION} \\(${PROCEDURES.length} installed`),
    );
    assert.match(status.stderr, /warning: column .* case-insensitive/);
    // Converting later recreates the procedures, whose sid parameter had the old collation.
    const run = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /drop the procedures typed for the old sid column/);
    await assertSideBySide(oldApp, newApp);
    assert.equal(await whoami(newApp, cookie), "alice");
  }));

test("rolling deploy over a migrated table, then rollback by pointing the app back", () =>
  closing(async (defer) => {
    const table = tableName("rolling");
    const oldApp = await oldDeployment(table, defer);
    const before = await login(oldApp, "logged in before the migration");
    // Step 1: migrate in place while the old app runs.
    const run = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await whoami(oldApp, before), "logged in before the migration");
    // Step 2: the new version rolls out next to the old one (least privilege: createtable false).
    const store = newStore(table, false);
    const closeStore = defer(() => store.close());
    const newApp = await sessionApp(store, 5);
    const closeNewApp = defer(() => newApp.close());
    assert.equal(await whoami(newApp, before), "logged in before the migration");
    await assertSideBySide(oldApp, newApp);
    const fromNew = await login(newApp, "logged in on the new version");
    // Step 3: rollback: the new app goes away, the old one serves every session.
    await closeNewApp();
    await closeStore();
    assert.equal(await whoami(oldApp, fromNew), "logged in on the new version");
    assert.equal(await whoami(oldApp, before), "logged in before the migration");
  }));
