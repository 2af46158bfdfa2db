// The migration's plan (src/cli/migration/plan.ts), from facts written by hand: which steps
// `migrate` takes for each source layout and copy target, in what order, and which migrations
// it refuses and why. The plan is what --dry-run prints and what a real run executes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CliError } from "../../src/cli/failures.ts";
import type { TableLayout } from "../../src/cli/layout.ts";
import { column, storeLayout } from "../helpers/layouts.ts";
import {
  backupTable,
  copyBatchSql,
  copyingSource,
  type CopySpec,
  type MigrationFacts,
  type MigrationRequest,
  type Plan,
  planMigration,
  stagingTable,
} from "../../src/cli/migration/plan.ts";
import { SID_COLLATION } from "../../src/server.ts";
import { createTableSql, procedureName, PROCEDURES } from "../../src/sql.ts";

const MYSQL = SID_COLLATION.mysql;
const MARIADB = SID_COLLATION.mariadb;

/** connect-session-knex v2's table: JSON and DATETIME, but a case-insensitive sid, no index. */
function knexV2Layout(table = "sessions", overrides: Partial<TableLayout> = {}): TableLayout {
  return storeLayout(table, {
    comment: "",
    key: column("sid", "varchar(255)", { collation: "utf8mb4_unicode_ci" }),
    expiryIndexed: false,
    user: undefined,
    userIndexed: false,
    marked: false,
    ...overrides,
  });
}

/** express-mysql-session's table: session_id, expires in unix seconds, data. */
function expressLayout(table = "sessions", overrides: Partial<TableLayout> = {}): TableLayout {
  return {
    family: "express-mysql-session",
    table,
    comment: "",
    key: column("session_id", "varchar(128)", { collation: "utf8mb4_bin" }),
    data: column("data", "mediumtext", { collation: "utf8mb4_bin", nullable: true }),
    expiry: column("expires", "int(11) unsigned"),
    expiryIndexed: false,
    user: undefined,
    userIndexed: false,
    marked: false,
    ...overrides,
  };
}

function facts(source: TableLayout, overrides: Partial<MigrationFacts> = {}): MigrationFacts {
  return {
    source,
    sidCollation: MYSQL,
    target: { exists: false },
    backupExists: false,
    invalidJsonRows: 0,
    currentProcedures: [],
    ...overrides,
  };
}

function request(from: string, to?: string, sid = "sid"): MigrationRequest {
  return { from, to, sid };
}

/** The procedures an install of `table` creates, as the install step lists them. */
function procedureList(table: string): string {
  return PROCEDURES.map((p) => procedureName(table, p)).join(", ");
}

/** The kinds of a plan's steps, in order. */
function kinds(plan: Plan): string[] {
  return plan.steps.map((step) => step.kind);
}

function stepOf<K extends Plan["steps"][number]["kind"]>(
  plan: Plan,
  index: number,
  kind: K,
): Extract<Plan["steps"][number], { kind: K }> {
  const step = plan.steps[index];
  assert.equal(step?.kind, kind, `step ${index + 1} of ${JSON.stringify(kinds(plan))}`);
  return step as Extract<Plan["steps"][number], { kind: K }>;
}

