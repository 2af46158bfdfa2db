// The classes of driver errors that need no server to provoke: the errors clusters send, which
// tests/driver_errors.test.ts cannot make on one server, and how failures become the store's
// errors. tests/driver_errors.test.ts checks each class against the real servers' errors.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  databaseError,
  isConnectionError,
  isRolledBack,
  isServerRefusal,
} from "../../src/driver_errors.ts";
import { SessionStoreError } from "../../src/errors.ts";

// The errors Group Replication sent in tests/cluster_mysql/ (errno and message as mysql2 gave
// them), and what the store may do with a write that got one: resend it only when the server
// certainly rolled it back or never ran it.
describe("which Group Replication errors count as rolled back (a write is resent after them)", () => {
  const serverError = (errno: number, sqlMessage: string) =>
    Object.assign(new Error(sqlMessage), { errno, sqlMessage });
  const cases: [string, Error, boolean][] = [
    [
      "3101 certification failure (rolled back everywhere)",
      serverError(3101, "Plugin instructed the server to rollback the current transaction."),
      true,
    ],
    [
      "1180 with handler error 149 (the applier rolled it back at commit)",
      serverError(1180, "Got error 149 - 'Lock deadlock; Retry transaction' during COMMIT"),
      true,
    ],
    [
      "1290 super_read_only (a secondary refused it before running it)",
      serverError(
        1290,
        "The MySQL server is running with the --super-read-only option so it cannot execute " +
          "this statement",
      ),
      true,
    ],
    [
      "1180 with another handler error (the outcome is unknown)",
      serverError(1180, "Got error 28 - 'No space left on device' during COMMIT"),
      false,
    ],
    [
      "3100 before_commit hook error (the group may have committed it)",
      serverError(
        3100,
        "Error on observer while running replication hook 'before_commit'.",
      ),
      false,
    ],
  ];
  for (const [name, error, resent] of cases) {
    it(`${name}: ${resent ? "resent" : "not resent"}`, () => {
      assert.equal(isRolledBack(error), resent);
    });
  }
});

describe("isServerRefusal (a combined statement refused is sent again member by member)", () => {
  const error = (errno: number, code = "ER_X") => Object.assign(new Error("x"), { errno, code });

  it("is the server's own refusals: bad data, a failed CHECK, a missing procedure", () => {
    assert.equal(isServerRefusal(error(3141)), true); // MySQL: invalid JSON text
    assert.equal(isServerRefusal(error(4038)), true); // MariaDB: JSON syntax error
    assert.equal(isServerRefusal(error(4025)), true); // MariaDB: CHECK constraint failed
    assert.equal(isServerRefusal(error(1305)), true); // no such procedure
  });

  it("is not a conflict, an interruption, a lost connection or the client's own error", () => {
    assert.equal(isServerRefusal(error(1213)), false); // resent after a pause, as ever
    assert.equal(isServerRefusal(error(1205)), false);
    assert.equal(isServerRefusal(error(1317)), false); // interrupted: it may have committed
    assert.equal(isServerRefusal(error(2013)), false); // client library: lost connection
    assert.equal(isServerRefusal(error(45028)), false); // the mariadb connector's own
    assert.equal(isServerRefusal(new Error("no errno")), false);
  });
});

describe("databaseError", () => {
  it("names the operation, keeps the driver's error as the cause, and adds the caller's note", () => {
    const cause = Object.assign(new Error("boom"), { errno: 1234 });
    const error = databaseError("set", cause, "may or may not have applied");
    assert.ok(error instanceof SessionStoreError);
    assert.equal(error.code, "ERR_DATABASE");
    assert.equal(
      error.message,
      "knex-mysql-session: set failed: boom; may or may not have applied",
    );
    assert.equal(error.cause, cause);
  });

  it("passes a set-up error on unchanged and names the operation of a deadline", () => {
    const setup = new SessionStoreError("ERR_SCHEMA", "no table");
    assert.equal(databaseError("get", setup), setup);
    const late = databaseError("get", new SessionStoreError("ERR_TIMEOUT", "no reply in 5 ms"));
    assert.equal(late.code, "ERR_TIMEOUT");
    assert.equal(late.message, "knex-mysql-session: get failed: no reply in 5 ms");
  });

  it("a connect timeout is ERR_TIMEOUT and a lost connection a connection error", () => {
    const timedOut = Object.assign(new Error("connect ETIMEDOUT"), { code: "ETIMEDOUT" });
    assert.equal(databaseError("get", timedOut).code, "ERR_TIMEOUT");
    const lost = Object.assign(new Error("lost"), { code: "PROTOCOL_CONNECTION_LOST" });
    assert.equal(isConnectionError(lost), true);
    // The mariadb driver's: its connectTimeout, and a connection the server or we closed. Not
    // fatal here, to show the code alone decides.
    const mariadb = (code: string, errno: number) =>
      Object.assign(new Error(code), { code, errno, sqlState: "08S01" });
    assert.equal(databaseError("get", mariadb("ER_CONNECTION_TIMEOUT", 45012)).code, "ERR_TIMEOUT");
    for (const code of ["ER_SOCKET_UNEXPECTED_CLOSE", "ER_CMD_NOT_EXECUTED_DESTROYED"]) {
      assert.equal(isConnectionError(mariadb(code, 45009)), true, code);
    }
    // A fatal error that is a set-up error (a refused login) is not an outage.
    assert.equal(
      isConnectionError(Object.assign(new Error("denied"), { errno: 1146, fatal: true })),
      false,
    );
  });
});
