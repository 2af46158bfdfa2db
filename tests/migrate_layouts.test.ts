// Every layout the old stores created migrates: tables and sessions made by the real old
// packages (connect-session-knex v2-v5, express-mysql-session v2-v3) behind a real Express 4
// app, converted in place or copied by `migrate`, then read through this store and a new
// Express 5 app with the old app's cookies.
// Root: migrating (ALTER, copying tables) is an installer's job, and the old stores create tables.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { toSqlDateTime } from "../src/time.ts";
import { assertExactLayout, cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import {
  call,
  login,
  oldSession,
  oldStore,
  type OldStoreName,
  sessionApp,
  sidOfCookie,
  signedCookie,
  type V2Driver,
  whoami,
} from "./helpers/old_stores.ts";
import { type ServerFacts, serverFacts } from "./helpers/server.ts";

let db: TestDatabase;
let knex: Knex;
let server: ServerFacts;
/**
 * express-mysql-session v2 on MariaDB through its own `mysql` pool, as its apps ran; elsewhere
 * (MySQL 8.4 and 9 refuse the `mysql` driver's login) through a mysql2 pool it is given.
 */
let v2Driver: V2Driver;

before(async () => {
  db = await createTestDatabase("migrate_layouts");
  knex = db.connect();
  server = await serverFacts(knex);
  v2Driver = server.kind === "mariadb" ? "mysql" : "mysql2";
});
after(() => db?.drop());

interface Case {
  name: string;
  old: OldStoreName;
  /** Creates the table the way an older release (or an older server) did; else the package does. */
  create?: (table: string) => Promise<unknown>;
  /** Copy into a new table instead of converting in place. */
  copy: boolean;
}

const USERS = ["alice", "Bob", 'ünïcødé 😀 \u2028 "quoted"', "dave", "eve"];

/** connect-session-knex v1's table (and v2-v5's on a server without JSON): TEXT, TIMESTAMP. */
function knexTable(sess: "text" | "json", expired: "timestamp" | "datetime", indexed: boolean) {
  return (table: string) =>
    knex.schema.createTable(table, (t) => {
      t.string("sid").primary();
      (sess === "text" ? t.text("sess") : t.json("sess")).notNullable();
      const column = expired === "timestamp" ? t.timestamp("expired") : t.dateTime("expired");
      column.notNullable();
      if (indexed) column.index();
    });
}

/** express-mysql-session's schema.sql, with `data` as TEXT (its releases before MEDIUMTEXT). */
function expressTextTable(table: string) {
  return knex.raw(
    `CREATE TABLE \`${table}\` (session_id varchar(128) COLLATE utf8mb4_bin NOT NULL, ` +
      "expires int(11) unsigned NOT NULL, data text COLLATE utf8mb4_bin, " +
      "PRIMARY KEY (session_id)) ENGINE=InnoDB",
  );
}

const CASES: Case[] = [
  {
    name: "connect-session-knex v2 (JSON, DATETIME, index, ci sid), in place",
    old: "connect-session-knex-v2",
    copy: false,
  },
  { name: "connect-session-knex v3, copied", old: "connect-session-knex-v3", copy: true },
  { name: "connect-session-knex v4, in place", old: "connect-session-knex-v4", copy: false },
  { name: "connect-session-knex v5, copied", old: "connect-session-knex-v5", copy: true },
  {
    name: "sess TEXT, expired TIMESTAMP, no index (v1 era), in place",
    old: "connect-session-knex-v2",
    create: knexTable("text", "timestamp", false),
    copy: false,
  },
  {
    name: "sess TEXT, expired TIMESTAMP, no index, copied",
    old: "connect-session-knex-v5",
    create: knexTable("text", "timestamp", false),
    copy: true,
  },
  {
    name: "sess TEXT, expired DATETIME with index, in place",
    old: "connect-session-knex-v5",
    create: knexTable("text", "datetime", true),
    copy: false,
  },
  {
    name: "sess JSON, expired DATETIME, no index, copied",
    old: "connect-session-knex-v4",
    create: knexTable("json", "datetime", false),
    copy: true,
  },
  {
    name: "express-mysql-session v2 (MEDIUMTEXT), in place",
    old: "express-mysql-session-v2",
    copy: false,
  },
  {
    name: "express-mysql-session v3 (MEDIUMTEXT), copied",
    old: "express-mysql-session-v3",
    copy: true,
  },
  {
    name: "express-mysql-session v3 with TEXT data, in place",
    old: "express-mysql-session-v3",
    create: expressTextTable,
    copy: false,
  },
  {
    name: "express-mysql-session v2 with TEXT data, copied",
    old: "express-mysql-session-v2",
    create: expressTextTable,
    copy: true,
  },
];

interface OldRow {
  sid: string;
  /** The stored session, parsed (mysql2 parses a JSON column itself, TEXT comes as text). */
  sess: unknown;
  /** UTC 'YYYY-MM-DD hh:mm:ss', as this store's `expired` must hold it. */
  expired: string;
}

async function oldRows(table: string, express: boolean): Promise<OldRow[]> {
  const [rows] = express
    ? await knex.raw(`SELECT session_id AS sid, data AS sess, expires FROM \`${table}\``)
    : await knex.raw(`SELECT sid, sess, CAST(expired AS CHAR) AS expired FROM \`${table}\``);
  return (rows as Record<string, unknown>[]).map((row) => ({
    sid: String(row.sid),
    sess: typeof row.sess === "string" ? JSON.parse(row.sess) : row.sess,
    expired: express ? toSqlDateTime(Number(row.expires) * 1000) : String(row.expired),
  }));
}

describe("migrate: every old layout, with the old packages' own data", () => {
  for (const layout of CASES) {
    test(layout.name, () =>
      closing(async (defer) => {
        const express = layout.old.startsWith("express-mysql-session");
        const table = tableName("old");
        if (layout.create) await layout.create(table);
        const old = oldStore(layout.old, {
          knex,
          url: db.url,
          table,
          createTable: !layout.create,
          v2Driver,
        });
        const closeOld = defer(() => old.close());
        await old.ready;
        const oldApp = await sessionApp(old.store, 4);
        const closeOldApp = defer(() => oldApp.close());
        const cookies = new Map<string, string>();
        for (const user of USERS) cookies.set(user, await login(oldApp, user));
        await call(old.store, "set", "expired-session", oldSession({ user: "gone" }, -60_000));
        const before = await oldRows(table, express);
        await closeOldApp();
        await closeOld();
        assert.equal(before.length, USERS.length + 1);

        const result = layout.copy ? tableName("new") : table;
        const run = await cli([
          "migrate",
          "--from",
          table,
          ...(layout.copy ? ["--to", result] : []),
          "--url",
          db.url,
        ]);
        assert.equal(run.code, 0, run.stderr);
        assert.match(run.stdout, new RegExp(`done: the sessions are in \`${result}\``));

        // The result is this store's exact layout: nothing left to warn about.
        assertExactLayout(
          await cli(["status", "--table", result, "--url", db.url]),
          server.sidCollation,
        );

        const store = new KnexMySQLStore({
          knex,
          tablename: result,
          createtable: false,
          clearInterval: 0,
        });
        defer(() => store.close());
        const now = toSqlDateTime(Date.now());
        const live = before.filter((row) => row.expired > now);
        assert.equal(live.length, USERS.length);
        for (const row of before) {
          const expected = row.expired > now ? row.sess : null;
          assert.deepEqual(await store.get(row.sid), expected, `session ${row.sid}`);
        }
        const [after] = await knex.raw(
          `SELECT sid, CAST(expired AS CHAR) AS expired FROM \`${result}\``,
        );
        const expiries = new Map(
          (after as { sid: string; expired: string }[]).map((row) => [row.sid, row.expired]),
        );
        for (const row of live) {
          assert.equal(expiries.get(row.sid), row.expired, `expiry of ${row.sid}`);
        }
        assert.deepEqual(
          (await store.all()).map((session) => session.id).sort(),
          live.map((row) => row.sid).sort(),
        );

        // The old app's cookies keep working on a new Express 5 app with this store.
        const newApp = await sessionApp(store, 5);
        defer(() => newApp.close());
        for (const [user, cookie] of cookies) {
          assert.equal(cookie, signedCookie(sidOfCookie(cookie)), "express-session's signature");
          assert.equal(await whoami(newApp, cookie), user);
        }
        assert.equal(await whoami(newApp, signedCookie("expired-session")), "nobody");
      }));
  }

  test("after migrating a case-insensitive sid column, ids differing in case are two sessions", async () => {
    await closing(async (defer) => {
      const table = tableName("ci");
      const old = oldStore("connect-session-knex-v5", { knex, url: db.url, table });
      defer(() => old.close());
      await old.ready;
      const run = await cli(["migrate", "--from", table, "--url", db.url]);
      assert.equal(run.code, 0, run.stderr);
      const store = new KnexMySQLStore({
        knex,
        tablename: table,
        createtable: false,
        clearInterval: 0,
      });
      defer(() => store.close());
      await store.set("CaseSid", oldSession({ n: 1 }, 60_000));
      await store.set("casesid", oldSession({ n: 2 }, 60_000));
      assert.equal((await store.get("CaseSid") as unknown as { n: number }).n, 1);
      assert.equal((await store.get("casesid") as unknown as { n: number }).n, 2);
    });
  });
});
