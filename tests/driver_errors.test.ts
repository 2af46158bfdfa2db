// Each class src/driver_errors.ts knows, checked against the error the server under test really
// sends (MySQL and MariaDB differ in numbers and words): provoked as the app account our
// `grant` makes, or as root where only root can stage it, through mysql2 as the store uses it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Knex } from "knex";
import {
  databaseError,
  ER,
  errnoOf,
  isAccessDenied,
  isConnectionError,
  isInterrupted,
  isReadOnlyRefusal,
  isRolledBack,
  isWriteConflict,
} from "../src/driver_errors.ts";
import { isTransientError } from "../src/retry.ts";
import { procedureName } from "../src/sql.ts";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, everyConnectionRuns, type TestDatabase } from "./helpers/database.ts";
import { type ServerFacts, serverFacts } from "./helpers/server.ts";

/** The driver's error of `work`, which must fail. */
async function errorOf(work: () => Promise<unknown>): Promise<Error & { errno?: number }> {
  try {
    await work();
  } catch (error) {
    return error as Error & { errno?: number };
  }
  assert.fail("the statement succeeded");
}

/** The id of the connection a transaction runs on. */
async function connectionId(transaction: Knex.Transaction): Promise<number> {
  const [rows] = await transaction.raw("SELECT CONNECTION_ID() AS id");
  return Number((rows as { id: number }[])[0]!.id);
}

