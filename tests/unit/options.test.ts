// Options are validated once, in the constructor: a TypeError names the option, the value and
// the accepted form. These checks throw before any connection is made.
import assert from "node:assert/strict";
import knex from "knex";
import process from "node:process";
import { after, describe, it } from "node:test";
import { KnexMySQLStore, type KnexMySQLStoreOptions } from "../../mod.ts";
import { resolveOptions } from "../../src/options.ts";
import { procedureName, PROCEDURES } from "../../src/sql.ts";

const mysql = knex({ client: "mysql2", connection: "mysql://root@127.0.0.1:1/none" });
const base = { knex: mysql, disableDbCleanup: true };
after(() => mysql.destroy());

function refuses(options: unknown, message: RegExp) {
  assert.throws(() => new KnexMySQLStore(options as KnexMySQLStoreOptions), (error: unknown) => {
    assert.ok(error instanceof TypeError, `expected a TypeError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

describe("option validation", () => {
  it("rejects unknown options (typos), listing the accepted names", () => {
    refuses({ ...base, tablname: "x" }, /unknown option "tablname" \(accepted: knex, connection/);
    refuses({ ...base, cleanupintervall: 5 }, /unknown option "cleanupintervall"/);
  });

  it("rejects options that are not an object", () => {
    refuses("sessions", /options must be an object \(got "sessions"\)/);
    refuses(null, /options must be an object \(got null\)/);
  });

  it("rejects identifiers that could not safely reach SQL text", () => {
    refuses(
      { ...base, tablename: "sessions; DROP TABLE users" },
      /"tablename" must be an identifier that must match/,
    );
    refuses({ ...base, tableName: "bad`name" }, /"tableName" must be an identifier/);
    refuses({ ...base, sidfieldname: "1sid" }, /"sidfieldname" must be an identifier/);
    refuses({ ...base, sidFieldName: "" }, /"sidFieldName" must be an identifier/);
    refuses(
      { ...base, tablename: 42 },
      /"tablename" must be an identifier that must be a string \(got 42\)/,
    );
    refuses({ ...base, tablename: "t".repeat(48) }, /at most 47 characters/);
    refuses({ ...base, sidfieldname: "s".repeat(65) }, /at most 64 characters/);
  });

  it("accepts the longest table name whose procedure names still fit", async () => {
    const longest = "t".repeat(47);
    const store = new KnexMySQLStore({ ...base, tablename: longest });
    assert.equal(store.tableName, longest);
    await store.close();
    // 47 is the limit because the longest procedure name then has MySQL's 64 characters.
    const lengths = PROCEDURES.map((procedure) => procedureName(longest, procedure).length);
    assert.equal(Math.max(...lengths), 64);
  });

  it("rejects conflicting aliases, accepts agreeing ones", async () => {
    refuses(
      { ...base, tablename: "a", tableName: "b" },
      /"tablename" and "tableName" are aliases but were given different values \("a" and "b"\)/,
    );
    refuses({ ...base, sidfieldname: "a", sidFieldName: "b" }, /"sidfieldname" and "sidFieldName"/);
    refuses({ ...base, createtable: true, createTable: false }, /"createtable" and "createTable"/);
    refuses(
      { ...base, clearInterval: 1000, cleanupInterval: 2000 },
      /"clearInterval" and "cleanupInterval"/,
    );
    const store = new KnexMySQLStore({ ...base, tablename: "same", tableName: "same" });
    assert.equal(store.tableName, "same");
    await store.close();
  });

  it("rejects values of the wrong type or range, naming the accepted form", () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ createtable: "yes" }, /"createtable" must be true or false \(got "yes"\)/],
      [{ disableDbCleanup: 1 }, /"disableDbCleanup" must be true or false \(got 1\)/],
      [{ disableTouch: "no" }, /"disableTouch" must be true or false/],
      [{ clearInterval: -1 }, /"clearInterval" must be an integer from 0 to 2147483647 \(got -1\)/],
      [{ cleanupInterval: 1.5 }, /"cleanupInterval" must be an integer/],
      [{ clearInterval: 2 ** 31 }, /"clearInterval" must be an integer from 0 to 2147483647/],
      [{ cleanupBatchSize: 0 }, /"cleanupBatchSize" must be an integer from 1/],
      [{ touchAfter: -5 }, /"touchAfter" must be an integer/],
      [{ ttl: 0 }, /"ttl" must be a positive number of milliseconds or a function/],
      [{ ttl: "1d" }, /"ttl" must be a positive number/],
      [{ onDbCleanupError: "log" }, /"onDbCleanupError" must be a function \(got "log"\)/],
      [{ maxRetries: 1.5 }, /"maxRetries" must be an integer from 0 to 1000000 \(got 1.5\)/],
      [{ queryTimeout: 50 }, /"queryTimeout" must be an integer from 100 to 2147483647 \(got 50\)/],
      [{ retryDelay: 0 }, /"retryDelay" must be an integer from 1/],
    ];
    for (const [options, message] of cases) refuses({ ...base, ...options }, message);
  });

  it("takes a knex of each MySQL client: mysql2, mariadb, mysql", async () => {
    for (const client of ["mysql2", "mariadb", "mysql"]) {
      const instance = knex({ client }); // no connection: the driver is never loaded
      assert.equal(resolveOptions({ knex: instance }, {}).knex, instance, client);
      await instance.destroy();
    }
  });

  it("rejects a knex that is not a MySQL knex, or not knex at all", async () => {
    refuses({ knex: {} }, /"knex" must be a knex instance/);
    const postgres = knex({ client: "pg" }); // no connection: the driver is never loaded
    refuses(
      { knex: postgres },
      /"knex" must use the client "mysql2", "mariadb" or "mysql" \(got a knex instance for "postgresql"\)/,
    );
    await postgres.destroy();
  });

  it("rejects knex and connection together, and a connection of the wrong type", () => {
    refuses(
      { knex: mysql, connection: "mysql://x@y/z" },
      /either option "knex" or option "connection"/,
    );
    refuses(
      { connection: 5 },
      /"connection" must be a mysql:\/\/ URL or a mysql2 connection config object \(got 5\)/,
    );
    refuses({ connection: "" }, /got an empty string/);
  });

  it("without knex, connection or MYSQL_URL, says how to give a database", () => {
    const saved = process.env.MYSQL_URL;
    delete process.env.MYSQL_URL;
    try {
      refuses({}, /no database given: pass option "knex".*"connection".*MYSQL_URL/);
      refuses(undefined, /no database given/);
    } finally {
      if (saved !== undefined) process.env.MYSQL_URL = saved;
    }
  });

  it("falls back to MYSQL_URL, and never echoes a password in a message", async () => {
    const saved = process.env.MYSQL_URL;
    process.env.MYSQL_URL = "mysql://root:pa55word@127.0.0.1:1/none";
    try {
      const store = new KnexMySQLStore({ disableDbCleanup: true, maxRetries: 0 });
      // The start-up reached the server MYSQL_URL names, and says so without its password.
      await assert.rejects(store.ready, (error: Error) => {
        assert.match(error.message, /start-up failed: connect ECONNREFUSED 127\.0\.0\.1:1$/);
        assert.ok(!error.message.includes("pa55word"), error.message);
        return true;
      });
      await store.close();
    } finally {
      if (saved === undefined) delete process.env.MYSQL_URL;
      else process.env.MYSQL_URL = saved;
    }
  });
});