/** Asserts that planning refuses with a CliError (exit code 1, not a usage error) saying `message`. */
function refuses(f: MigrationFacts, r: MigrationRequest, message: string | RegExp) {
  assert.throws(() => planMigration(f, r), (error: unknown) => {
    assert.ok(error instanceof CliError, `expected a CliError, got ${error}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    assert.equal(error.exitCode, 1);
    assert.equal(error.seeHelp, false);
    return true;
  });
}

describe("staging, backup and copying names", () => {
  it("names the in-place conversion's staging and backup tables after the source", () => {
    assert.equal(stagingTable("sessions"), "sessions_kms_staging");
    assert.equal(backupTable("sessions"), "sessions_kms_backup");
  });

  it("reads back the source from the comment the plan marks a copy target with", () => {
    const plan = planMigration(facts(knexV2Layout("old_sessions")), request("old_sessions", "new"));
    const mark = stepOf(plan, 1, "sql");
    const comment = /COMMENT = '(.*)'$/.exec(mark.sql)?.[1];
    assert.equal(comment, "knex-mysql-session: copying from old_sessions");
    assert.equal(copyingSource(comment as string), "old_sessions");
  });

  it("finds no source in any other comment", () => {
    for (
      const comment of [
        "",
        "knex-mysql-session schema 3",
        "copying from old_sessions",
        "note: knex-mysql-session: copying from old_sessions",
        "knex-mysql-session: copying from ", // names no table
      ]
    ) {
      assert.equal(copyingSource(comment), undefined, comment);
    }
  });
});

describe("copyBatchSql", () => {
  const spec: CopySpec = {
    from: "old",
    to: "new",
    sid: "sid",
    key: column("sid", "varchar(255)"),
    sessExpression: "s.`sess`",
    expiredExpression: "s.`expired`",
    expiryColumn: "expired",
    now: "datetime",
    resume: false,
  };

  it("copies one key range of live, valid-JSON rows, a later expiry winning a duplicate", () => {
    assert.equal(
      copyBatchSql(spec, { lower: true, upper: true }),
      "INSERT INTO `new` (`sid`, `sess`, `expired`)\n" +
        "SELECT * FROM (\n" +
        "  SELECT s.`sid` AS `sid`, s.`sess` AS `sess`, s.`expired` AS `expired`\n" +
        "  FROM `old` AS s\n" +
        "  WHERE s.`sid` > ? AND s.`sid` <= ? AND s.`expired` > ? AND JSON_VALID(s.`sess`)\n" +
        ") AS `new_copy`\n" +
        "ON DUPLICATE KEY UPDATE `new`.`sess` = " +
        "IF(`new_copy`.`expired` > `new`.`expired`, `new_copy`.`sess`, `new`.`sess`), " +
        "`new`.`expired` = GREATEST(`new`.`expired`, `new_copy`.`expired`)",
    );
  });

  it("has a placeholder per bound given, in the order lower, upper, now", () => {
    const where = (lower: boolean, upper: boolean) =>
      /WHERE (.*)\n/.exec(copyBatchSql(spec, { lower, upper }))?.[1];
    assert.equal(where(false, false), "s.`expired` > ? AND JSON_VALID(s.`sess`)");
    assert.equal(where(true, false), "s.`sid` > ? AND s.`expired` > ? AND JSON_VALID(s.`sess`)");
    assert.equal(where(false, true), "s.`sid` <= ? AND s.`expired` > ? AND JSON_VALID(s.`sess`)");
    for (const [lower, upper, count] of [[false, false, 1], [true, false, 2], [true, true, 3]]) {
      const sql = copyBatchSql(spec, { lower: lower as boolean, upper: upper as boolean });
      assert.equal(sql.split("?").length - 1, count);
    }
  });

  it("reads the source's own column names into the target's sid column", () => {
    const express: CopySpec = {
      ...spec,
      from: "s",
      to: "s_kms_staging",
      sid: "session_key",
      key: column("session_id", "varchar(128)"),
      sessExpression: "s.`data`",
      expiredExpression: "TIMESTAMP('1970-01-01 00:00:00') + INTERVAL s.`expires` SECOND",
      expiryColumn: "expires",
      now: "unix-seconds",
    };
    const sql = copyBatchSql(express, { lower: true, upper: false });
    assert.match(sql, /^INSERT INTO `s_kms_staging` \(`session_key`, `sess`, `expired`\)\n/);
    assert.match(
      sql,
      /SELECT s\.`session_id` AS `sid`, s\.`data` AS `sess`, TIMESTAMP\('1970-01-01 00:00:00'\) \+ INTERVAL s\.`expires` SECOND AS `expired`\n/,
    );
    assert.match(sql, /FROM `s` AS s\n/);
    assert.match(
      sql,
      /WHERE s\.`session_id` > \? AND s\.`expires` > \? AND JSON_VALID\(s\.`data`\)/,
    );
    assert.match(sql, /\) AS `s_kms_staging_copy`\n/);
  });
});

describe("in place, connect-session-knex's layout", () => {
  it("only installs on a table already in this store's layout", () => {
    for (const to of [undefined, "sessions"]) {
      const plan = planMigration(facts(storeLayout("sessions")), request("sessions", to));
      assert.equal(plan.result, "sessions");
      assert.deepEqual(plan.steps, [{
        kind: "install",
        description: "install the procedures of `sessions` and stamp its schema version " +
          `(${procedureList("sessions")})`,
        names: { table: "sessions", sid: "sid" },
      }]);
      assert.deepEqual(plan.notes, ["`sessions` is already in this store's layout."]);
    }
  });

  it("lets install add the owner and marker columns the seed and schema 2 layouts lack", () => {
    const layouts = [
      storeLayout("sessions", { user: undefined, userIndexed: false, marked: false }),
      storeLayout("sessions", { userIndexed: false }),
      storeLayout("sessions", { marked: false }),
    ];
    for (const source of layouts) {
      const plan = planMigration(facts(source), request("sessions"));
      assert.deepEqual(kinds(plan), ["install"], "no ALTER of the migration's own");
      assert.equal(
        stepOf(plan, 0, "install").description,
        "add what `sessions` lacks of the columns `user_id` and `destroyed` and the index on " +
          "`user_id` (online), install the procedures of `sessions` and stamp its schema " +
          `version (${procedureList("sessions")})`,
      );
    }
  });

  it("converts an old table with one ALTER, then drops the procedures typed for the old sid", () => {
    const source = knexV2Layout("sessions", {
      data: column("sess", "text"),
      expiry: column("expired", "timestamp"),
    });
    const current = PROCEDURES.map((p) => procedureName("sessions", p).toLowerCase());
    const plan = planMigration(facts(source, { currentProcedures: current }), request("sessions"));
    assert.equal(plan.result, "sessions");
    assert.deepEqual(kinds(plan), ["sql", "drop-procedures", "install"]);
    const alter = stepOf(plan, 0, "sql");
    assert.equal(
      alter.sql,
      "ALTER TABLE `sessions`\n" +
        `  MODIFY \`sid\` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE ${MYSQL} NOT NULL,\n` +
        "  MODIFY `sess` JSON NOT NULL,\n" +
        "  MODIFY `expired` DATETIME NOT NULL,\n" +
        "  ADD INDEX `sessions_expired_index` (`expired`)",
    );
    assert.equal(alter.privilege, "ALTER");
    assert.equal(
      alter.description,
      "convert `sessions` in place: sid column `sid` is varchar(255) utf8mb4_unicode_ci " +
        "(case-insensitive: ids differing only in case name one session), not varchar(255) " +
        `${MYSQL}; \`sess\` is text, not JSON; \`expired\` is timestamp (converted through the ` +
        "time zone, ends in 2038), not DATETIME; no index on `expired` (expired-session " +
        "cleanup scans the whole table)",
      "the owner and marker columns are install's, not the ALTER's",
    );
    assert.deepEqual(stepOf(plan, 1, "drop-procedures").procedures, current);
    assert.match(stepOf(plan, 2, "install").description, /^add what `sessions` lacks/);
    assert.equal(plan.notes.length, 1);
    assert.match(plan.notes[0] ?? "", /^The ALTER rebuilds `sessions` \(writes wait/);
    assert.match(plan.notes[0] ?? "", /roll back by pointing the app back\.$/);
  });

  it("alters only what differs", () => {
    const cases: [Partial<TableLayout>, string][] = [
      [{ expiryIndexed: true }, "  MODIFY `sid` VARCHAR(255)"],
      [
        { key: column("sid", "varchar(255)") },
        "  ADD INDEX `sessions_expired_index` (`expired`)",
      ],
      [
        { key: column("sid", "varchar(255)"), expiryIndexed: true, data: column("sess", "text") },
        "  MODIFY `sess` JSON NOT NULL",
      ],
      [
        {
          key: column("sid", "varchar(255)"),
          expiryIndexed: true,
          expiry: column("expired", "datetime", { nullable: true }),
        },
        "  MODIFY `expired` DATETIME NOT NULL",
      ],
    ];
    for (const [overrides, change] of cases) {
      const plan = planMigration(facts(knexV2Layout("sessions", overrides)), request("sessions"));
      const [first, ...rest] = stepOf(plan, 0, "sql").sql.split("\n");
      assert.equal(first, "ALTER TABLE `sessions`");
      assert.equal(rest.length, 1, rest.join("\n"));
      assert.ok(rest[0]?.startsWith(change), rest[0]);
    }
  });

  it("gives the sid the collation of the server's install", () => {
    const plan = planMigration(
      facts(knexV2Layout("sessions"), { sidCollation: MARIADB }),
      request("sessions"),
    );
    assert.match(
      stepOf(plan, 0, "sql").sql,
      new RegExp(
        `MODIFY \`sid\` VARCHAR\\(255\\) CHARACTER SET utf8mb4 COLLATE ${MARIADB} NOT NULL`,
      ),
    );
  });

  it("keeps the procedures when the sid column stays as it is, or there are none", () => {
    const current = PROCEDURES.map((p) => procedureName("sessions", p).toLowerCase());
    const keptSid = facts(knexV2Layout("sessions", { key: column("sid", "varchar(255)") }), {
      currentProcedures: current,
    });
    assert.deepEqual(kinds(planMigration(keptSid, request("sessions"))), ["sql", "install"]);
    const none = facts(knexV2Layout("sessions"), { currentProcedures: [] });
    assert.deepEqual(kinds(planMigration(none, request("sessions"))), ["sql", "install"]);
  });

  it("names a custom sid column in the ALTER and the install", () => {
    const source = knexV2Layout("sessions", {
      key: column("session_key", "varchar(255)", { collation: "utf8mb4_general_ci" }),
    });
    const plan = planMigration(facts(source), request("sessions", undefined, "session_key"));
    assert.match(stepOf(plan, 0, "sql").sql, /\n {2}MODIFY `session_key` VARCHAR\(255\) /);
    assert.deepEqual(stepOf(plan, 1, "install").names, { table: "sessions", sid: "session_key" });
  });

  it("refuses to make `sess` JSON while rows hold data that is not JSON", () => {
    const source = knexV2Layout("sessions", { data: column("sess", "text") });
    refuses(
      facts(source, { invalidJsonRows: 3 }),
      request("sessions"),
      "3 row(s) of `sessions` hold a `sess` that is not valid JSON (the old store could not " +
        "read them either), so `sess` cannot become JSON in place: delete them (DELETE FROM " +
        "`sessions` WHERE NOT JSON_VALID(`sess`) OR `sess` IS NULL), or copy with --to, which " +
        "skips them",
    );
  });

  it("does not count invalid rows against a `sess` that stays as it is, or against a copy", () => {
    const json = facts(knexV2Layout("sessions"), { invalidJsonRows: 3 });
    assert.deepEqual(kinds(planMigration(json, request("sessions"))), ["sql", "install"]);
    const text = facts(knexV2Layout("sessions", { data: column("sess", "text") }), {
      invalidJsonRows: 3,
    });
    assert.deepEqual(kinds(planMigration(text, request("sessions", "new"))), [
      "sql",
      "sql",
      "copy",
      "install",
    ]);
  });
});

