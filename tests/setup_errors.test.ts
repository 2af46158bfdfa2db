// Set-up errors are permanent until someone fixes them: each is reported once (the `error`
// event, or an error-level line when nobody listens), `ready` rejects with a code and a
// message that names the fix, operations fail at once with it, and `disconnect` is not
// emitted (express-session would serve requests without a session, and the app's routes
// would crash on an undefined req.session). Once the fix is in, the store starts.
// Root for set-up; the errors of an app's own login and privileges use accounts made here.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { createTableSql, procedureName } from "../src/sql.ts";
import { cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import {
  configFromUrl,
  createTestDatabase,
  tableName,
  type TestDatabase,
} from "./helpers/database.ts";
import { oldStore, sessionApp, signedCookie } from "./helpers/old_stores.ts";
import { serverFacts } from "./helpers/server.ts";
import { assertSetupError, watched } from "./helpers/setup_error.ts";
import { sessionFor } from "./helpers/sessions.ts";

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase("setup_errors");
});
after(() => db.drop());

describe("set-up errors", () => {
  it("the mysql (mysqljs) knex client: refused, naming the setting, or working with it", async () => {
    const { kind } = await serverFacts(db.admin);
    await closing(async (defer) => {
      const config = configFromUrl(db.url);
      const connect = (extra: object): Knex =>
        db.connect({ client: "mysql", connection: { ...config, ...extra } });
      const plain = watched({ knex: connect({}), tablename: tableName() });
      defer(() => plain.store.close());
      if (kind === "mysql") {
        // MySQL 8.4 disables and MySQL 9 removed the only login the mysql driver speaks.
        await assertSetupError(plain, "ERR_CONFIG", /use knex\(\{ client: "mysql2"/);
        return;
      }
      // MariaDB: the driver logs in, with utf8 (utf8mb3) as its default character set.
      await assertSetupError(
        plain,
        "ERR_CONFIG",
        /character set is utf8mb3.*set charset: "utf8mb4"/,
      );
      const fixed = watched({ knex: connect({ charset: "utf8mb4" }), tablename: tableName() });
      defer(() => fixed.store.close());
      await fixed.store.ready;
      await fixed.store.set("ünïcødé 😀", sessionFor({ who: "zoë 😀" }));
      assert.equal(
        (await fixed.store.get("ünïcødé 😀") as unknown as { who: string }).who,
        "zoë 😀",
      );
    });
  });

  it("a wrong password: ERR_CONFIG naming the credentials, no disconnect", async () => {
    const { url } = await db.account(["SELECT"]);
    const wrong = new URL(url);
    wrong.password = "not-the-password";
    await closing(async (defer) => {
      const store = watched({ connection: wrong.toString(), tablename: tableName() });
      defer(() => store.store.close());
      const error = await assertSetupError(
        store,
        "ERR_CONFIG",
        /refused the login.*user and password/,
      );
      assert.ok(!error.message.includes("not-the-password"));
    });
  });

  it("a connect-session-knex v5 account on its table: the missing privilege and the fix (migrate --from), a 500 not a crash", async () => {
    const table = tableName("v5");
    const old = oldStore("connect-session-knex-v5", { knex: db.admin, url: db.url, table });
    await old.ready;
    // The account a v5 app usually runs as.
    const v5 = await db.account(["SELECT, INSERT, UPDATE, DELETE, CREATE"]);
    await closing(async (defer) => {
      const app = watched({ connection: v5.url, tablename: table }); // createtable: true
      defer(() => app.store.close());
      // The table is an old store's (not stamped): the set-up that fits it is migrate --from,
      // as `status` says, not install.
      const error = await assertSetupError(
        app,
        "ERR_ACCESS_DENIED",
        new RegExp(
          `may not .*\`${table}\` is an old store's table .*` +
            `npx knex-mysql-session migrate --from ${table}\` once .*grant .* --apply.*` +
            "createtable: false",
        ),
      );
      assert.doesNotMatch(error.message, /knex-mysql-session install/);
      // The first thing the v5 table lacks for schema 2 is the owner column.
      assert.match(error.message, /needs the columns `user_id` and `destroyed`.*GRANT ALTER ON/);

      // An Express app on it answers with the store's error, instead of crashing on an
      // undefined req.session.
      const server = await sessionApp(app.store, 5);
      defer(() => server.close());
      // A returning visitor: express-session reads the session before the route runs.
      const response = await fetch(`${server.url}/whoami`, {
        headers: { cookie: signedCookie("a-returning-visitor") },
      });
      assert.equal(response.status, 500);
      assert.match(await response.text(), /ERR_ACCESS_DENIED|knex-mysql-session/);

      // The fix the message names: the owner migrates and grants; the same app starts.
      const migrated = await cli(["migrate", "--from", table, "--url", db.url]);
      assert.equal(migrated.code, 0, migrated.stderr);
      const granted = await cli([
        "grant",
        `${v5.name}@%`,
        "--table",
        table,
        "--apply",
        "--url",
        db.url,
      ]);
      assert.equal(granted.code, 0, granted.stderr);
      await app.store.ready;
      await app.store.set("after-fix", sessionFor({ ok: true }));
      assert.deepEqual((await app.store.get("after-fix") as unknown as { ok: boolean }).ok, true);

      // Now the store's own (stamped) table: a missing procedure that the account may not
      // create is fixed by install, and migrate is not named.
      await db.admin.raw(`DROP PROCEDURE \`${procedureName(table, "touch")}\``);
      const stamped = watched({ connection: v5.url, tablename: table });
      defer(() => stamped.store.close());
      const refusal = await assertSetupError(
        stamped,
        "ERR_ACCESS_DENIED",
        new RegExp(
          `may not .*npx knex-mysql-session install --table ${table} .*grant .* --apply.*` +
            "createtable: false",
        ),
      );
      assert.doesNotMatch(refusal.message, /migrate/);
    });
  });

  it("procedures made for another layout are refused by name and layout, and replaced with createtable", async () => {
    const table = tableName("relaid");
    await closing(async (defer) => {
      const first = new KnexMySQLStore({ knex: db.admin, tablename: table, clearInterval: 0 });
      await first.ready;
      await first.close();
      // The table is made again with another session-id column; the procedures stay behind.
      await db.admin.raw(`DROP TABLE \`${table}\``);
      await db.admin.raw(createTableSql({ table, sid: "session_key" }, "utf8mb4_bin"));
      const checking = watched({
        knex: db.admin,
        tablename: table,
        sidfieldname: "session_key",
        createtable: false,
      });
      defer(() => checking.store.close());
      await assertSetupError(
        checking,
        "ERR_SCHEMA",
        /were made for another table layout .*npx knex-mysql-session install --table \S+ --sid session_key/,
      );
      const installing = new KnexMySQLStore({
        knex: db.admin,
        tablename: table,
        sidfieldname: "session_key",
        clearInterval: 0,
      });
      defer(() => installing.close());
      installing.on("warning", () => {});
      await installing.set("k", sessionFor({ v: 1 }));
      await checking.store.ready; // the check runs again on `ready`, and passes
      assert.equal((await checking.store.get("k") as unknown as { v: number }).v, 1);
    });
  });

  it("without an error listener, a set-up error is printed once at error level", async () => {
    const printed: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void printed.push(args);
    try {
      await closing(async (defer) => {
        const store = new KnexMySQLStore({
          knex: db.admin,
          tablename: tableName("none"),
          createtable: false,
          clearInterval: 0,
        });
        defer(() => store.close());
        await assert.rejects(store.ready, { code: "ERR_SCHEMA" });
        for (let i = 0; i < 3; i++) await assert.rejects(store.get("x"), { code: "ERR_SCHEMA" });
      });
    } finally {
      console.error = original;
    }
    assert.equal(printed.length, 1, JSON.stringify(printed));
    assert.match(String(printed[0]![0]), /^knex-mysql-session: table `\w+` does not exist/);
  });
});
