// Every statement the store sends raises no warning, on MySQL and MariaDB alike: the install
// (table, procedures, stamp), every CALL and every SELECT. The store's connections are
// instrumented (not replaced): after each statement, SHOW WARNINGS runs on the same
// connection, before the store sees the result.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { withoutComments } from "../src/sql.ts";
import { appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

interface Seen {
  sql: string;
  warnings: { Level: string; Code: number; Message: string }[];
}

type DriverCallback = (error: unknown, ...results: unknown[]) => void;
type Send = (sql: unknown, values: unknown, callback: DriverCallback) => unknown;
interface Instrumented {
  query: Send;
  execute: Send;
}

/** Wraps `query` and `execute` so that SHOW WARNINGS follows every statement. */
function instrument(connection: Instrumented, seen: Seen[]): void {
  const query = connection.query.bind(connection);
  for (const method of ["query", "execute"] as const) {
    const send = connection[method].bind(connection);
    connection[method] = (sql, values, callback) =>
      send(sql, values, (error, ...results) => {
        const text = typeof sql === "string" ? sql : String((sql as { sql?: unknown }).sql);
        query("SHOW WARNINGS", [], (showError, rows) => {
          if (!showError) seen.push({ sql: text, warnings: rows as Seen["warnings"] });
          callback(error, ...results);
        });
      });
  }
}

describe("no statement the store sends raises a warning", () => {
  let database: TestDatabase;
  /** Root's knex, instrumented: installing needs its DDL rights. */
  let root: Knex;
  const seen: Seen[] = [];
  const instrumented: Partial<Knex.Config> = {
    pool: {
      min: 0,
      max: 4,
      afterCreate: (connection: Instrumented, done: (e: Error | null, c: unknown) => void) => {
        instrument(connection, seen);
        done(null, connection);
      },
    },
  };

  before(async () => {
    database = await createTestDatabase("warnings");
    root = database.connect(instrumented);
  });
  after(() => database.drop());

  it("installs, writes, reads and sweeps without a warning", async () => {
    const table = tableName();
    const installer = new KnexMySQLStore({ knex: root, tablename: table, clearInterval: 0 });
    await installer.ready;
    await installer.close();
    // The rest as the app account, instrumented the same way.
    const app = await appAccount(database, { table });
    const knex = app.knex(instrumented);
    const store = app.store({ knex, clearInterval: 0 });
    try {
      await store.ready;
      await store.set("a", sessionFor({ n: 1 }));
      await store.set("a", sessionFor({ n: 2 })); // the upsert's update branch
      await store.set("gone", sessionFor({ n: 3 }, -60_000));
      await store.get("a");
      await store.get("missing");
      await store.touch("a", sessionFor({ n: 2 }, 60_000, 7_200_000));
      await store.touch("missing", sessionFor({}));
      await store.all();
      await store.length();
      assert.equal(await store.clearExpired(), 1);
      // Batches: saves (new, existing, onto a marker), gets, touches and destroys waiting for one
      // of the pool's 4 connections at once.
      const ids = Array.from({ length: 40 }, (_, i) => `b${i % 20}`);
      for (let round = 0; round < 2; round++) {
        await Promise.all(ids.map((id, i) => store.set(id, sessionFor({ i, round }))));
        await store.destroy("b0");
      }
      await Promise.all(ids.map((id) => store.get(id)));
      await Promise.all(ids.map((id) => store.touch(id, sessionFor({}, 60_000, 7_200_000))));
      await Promise.all(ids.map((id) => store.destroy(id)));
      const { setBatches, getBatches, touchBatches, destroyBatches } = store.stats();
      assert.ok(
        setBatches > 1 && getBatches > 0 && touchBatches > 0 && destroyBatches > 0,
        "no batches were sent",
      );
      await store.destroy("a");
      await store.destroy("a"); // already gone
      await store.clear();
    } finally {
      await store.close();
    }
    // A second store on the installed schema sends only its checks; a third (root again)
    // adopts a table another store made (connect-session-knex's layout): procedures, then the
    // version stamp.
    const second = app.store({ knex, clearInterval: 0 });
    await second.ready;
    await second.close();
    const adopted = tableName("adopted");
    await database.admin.raw(
      `CREATE TABLE \`${adopted}\` (sid VARCHAR(255) NOT NULL PRIMARY KEY, ` +
        "sess JSON NOT NULL, expired DATETIME NOT NULL, INDEX (expired))",
    );
    const third = new KnexMySQLStore({ knex: root, tablename: adopted, clearInterval: 0 });
    third.on("warning", () => {}); // its sid column is case-insensitive: a store warning
    await third.ready;
    await third.set("b", sessionFor({}));
    await third.close();

    const verbs = new Set(
      seen.map(({ sql }) => withoutComments(sql).trim().split(/\s+/)[0]!.toUpperCase()),
    );
    for (const verb of ["CREATE", "ALTER", "CALL", "SELECT"]) {
      assert.ok(verbs.has(verb), `no ${verb} was seen: ${[...verbs].join(", ")}`);
    }
    const calls = seen.filter(({ sql }) => sql.startsWith("CALL"));
    assert.ok(calls.length >= 9, `${calls.length} CALLs seen`);
    const warned = seen.filter(({ warnings }) => warnings.length > 0);
    assert.deepEqual(
      warned.map(({ sql, warnings }) => ({ sql: sql.slice(0, 80), warnings })),
      [],
    );
  });
});
