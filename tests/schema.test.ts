// Runs as root: what is tested here is createtable's install (DDL), not an app's login.
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, it } from "node:test";
import process from "node:process";
import { KnexMySQLStore, SCHEMA_VERSION } from "../mod.ts";
import {
  configFromUrl,
  createTestDatabase,
  everyConnectionRuns,
  tableName,
  type TestDatabase,
} from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

let database: TestDatabase;
const stores: KnexMySQLStore[] = [];
function open(options: ConstructorParameters<typeof KnexMySQLStore>[0] = {}) {
  const store = new KnexMySQLStore({ knex: database.admin, disableDbCleanup: true, ...options });
  stores.push(store);
  return store;
}

before(async () => {
  database = await createTestDatabase("schema");
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await database.drop();
});

describe("createtable", () => {
  it("eight stores starting at once on an empty database all become ready", async () => {
    const table = tableName();
    const eight = Array.from(
      { length: 8 },
      () => open({ tablename: table, knex: database.connect() }),
    );
    await Promise.all(eight.map((store) => store.ready));
    await Promise.all(eight.map((store, i) => store.set(`s${i}`, sessionFor({ i }))));
    assert.equal(await eight[0]!.length(), 8);
  });

  it("a start-up the server rolls back (a lock wait, as a cluster node's DDL causes) runs again", async () => {
    const table = tableName();
    await open({ tablename: table }).ready;
    // Unstamped, so the next start-up ALTERs the table, which waits for a reader's metadata lock
    // for at most 1 s, then fails with error 1205 (as on Galera, another node's DDL aborts it).
    await database.admin.raw(`ALTER TABLE \`${table}\` COMMENT = ''`);
    const reader = await database.admin.client.acquireConnection();
    try {
      await database.admin.raw("START TRANSACTION").connection(reader);
      await database.admin.raw(`SELECT COUNT(*) FROM \`${table}\``).connection(reader);
      const store = open({
        tablename: table,
        knex: database.connect(everyConnectionRuns("SET SESSION lock_wait_timeout = 1", 2)),
      });
      const resent = once(store, "retry");
      const ready = store.ready;
      // Without the resend, ready rejects with the lock wait: the race fails with it.
      const [{ operation, error }] = await Promise.race([resent, ready.then(() => [])]);
      assert.equal(operation, "start-up");
      assert.match(String(error), /Lock wait timeout/);
      await database.admin.raw("COMMIT").connection(reader);
      await ready;
      await store.set("after-the-wait", sessionFor({ n: 1 }));
      const [[row]] = await database.admin.raw(
        "SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES " +
          "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
        [table],
      );
      assert.equal(row.comment, `knex-mysql-session schema ${SCHEMA_VERSION}`);
    } finally {
      await database.admin.client.releaseConnection(reader);
    }
  });

  it("tables named like SQL words work, `new` (MySQL's row-alias example) included", async () => {
    for (const tablename of ["new", "select", "sessions_new"]) {
      await open({ tablename, sidfieldname: "key" }).set("a", sessionFor({ n: 1 }));
      // Another store has not seen "a": its save is the insert that meets a duplicate key.
      const other = open({ tablename, sidfieldname: "key" });
      await other.set("a", sessionFor({ n: 2 }));
      assert.equal((await other.get("a") as unknown as { n: number }).n, 2, tablename);
    }
  });

  it("installs idempotently and stamps the schema version", async () => {
    const table = tableName();
    await open({ tablename: table }).ready;
    await open({ tablename: table }).ready;
    const [[row]] = await database.admin.raw(
      "SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES " +
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
      [table],
    );
    assert.equal(row.comment, `knex-mysql-session schema ${SCHEMA_VERSION}`);
  });

  it("creates the seed's layout with a byte-wise, NO PAD sid and an index on expired, plus an indexed owner column and the marker column", async () => {
    const table = tableName();
    await open({ tablename: table }).ready;
    const [columns] = await database.admin.raw(
      "SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, IS_NULLABLE AS nullable, " +
        "COLLATION_NAME AS collation, COLUMN_KEY AS `key` FROM information_schema.COLUMNS " +
        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
      [table],
    );
    assert.deepEqual(columns.map((c: { name: string }) => c.name), [
      "sid",
      "sess",
      "expired",
      "user_id",
      "destroyed",
    ]);
    const [sid, sess, expired, user, destroyed] = columns;
    assert.equal(sid.type, "varchar(255)");
    assert.equal(sid.key, "PRI");
    assert.match(sid.collation, /^utf8mb4_(nopad_bin|0900_bin)$/);
    assert.match(sess.type, /^(json|longtext)$/); // MariaDB's JSON is LONGTEXT + JSON_VALID
    assert.equal(expired.type, "datetime");
    assert.equal(expired.key, "MUL");
    for (const column of [sid, sess, expired]) assert.equal(column.nullable, "NO");
    assert.equal(user.type, "varchar(255)");
    assert.equal(user.collation, sid.collation);
    assert.equal(user.nullable, "YES");
    assert.equal(destroyed.type, "tinyint(1)");
    assert.equal(destroyed.nullable, "NO");
    const [indexes] = await database.admin.raw(
      "SELECT INDEX_NAME AS name, COLUMN_NAME AS col, SEQ_IN_INDEX AS seq " +
        "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? " +
        "AND INDEX_NAME = ? ORDER BY SEQ_IN_INDEX",
      [table, `${table}_user_index`],
    );
    assert.deepEqual(indexes.map((i: { col: string }) => i.col), ["user_id"]);
  });
});

