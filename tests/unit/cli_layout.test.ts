// The CLI's judgement of a session table's layout (src/cli/layout.ts), on layouts built by
// hand: what keeps one from being this store's exact layout (which `migrate` turns into an
// ALTER, and refuses as a copy target), and how `status` and `migrate` name it. detectLayout
// reads information_schema through a Connection, whose Database no hand-written object can
// stand for, so it is left to the database tests (tests/migrate_layouts.test.ts).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeLayout, layoutDifferences, type TableLayout } from "../../src/cli/layout.ts";
import { column, storeLayout } from "../helpers/layouts.ts";
import { SID_COLLATION } from "../../src/server.ts";

const MYSQL = SID_COLLATION.mysql; // utf8mb4_0900_bin
const MARIADB = SID_COLLATION.mariadb; // utf8mb4_nopad_bin

/** The seed schema's table: sid VARCHAR(255) with the sid collation, JSON, DATETIME, indexed. */
function seedLayout(overrides: Partial<TableLayout> = {}): TableLayout {
  return storeLayout("sessions", {
    comment: "knex-mysql-session schema 1",
    user: undefined,
    userIndexed: false,
    marked: false,
    ...overrides,
  });
}

/** This store's current table: the seed's columns plus an indexed user_id and `destroyed`. */
function currentLayout(overrides: Partial<TableLayout> = {}): TableLayout {
  return storeLayout("sessions", overrides);
}

const NO_USER = "no owner column `user_id` (schema 2)";
const NO_USER_INDEX = "no index on `user_id` (sessionsOf and destroyUser scan the table)";
const NO_MARKER = "no column `destroyed` marking destroyed sessions (schema 3)";
const NO_EXPIRY_INDEX = "no index on `expired` (expired-session cleanup scans the whole table)";