describe("driver errors as the servers send them", () => {
  let db: TestDatabase;
  let app: AppAccount;
  let asApp: Knex;
  let server: ServerFacts;

  before(async () => {
    db = await createTestDatabase("driver_errors");
    app = await appAccount(db);
    asApp = app.knex({ pool: { min: 0, max: 2 } });
    server = await serverFacts(db.admin);
    await db.admin.raw("CREATE TABLE other (a int PRIMARY KEY, b int)");
    await db.admin.raw("INSERT INTO other VALUES (1, 1), (2, 2)");
    await db.admin.raw(`GRANT SELECT (a) ON \`${db.name}\`.other TO ?@'%'`, [app.name]);
  });
  after(async () => {
    await db?.drop();
  });

  it("a missing privilege: 1142, 1143, 1044, 1227, 1370 are ERR_ACCESS_DENIED, never resent", async () => {
    const cases: [number, () => Promise<unknown>][] = [
      [ER.TABLEACCESS_DENIED, () => asApp.raw("DELETE FROM sessions")],
      [ER.COLUMNACCESS_DENIED, () => asApp.raw("SELECT b FROM other")],
      [ER.DBACCESS_DENIED, () => asApp.raw("CREATE DATABASE kms_never_made")],
      [ER.SPECIFIC_ACCESS_DENIED, () => asApp.raw("SET GLOBAL max_connections = 500")],
      [ER.PROCACCESS_DENIED, async () => {
        await db.admin.raw("CREATE PROCEDURE not_granted() BEGIN END");
        await asApp.raw("CALL not_granted()");
      }],
    ];
    for (const [errno, provoke] of cases) {
      const error = await errorOf(provoke);
      assert.equal(errnoOf(error), errno, error.message);
      assert.equal(isAccessDenied(error), true, error.message);
      assert.equal(databaseError("get", error).code, "ERR_ACCESS_DENIED", error.message);
      assert.equal(isTransientError(error), false, error.message);
    }
  });

  it("a missing table, procedure or column is ERR_SCHEMA; a missing database ERR_CONFIG", async () => {
    const cases: [number, string, () => Promise<unknown>][] = [
      [ER.NO_SUCH_TABLE, "ERR_SCHEMA", () => db.admin.raw("SELECT * FROM no_such_table")],
      [ER.SP_DOES_NOT_EXIST, "ERR_SCHEMA", () => db.admin.raw("CALL no_such_procedure()")],
      [ER.BAD_FIELD, "ERR_SCHEMA", () => db.admin.raw("SELECT no_such_column FROM other")],
      [ER.BAD_DB, "ERR_CONFIG", () => db.admin.raw("USE kms_no_such_database")],
    ];
    for (const [errno, code, provoke] of cases) {
      const error = await errorOf(provoke);
      assert.equal(errnoOf(error), errno, error.message);
      assert.equal(databaseError("get", error).code, code, error.message);
      assert.equal(isTransientError(error), false, error.message);
    }
  });

  it("a lock wait timeout and a deadlock are write conflicts, rolled back, so resent", async () => {
    const impatient = db.connect(
      everyConnectionRuns("SET SESSION innodb_lock_wait_timeout = 1", 2),
    );
    const holder = await db.admin.transaction();
    try {
      await holder.raw("SELECT a FROM other WHERE a = 1 FOR UPDATE");
      const waited = await errorOf(() => impatient.raw("UPDATE other SET b = 3 WHERE a = 1"));
      assert.equal(errnoOf(waited), ER.LOCK_WAIT_TIMEOUT, waited.message);
      assert.equal(isWriteConflict(waited), true);
      assert.equal(isRolledBack(waited), true);
    } finally {
      await holder.rollback();
    }

    // Two transactions lock two rows in opposite orders: the server kills one of them.
    const first = await db.admin.transaction();
    const second = await impatient.transaction();
    try {
      await first.raw("SELECT a FROM other WHERE a = 1 FOR UPDATE");
      await second.raw("SELECT a FROM other WHERE a = 2 FOR UPDATE");
      const waiting = first.raw("SELECT a FROM other WHERE a = 2 FOR UPDATE").catch((e) => e);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const crossed = await second.raw("SELECT a FROM other WHERE a = 1 FOR UPDATE").catch((e) =>
        e
      );
      const victim = crossed instanceof Error ? crossed : await waiting;
      assert.equal(errnoOf(victim), ER.LOCK_DEADLOCK, String(victim));
      assert.equal(isWriteConflict(victim), true);
      assert.equal(isRolledBack(victim), true);
      assert.equal(isTransientError(victim), true);
      await waiting;
    } finally {
      await first.rollback().catch(() => {});
      await second.rollback().catch(() => {});
    }
  });

  it("a statement killed while it waits is interrupted: a read is resent, a write is not", async () => {
    const holder = await db.admin.transaction();
    const waiter = await db.admin.transaction();
    try {
      await holder.raw("SELECT a FROM other WHERE a = 1 FOR UPDATE");
      const id = await connectionId(waiter);
      const waiting = waiter.raw("UPDATE other SET b = 4 WHERE a = 1").catch((e) => e);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await db.admin.raw(`KILL QUERY ${id}`);
      const error = await waiting;
      assert.equal(errnoOf(error), ER.QUERY_INTERRUPTED, String(error));
      assert.equal(isInterrupted(error), true);
      assert.equal(isRolledBack(error), false);
      assert.equal(isTransientError(error), true);
    } finally {
      await holder.rollback();
      await waiter.rollback().catch(() => {});
    }
  });

  it("a killed connection is a connection error, or an interrupted statement", async () => {
    const victim = db.connect({ pool: { min: 0, max: 1 } });
    const [rows] = await victim.raw("SELECT CONNECTION_ID() AS id");
    const id = Number((rows as { id: number }[])[0]!.id);
    const sleeping = victim.raw("SELECT SLEEP(5)").catch((e) => e);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await db.admin.raw(`KILL CONNECTION ${id}`);
    const error = await sleeping;
    assert.ok(error instanceof Error, "the killed statement failed");
    assert.equal(isConnectionError(error) || isInterrupted(error), true, String(error));
    assert.equal(isRolledBack(error), false);
    assert.equal(isTransientError(error), true);
  });

  it("a read-only server refuses a write with 1290 before running it", async () => {
    // An account that writes directly: the procedures run as their definer, whose privileges
    // pass read_only (Group Replication's super_read_only stops even them).
    const writer = db.connect({}, (await db.account(["INSERT"])).url);
    await db.admin.raw("SET GLOBAL read_only = ON");
    try {
      const error = await errorOf(() => writer.raw("INSERT INTO other VALUES (3, 3)"));
      assert.equal(errnoOf(error), ER.OPTION_PREVENTS_STATEMENT, error.message);
      assert.equal(isReadOnlyRefusal(error), true);
      assert.equal(isRolledBack(error), true);
    } finally {
      await db.admin.raw("SET GLOBAL read_only = OFF");
    }
  });

  it("a session's JSON the server refuses is ERR_INVALID_SESSION for set", async () => {
    const deep = "[".repeat(120) + "]".repeat(120);
    const error = await errorOf(() =>
      asApp.raw(
        `CALL ${procedureName(app.table, "set")}(?, ?, UTC_TIMESTAMP() + INTERVAL 1 HOUR, NULL)`,
        [
          "deep-sid",
          deep,
        ],
      )
    );
    const expected = server.kind === "mariadb" ? ER.CONSTRAINT_FAILED : ER.JSON_DOCUMENT_TOO_DEEP;
    assert.equal(errnoOf(error), expected, error.message);
    assert.equal(databaseError("set", error).code, "ERR_INVALID_SESSION");
  });

  it("a server that does not answer is a connection error", async () => {
    const closed = new URL(db.url);
    closed.port = "1"; // nothing listens on port 1
    const nowhere = db.connect({ acquireConnectionTimeout: 5_000 }, closed.toString());
    const error = await errorOf(() => nowhere.raw("SELECT 1"));
    assert.equal(isConnectionError(error), true, error.message);
    assert.equal(isTransientError(error), true);
  });
});