describe("start-up failures", () => {
  it("a missing schema is a set-up error: reported once, fast failures, no disconnect", async () => {
    const table = tableName();
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
      const app = open({ tablename: table, createtable: false });
      const reported: unknown[] = [];
      const changes: string[] = [];
      app.on("error", (error) => reported.push(error));
      app.on("disconnect", () => changes.push("disconnect"));
      await assert.rejects(app.ready, {
        code: "ERR_SCHEMA",
        message: /does not exist .*createtable: true, or `npx knex-mysql-session install`/,
      });
      // Operations fail at once with the same error, which is not reported again.
      const retries: unknown[] = [];
      app.on("retry", (event) => retries.push(event));
      for (let i = 0; i < 5; i++) {
        await assert.rejects(app.get(`s${i}`), { code: "ERR_SCHEMA" });
      }
      assert.deepEqual(retries, [], "a set-up error is not sent again until the deadline");
      assert.equal(reported.length, 1);
      assert.deepEqual(changes, [], "a set-up error is not a lost connection");
      await open({ tablename: table }).ready; // a deploy step installs the schema
      await app.ready; // reading ready checks again at once
      await app.set("s", sessionFor({ ok: true }));
      assert.deepEqual((await app.get("s") as unknown as { ok: boolean }).ok, true);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(rejections, []);
    } finally {
      process.off("unhandledRejection", onRejection);
    }
  });

  it("a table of another layout is refused, naming the missing column", async () => {
    const table = tableName();
    await database.admin.raw(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, data TEXT)`);
    const store = open({ tablename: table });
    store.on("error", () => {});
    await assert.rejects(store.ready, {
      code: "ERR_SCHEMA",
      message: /has no column `sid`, `sess`, `expired`/,
    });
  });

  it("a connection character set other than utf8mb4 is refused", async () => {
    const knex = database.connect({
      connection: { ...configFromUrl(database.url), charset: "latin1_swedish_ci" },
    });
    const store = open({ knex, tablename: tableName() });
    store.on("error", () => {});
    await assert.rejects(store.ready, {
      code: "ERR_CONFIG",
      message: /character set is latin1, not utf8mb4: set charset: "utf8mb4"/,
    });
  });
});

describe("an existing table with a case-insensitive sid (connect-session-knex's)", () => {
  it("gets its procedures and a warning, and then works", async () => {
    const table = tableName();
    await database.admin.raw(
      `CREATE TABLE \`${table}\` (sid VARCHAR(255) COLLATE utf8mb4_general_ci NOT NULL ` +
        "PRIMARY KEY, sess JSON NOT NULL, expired DATETIME NOT NULL, INDEX (expired))",
    );
    const store = open({ tablename: table });
    const warnings: string[] = [];
    store.on("warning", (message: string) => warnings.push(message));
    await store.ready;
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /case-insensitive collation utf8mb4_general_ci/);
    await store.set("Abc", sessionFor({ v: 1 }));
    assert.equal((await store.get("Abc") as unknown as { v: number }).v, 1);
  });
});