describe("layoutDifferences", () => {
  it("finds nothing in this store's current layout", () => {
    assert.deepEqual(layoutDifferences(currentLayout(), MYSQL), {});
  });

  it("finds only the owner and marker columns missing from the seed layout", () => {
    assert.deepEqual(layoutDifferences(seedLayout(), MYSQL), {
      user: NO_USER,
      marker: NO_MARKER,
    });
  });

  it("finds only the marker missing from schema 2's layout", () => {
    const schema2 = currentLayout({ comment: "knex-mysql-session schema 2", marked: false });
    assert.deepEqual(layoutDifferences(schema2, MYSQL), { marker: NO_MARKER });
  });

  it("judges the sid collation against the one given: each server's own", () => {
    const mariadb = currentLayout({ key: column("sid", "varchar(255)", { collation: MARIADB }) });
    assert.deepEqual(layoutDifferences(mariadb, MARIADB), {});
    assert.deepEqual(layoutDifferences(currentLayout(), MARIADB), {
      sid: `sid column \`sid\` is varchar(255) ${MYSQL}, not varchar(255) ${MARIADB}`,
    });
    assert.deepEqual(layoutDifferences(mariadb, MYSQL), {
      sid: `sid column \`sid\` is varchar(255) ${MARIADB}, not varchar(255) ${MYSQL}`,
    });
  });

  it("says when the sid collation is case-insensitive: ids differing in case are one session", () => {
    const ci = currentLayout({
      key: column("sid", "varchar(255)", { collation: "utf8mb4_unicode_ci" }),
    });
    assert.deepEqual(layoutDifferences(ci, MYSQL), {
      sid: "sid column `sid` is varchar(255) utf8mb4_unicode_ci (case-insensitive: ids " +
        `differing only in case name one session), not varchar(255) ${MYSQL}`,
    });
  });

  it("reports a case-sensitive but different collation without the case note", () => {
    for (const collation of ["utf8mb4_bin", "binary"]) {
      const layout = currentLayout({ key: column("sid", "varchar(255)", { collation }) });
      assert.deepEqual(layoutDifferences(layout, MYSQL), {
        sid: `sid column \`sid\` is varchar(255) ${collation}, not varchar(255) ${MYSQL}`,
      });
    }
  });

  it("reports a sid column of another type, under its own name", () => {
    const narrow = currentLayout({
      key: column("session_id", "varchar(128)"),
    });
    assert.deepEqual(layoutDifferences(narrow, MYSQL), {
      sid: `sid column \`session_id\` is varchar(128) ${MYSQL}, not varchar(255) ${MYSQL}`,
    });
    const bytes = currentLayout({ key: column("sid", "varbinary(255)") });
    const { sid, ...rest } = layoutDifferences(bytes, MYSQL);
    assert.deepEqual(rest, {});
    assert.ok(sid !== undefined, "a varbinary sid column differs");
    assert.equal(sid, `sid column \`sid\` is varbinary(255), not varchar(255) ${MYSQL}`);
    assert.ok(!sid.includes("case-insensitive"), "no collation, so no case note");
  });

  it("reports a nullable sid column even of the right type and collation", () => {
    const nullable = currentLayout({ key: column("sid", "varchar(255)", { nullable: true }) });
    const differences = layoutDifferences(nullable, MYSQL);
    assert.deepEqual(Object.keys(differences), ["sid"]);
    assert.equal(
      differences.sid,
      `sid column \`sid\` is varchar(255) ${MYSQL} NULL, not varchar(255) ${MYSQL}`,
    );
  });

  it("reports data that is not JSON, or may be NULL", () => {
    const text = currentLayout({ data: column("sess", "text") });
    assert.deepEqual(layoutDifferences(text, MYSQL), { sess: "`sess` is text, not JSON" });
    const nullableText = currentLayout({ data: column("sess", "text", { nullable: true }) });
    assert.deepEqual(layoutDifferences(nullableText, MYSQL), {
      sess: "`sess` is text NULL, not JSON",
    });
    const nullableJson = currentLayout({ data: column("sess", "json", { nullable: true }) });
    assert.deepEqual(layoutDifferences(nullableJson, MYSQL), {
      sess: "`sess` is json NULL, not JSON",
    });
  });

  it("takes MariaDB's JSON (LONGTEXT with a json_valid check) as JSON", () => {
    const mariadbJson = column("sess", "longtext", { json: true, collation: "utf8mb4_bin" });
    const layout = currentLayout({
      key: column("sid", "varchar(255)", { collation: MARIADB }),
      data: mariadbJson,
    });
    assert.deepEqual(layoutDifferences(layout, MARIADB), {});
    const unchecked = currentLayout({ data: { ...mariadbJson, json: false } });
    assert.deepEqual(layoutDifferences(unchecked, MYSQL), {
      sess: "`sess` is longtext, not JSON",
    });
  });

  it("reports an expiry that is not DATETIME, and TIMESTAMP's time zone and 2038", () => {
    const timestamp = currentLayout({ expiry: column("expired", "timestamp") });
    assert.deepEqual(layoutDifferences(timestamp, MYSQL), {
      expired: "`expired` is timestamp (converted through the time zone, ends in 2038), " +
        "not DATETIME",
    });
    const seconds = currentLayout({ expiry: column("expires", "int(11) unsigned") });
    assert.deepEqual(layoutDifferences(seconds, MYSQL), {
      expired: "`expired` is int(11) unsigned, not DATETIME",
    });
  });

  it("reports a nullable DATETIME expiry", () => {
    const nullable = currentLayout({ expiry: column("expired", "datetime", { nullable: true }) });
    assert.deepEqual(Object.keys(layoutDifferences(nullable, MYSQL)), ["expired"]);
  });

  it("reports a missing index on the expiry", () => {
    assert.deepEqual(layoutDifferences(currentLayout({ expiryIndexed: false }), MYSQL), {
      index: NO_EXPIRY_INDEX,
    });
  });

  it("reports a missing owner column, and an owner column without its index", () => {
    const noUser = currentLayout({ user: undefined, userIndexed: false });
    assert.deepEqual(layoutDifferences(noUser, MYSQL), { user: NO_USER });
    const unindexed = currentLayout({ userIndexed: false });
    assert.deepEqual(layoutDifferences(unindexed, MYSQL), { userIndex: NO_USER_INDEX });
  });

  it("reports a missing marker column `destroyed`", () => {
    assert.deepEqual(layoutDifferences(currentLayout({ marked: false }), MYSQL), {
      marker: NO_MARKER,
    });
  });

  it("reports every difference of connect-session-knex v1's table at once", () => {
    const v1 = seedLayout({
      comment: "",
      key: column("sid", "varchar(255)", { collation: "utf8mb4_unicode_ci" }),
      data: column("sess", "text"),
      expiry: column("expired", "timestamp"),
      expiryIndexed: false,
    });
    assert.deepEqual(layoutDifferences(v1, MYSQL), {
      sid: "sid column `sid` is varchar(255) utf8mb4_unicode_ci (case-insensitive: ids " +
        `differing only in case name one session), not varchar(255) ${MYSQL}`,
      sess: "`sess` is text, not JSON",
      expired: "`expired` is timestamp (converted through the time zone, ends in 2038), " +
        "not DATETIME",
      index: NO_EXPIRY_INDEX,
      user: NO_USER,
      marker: NO_MARKER,
    });
  });
});

describe("describeLayout", () => {
  it("names the schema version this store stamped in the table comment", () => {
    assert.equal(describeLayout(seedLayout()), "knex-mysql-session schema 1");
    assert.equal(describeLayout(currentLayout()), "knex-mysql-session schema 3");
    assert.equal(
      describeLayout(currentLayout({ comment: "knex-mysql-session schema 12" })),
      "knex-mysql-session schema 12",
    );
  });

  it("names the family of a table this store did not stamp", () => {
    assert.equal(
      describeLayout(seedLayout({ comment: "" })),
      "connect-session-knex (not stamped by knex-mysql-session)",
    );
    assert.equal(
      describeLayout(seedLayout({ family: "express-mysql-session", comment: "" })),
      "express-mysql-session (not stamped by knex-mysql-session)",
    );
  });

  it("takes only an exact stamp as one", () => {
    for (
      const comment of [
        "knex-mysql-session: copying from old_sessions",
        "knex-mysql-session schema 3 (edited)",
        "our sessions, knex-mysql-session schema 3",
        "knex-mysql-session schema three",
        "Knex-MySQL-Session schema 3",
      ]
    ) {
      assert.equal(
        describeLayout(seedLayout({ comment })),
        "connect-session-knex (not stamped by knex-mysql-session)",
        comment,
      );
    }
  });
});