describe("in place, express-mysql-session's layout", () => {
  it("copies into a staging table, swaps it in keeping a backup, then installs", () => {
    const plan = planMigration(facts(expressLayout("sessions")), request("sessions"));
    assert.equal(plan.result, "sessions");
    assert.deepEqual(plan.steps, [
      {
        kind: "sql",
        description: "create `sessions_kms_staging` in this store's layout",
        sql: createTableSql({ table: "sessions_kms_staging", sid: "sid" }, MYSQL),
        privilege: "CREATE",
      },
      {
        kind: "sql",
        description: "mark `sessions_kms_staging` as being copied into (a later run resumes " +
          "the copy)",
        sql: "ALTER TABLE `sessions_kms_staging` COMMENT = " +
          "'knex-mysql-session: copying from sessions'",
        privilege: "ALTER",
      },
      {
        kind: "copy",
        description: "copy live sessions from `sessions` into `sessions_kms_staging` in " +
          "batches; `expires` (unix seconds) becomes `expired` (UTC DATETIME)",
        copy: {
          from: "sessions",
          to: "sessions_kms_staging",
          sid: "sid",
          key: expressLayout().key,
          sessExpression: "s.`data`",
          expiredExpression: "TIMESTAMP('1970-01-01 00:00:00') + INTERVAL s.`expires` SECOND",
          expiryColumn: "expires",
          now: "unix-seconds",
          resume: false,
        },
      },
      {
        kind: "sql",
        description: "swap: keep the original as `sessions_kms_backup`, put the converted " +
          "table in its place",
        sql: "RENAME TABLE `sessions` TO `sessions_kms_backup`, " +
          "`sessions_kms_staging` TO `sessions`",
        privilege: "DROP",
      },
      {
        kind: "install",
        description: "install the procedures of `sessions` and stamp its schema version " +
          `(${procedureList("sessions")})`,
        names: { table: "sessions", sid: "sid" },
      },
    ]);
    assert.deepEqual(plan.notes, [
      "express-mysql-session cannot read the converted table: stop (or switch) the old app " +
      "when the swap happens; sessions it writes during the copy after their batch are lost.",
      "Roll back with RENAME TABLE `sessions` TO `sessions_kms_staging`, " +
      "`sessions_kms_backup` TO `sessions`.",
    ]);
  });

  it("resumes the copy into a staging table an interrupted run left", () => {
    const staging = storeLayout("sessions_kms_staging", {
      comment: "knex-mysql-session: copying from sessions",
    });
    const plan = planMigration(
      facts(expressLayout("sessions"), {
        target: { exists: true, copyingFrom: "sessions", layout: staging },
      }),
      request("sessions"),
    );
    assert.deepEqual(kinds(plan), ["copy", "sql", "install"]);
    const copy = stepOf(plan, 0, "copy");
    assert.equal(copy.copy.resume, true);
    assert.equal(
      copy.description,
      "copy live sessions from `sessions` into `sessions_kms_staging` in batches, resuming " +
        "after the rows an interrupted run copied; `expires` (unix seconds) becomes `expired` " +
        "(UTC DATETIME)",
    );
    assert.match(stepOf(plan, 1, "sql").sql, /^RENAME TABLE `sessions` TO `sessions_kms_backup`/);
  });

  it("refuses while a previous migration's backup is in the way", () => {
    refuses(
      facts(expressLayout("sessions"), { backupExists: true }),
      request("sessions"),
      "`sessions_kms_backup` exists: a previous migration kept the original there. Drop or " +
        "rename it first",
    );
  });

  it("refuses a staging table that is not in this store's layout", () => {
    const staging = expressLayout("sessions_kms_staging");
    refuses(
      facts(expressLayout("sessions"), {
        target: { exists: true, copyingFrom: undefined, layout: staging },
      }),
      request("sessions"),
      /^table `sessions_kms_staging` exists and is not in this store's layout: drop or rename `sessions_kms_staging` \(a table this migration did not make\), then run it again$/,
    );
  });

  it("refuses a name too long for the staging table's index, and takes the longest that fits", () => {
    const fits = "t".repeat(38); // `${fits}_kms_staging_expired_index` is 64 characters
    assert.equal(`${stagingTable(fits)}_expired_index`.length, 64);
    const plan = planMigration(facts(expressLayout(fits)), request(fits));
    assert.equal(plan.result, fits);
    const long = "t".repeat(39);
    refuses(
      facts(expressLayout(long)),
      request(long),
      `\`${long}\` is too long a name to convert in place (the index of its staging table ` +
        "would pass 64 characters): copy it with --to <table>",
    );
  });
});

describe("copy into another table (--to)", () => {
  it("creates the target, marks it, copies the live sessions and installs on it", () => {
    const plan = planMigration(
      facts(knexV2Layout("old_sessions")),
      request("old_sessions", "sessions"),
    );
    assert.equal(plan.result, "sessions");
    assert.deepEqual(plan.steps, [
      {
        kind: "sql",
        description: "create `sessions` in this store's layout",
        sql: createTableSql({ table: "sessions", sid: "sid" }, MYSQL),
        privilege: "CREATE",
      },
      {
        kind: "sql",
        description: "mark `sessions` as being copied into (a later run resumes the copy)",
        sql: "ALTER TABLE `sessions` COMMENT = 'knex-mysql-session: copying from old_sessions'",
        privilege: "ALTER",
      },
      {
        kind: "copy",
        description: "copy live sessions from `old_sessions` into `sessions` in batches",
        copy: {
          from: "old_sessions",
          to: "sessions",
          sid: "sid",
          key: knexV2Layout().key,
          sessExpression: "s.`sess`",
          expiredExpression: "s.`expired`",
          expiryColumn: "expired",
          now: "datetime",
          resume: false,
        },
      },
      {
        kind: "install",
        description: "install the procedures of `sessions` and stamp its schema version " +
          `(${procedureList("sessions")})`,
        names: { table: "sessions", sid: "sid" },
      },
    ]);
    assert.deepEqual(plan.notes, [
      "`old_sessions` is left as it is: the old app can keep using it; run the same command " +
      "again just before switching to copy what changed since (sessions deleted from " +
      "`old_sessions` in between stay in `sessions` until they expire).",
      'Point the new app at `sessions`: new KnexMySQLStore({ tablename: "sessions" }).',
    ]);
  });

  it("creates the target with the server's sid collation and the requested sid column", () => {
    const plan = planMigration(
      facts(expressLayout("old_sessions"), { sidCollation: MARIADB }),
      request("old_sessions", "sessions", "session_key"),
    );
    assert.equal(
      stepOf(plan, 0, "sql").sql,
      createTableSql({ table: "sessions", sid: "session_key" }, MARIADB),
    );
    const copy = stepOf(plan, 2, "copy").copy;
    assert.equal(copy.sid, "session_key");
    assert.equal(copy.now, "unix-seconds");
    assert.equal(copy.expiryColumn, "expires");
    assert.deepEqual(stepOf(plan, 3, "install").names, { table: "sessions", sid: "session_key" });
  });

  it("leaves the source alone whatever its layout: no ALTER, no swap, no backup check", () => {
    for (const source of [knexV2Layout("old"), expressLayout("old"), storeLayout("old")]) {
      const plan = planMigration(facts(source, { backupExists: true }), request("old", "new"));
      assert.deepEqual(kinds(plan), ["sql", "sql", "copy", "install"]);
      for (const step of plan.steps) {
        if (step.kind === "sql") assert.ok(step.sql.includes("`new`"), step.sql);
      }
    }
  });

  it("resumes into a target it was copying into from the same source", () => {
    const target = storeLayout("new", { comment: "knex-mysql-session: copying from old" });
    const plan = planMigration(
      facts(knexV2Layout("old"), { target: { exists: true, copyingFrom: "old", layout: target } }),
      request("old", "new"),
    );
    assert.deepEqual(kinds(plan), ["copy", "install"]);
    const copy = stepOf(plan, 0, "copy");
    assert.equal(copy.copy.resume, true);
    assert.equal(
      copy.description,
      "copy live sessions from `old` into `new` in batches, resuming after the rows an " +
        "interrupted run copied",
    );
  });

  it("copies from the start into an existing table of this store's layout it was not copying into", () => {
    for (const copyingFrom of [undefined, "other"]) {
      const target = storeLayout("new");
      const plan = planMigration(
        facts(knexV2Layout("old"), { target: { exists: true, copyingFrom, layout: target } }),
        request("old", "new"),
      );
      assert.deepEqual(kinds(plan), ["copy", "install"]);
      assert.equal(stepOf(plan, 0, "copy").copy.resume, false);
    }
  });

  it("takes the target's sid column whatever the case of its name", () => {
    const target = storeLayout("new", { key: column("SID", "varchar(255)") });
    const plan = planMigration(
      facts(knexV2Layout("old"), { target: { exists: true, copyingFrom: "old", layout: target } }),
      request("old", "new"),
    );
    assert.deepEqual(kinds(plan), ["copy", "install"]);
  });

  it("refuses a target that exists and is not exactly in this store's layout", () => {
    const message = "table `new` exists and is not in this store's layout: choose another " +
      "--to, or migrate `new` itself first";
    const targets: TableLayout[] = [
      expressLayout("new"),
      knexV2Layout("new"),
      storeLayout("new", { comment: "knex-mysql-session schema 1", user: undefined }),
      storeLayout("new", { marked: false }),
      storeLayout("new", { userIndexed: false }),
      storeLayout("new", { expiryIndexed: false }),
      storeLayout("new", { key: column("id", "varchar(255)") }),
      storeLayout("new", { key: column("sid", "varchar(255)", { collation: MARIADB }) }),
    ];
    for (const layout of targets) {
      refuses(
        facts(knexV2Layout("old"), { target: { exists: true, copyingFrom: "old", layout } }),
        request("old", "new"),
        message,
      );
    }
  });
});
