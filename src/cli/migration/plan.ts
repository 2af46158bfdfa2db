// The plan of a migration: pure, from facts gathered about the server, so that --dry-run
// prints exactly what a real run does.
import { createTableSql, procedureName, PROCEDURES, type SchemaNames } from "../../sql.ts";
import { MAX_IDENTIFIER_LENGTH } from "../../identifiers.ts";
import { CliError } from "../failures.ts";
import { type Column, layoutDifferences, type TableLayout } from "../layout.ts";

/** What a copy target already is, when it exists. */
export type TargetState =
  | { exists: false }
  /** A target a previous run began copying into from `from`: the copy resumes. */
  | { exists: true; copyingFrom: string | undefined; layout: TableLayout };

export interface MigrationFacts {
  source: TableLayout;
  /** The sid collation this server's install uses. */
  sidCollation: string;
  /** The copy target, for a copy. */
  target: TargetState;
  /** Whether the in-place copy's backup name is taken (express-mysql-session in place). */
  backupExists: boolean;
  /** Rows whose data is not valid JSON (they block an in-place change of `sess` to JSON). */
  invalidJsonRows: number;
  /** Lower-cased names of the source table's procedures of the current version. */
  currentProcedures: string[];
}

export interface MigrationRequest {
  from: string;
  /** The table to copy into; undefined (or `from`) converts in place. */
  to: string | undefined;
  /** The sid column name, of the source's connect-session-knex layout and of the result. */
  sid: string;
}

/** How one batch of the copy is built; see copyBatchSql. */
export interface CopySpec {
  from: string;
  to: string;
  sid: string;
  key: Column;
  /** The SELECT expressions for sid, sess and expired, reading the source as `s`. */
  sessExpression: string;
  expiredExpression: string;
  /** Only live sessions are copied: `<expiry column> > ?` with `now` in this unit. */
  expiryColumn: string;
  now: "datetime" | "unix-seconds";
  /** Resume after the rows a previous, interrupted run copied. */
  resume: boolean;
}

type Step =
  | { kind: "sql"; description: string; sql: string; privilege: string }
  | { kind: "copy"; description: string; copy: CopySpec }
  | { kind: "drop-procedures"; description: string; procedures: string[] }
  | { kind: "install"; description: string; names: SchemaNames };

export interface Plan {
  /** The table the sessions are in at the end; point the store at it. */
  result: string;
  steps: Step[];
  /** What the user must know: the old app and the result, the rollback. */
  notes: string[];
}

/** The comment that marks a copy target while rows are being copied into it. */
function copyingComment(from: string): string {
  return `knex-mysql-session: copying from ${from}`;
}

/** The source table a copyingComment names, if `comment` is one. */
export function copyingSource(comment: string): string | undefined {
  const prefix = copyingComment("");
  const source = comment.startsWith(prefix) ? comment.slice(prefix.length) : "";
  return source === "" ? undefined : source;
}

/** The names an in-place migration of express-mysql-session's layout uses on the way. */
export function stagingTable(from: string): string {
  return `${from}_kms_staging`;
}
export function backupTable(from: string): string {
  return `${from}_kms_backup`;
}

/** One batch of the copy: source rows in a key range (either bound optional) that are live. */
export function copyBatchSql(
  copy: CopySpec,
  bounds: { lower: boolean; upper: boolean },
): string {
  const key = `s.\`${copy.key.name}\``;
  const target = `\`${copy.to}\``;
  // The batch is a derived table named after the target, so that no name of the user's (a
  // target called `s`, say) meets one of ours. Its columns are read in ON DUPLICATE KEY UPDATE
  // by name: VALUES(col) would do too, but MySQL deprecates it (warning 1287).
  const batch = `\`${copy.to}_copy\``;
  const conditions = [
    ...(bounds.lower ? [`${key} > ?`] : []),
    ...(bounds.upper ? [`${key} <= ?`] : []),
    `s.\`${copy.expiryColumn}\` > ?`,
    `JSON_VALID(${copy.sessExpression})`,
  ];
  return `INSERT INTO ${target} (\`${copy.sid}\`, \`sess\`, \`expired\`)\n` +
    `SELECT * FROM (\n` +
    `  SELECT ${key} AS \`sid\`, ${copy.sessExpression} AS \`sess\`, ` +
    `${copy.expiredExpression} AS \`expired\`\n` +
    `  FROM \`${copy.from}\` AS s\n  WHERE ${conditions.join(" AND ")}\n` +
    `) AS ${batch}\n` +
    // A row already in the target (an earlier run's copy, or a session the new app has saved
    // since) is replaced only by a copy that expires later: running the copy again brings over
    // what the old app changed and never reverts what the new app did. `sess` is assigned
    // first, while `expired` still holds the target's value.
    `ON DUPLICATE KEY UPDATE ${target}.\`sess\` = ` +
    `IF(${batch}.\`expired\` > ${target}.\`expired\`, ${batch}.\`sess\`, ${target}.\`sess\`), ` +
    `${target}.\`expired\` = GREATEST(${target}.\`expired\`, ${batch}.\`expired\`)`;
}

function alterInPlace(facts: MigrationFacts): Step[] {
  const { source } = facts;
  // The owner and marker columns and the owner index are the install step's, as for any table
  // before schema 3.
  const { user: _, userIndex: __, marker: ___, ...differences } = layoutDifferences(
    source,
    facts.sidCollation,
  );
  const changes: string[] = [];
  if (differences.sid) {
    changes.push(
      `MODIFY \`${source.key.name}\` VARCHAR(255) CHARACTER SET utf8mb4 ` +
        `COLLATE ${facts.sidCollation} NOT NULL`,
    );
  }
  if (differences.sess) {
    if (facts.invalidJsonRows > 0) {
      throw new CliError(
        `${facts.invalidJsonRows} row(s) of \`${source.table}\` hold a \`sess\` that is not ` +
          "valid JSON (the old store could not read them either), so `sess` cannot become " +
          `JSON in place: delete them (DELETE FROM \`${source.table}\` WHERE NOT ` +
          "JSON_VALID(`sess`) OR `sess` IS NULL), or copy with --to, which skips them",
      );
    }
    changes.push("MODIFY `sess` JSON NOT NULL");
  }
  if (differences.expired) changes.push("MODIFY `expired` DATETIME NOT NULL");
  if (differences.index) {
    changes.push(`ADD INDEX \`${source.table}_expired_index\` (\`expired\`)`);
  }
  if (changes.length === 0) return [];
  const steps: Step[] = [{
    kind: "sql",
    description: `convert \`${source.table}\` in place: ${Object.values(differences).join("; ")}`,
    sql: `ALTER TABLE \`${source.table}\`\n  ${changes.join(",\n  ")}`,
    privilege: "ALTER",
  }];
  if (differences.sid && facts.currentProcedures.length > 0) {
    // Their sid parameter has the old column's collation: comparing it with the converted
    // column would be an "Illegal mix of collations". The install step recreates them.
    steps.push({
      kind: "drop-procedures",
      description: "drop the procedures typed for the old sid column (install recreates them)",
      procedures: facts.currentProcedures,
    });
  }
  return steps;
}

function copySteps(facts: MigrationFacts, request: MigrationRequest, to: string): Step[] {
  const { source, target } = facts;
  const steps: Step[] = [];
  if (!target.exists) {
    steps.push({
      kind: "sql",
      description: `create \`${to}\` in this store's layout`,
      sql: createTableSql({ table: to, sid: request.sid }, facts.sidCollation),
      privilege: "CREATE",
    }, {
      kind: "sql",
      description: `mark \`${to}\` as being copied into (a later run resumes the copy)`,
      sql: `ALTER TABLE \`${to}\` COMMENT = '${copyingComment(source.table)}'`,
      privilege: "ALTER",
    });
  } else if (
    target.layout.family !== "connect-session-knex" ||
    Object.keys(layoutDifferences(target.layout, facts.sidCollation)).length > 0 ||
    target.layout.key.name.toLowerCase() !== request.sid.toLowerCase()
  ) {
    // The staging table of an in-place migration is named by the plan, not by the user.
    const fix = to === stagingTable(source.table)
      ? `drop or rename \`${to}\` (a table this migration did not make), then run it again`
      : `choose another --to, or migrate \`${to}\` itself first`;
    throw new CliError(`table \`${to}\` exists and is not in this store's layout: ${fix}`);
  }
  const express = source.family === "express-mysql-session";
  const resume = target.exists && target.copyingFrom === source.table;
  steps.push({
    kind: "copy",
    description: `copy live sessions from \`${source.table}\` into \`${to}\` in batches` +
      (resume ? ", resuming after the rows an interrupted run copied" : "") +
      (express ? "; `expires` (unix seconds) becomes `expired` (UTC DATETIME)" : ""),
    copy: {
      from: source.table,
      to,
      sid: request.sid,
      key: source.key,
      sessExpression: `s.\`${source.data.name}\``,
      expiredExpression: express
        ? `TIMESTAMP('1970-01-01 00:00:00') + INTERVAL s.\`${source.expiry.name}\` SECOND`
        : `s.\`${source.expiry.name}\``,
      expiryColumn: source.expiry.name,
      now: express ? "unix-seconds" : "datetime",
      resume,
    },
  });
  return steps;
}

/**
 * The install step; `columns` when the table still needs schema 2's owner column or index, or
 * schema 3's marker column.
 */
function installStep(names: SchemaNames, columns = false): Step {
  return {
    kind: "install",
    description:
      (columns
        ? `add what \`${names.table}\` lacks of the columns \`user_id\` and \`destroyed\` and ` +
          "the index on `user_id` (online), "
        : "") +
      `install the procedures of \`${names.table}\` and stamp its schema version ` +
      `(${PROCEDURES.map((p) => procedureName(names.table, p)).join(", ")})`,
    names,
  };
}

/** The steps that bring `request.from`'s sessions into this store's layout. */
export function planMigration(facts: MigrationFacts, request: MigrationRequest): Plan {
  const { source } = facts;
  const inPlace = request.to === undefined || request.to === request.from;
  if (!inPlace) {
    const to = request.to as string;
    return {
      result: to,
      steps: [...copySteps(facts, request, to), installStep({ table: to, sid: request.sid })],
      notes: [
        `\`${request.from}\` is left as it is: the old app can keep using it; run the same ` +
        "command again just before switching to copy what changed since (sessions deleted " +
        `from \`${request.from}\` in between stay in \`${to}\` until they expire).`,
        `Point the new app at \`${to}\`: new KnexMySQLStore({ tablename: "${to}" }).`,
      ],
    };
  }
  if (source.family === "connect-session-knex") {
    const alter = alterInPlace(facts);
    return {
      result: source.table,
      steps: [
        ...alter,
        installStep(
          { table: source.table, sid: request.sid },
          !source.user || !source.userIndexed || !source.marked,
        ),
      ],
      notes: [
        alter.length > 0
          ? `The ALTER rebuilds \`${source.table}\` (writes wait until it finishes; for a very ` +
            "large table, prefer --to). The old connect-session-knex app keeps working on the " +
            "converted table, so old and new app can run side by side and you can roll back " +
            "by pointing the app back."
          : `\`${source.table}\` is already in this store's layout.`,
      ],
    };
  }
  const staging = stagingTable(source.table);
  if (`${staging}_expired_index`.length > MAX_IDENTIFIER_LENGTH) {
    throw new CliError(
      `\`${source.table}\` is too long a name to convert in place (the index of its staging ` +
        `table would pass ${MAX_IDENTIFIER_LENGTH} characters): copy it with --to <table>`,
    );
  }
  if (facts.backupExists) {
    throw new CliError(
      `\`${backupTable(source.table)}\` exists: a previous migration kept the original there. ` +
        "Drop or rename it first",
    );
  }
  return {
    result: source.table,
    steps: [
      ...copySteps(facts, { ...request, to: staging }, staging),
      {
        kind: "sql",
        description: `swap: keep the original as \`${backupTable(source.table)}\`, put the ` +
          `converted table in its place`,
        sql: `RENAME TABLE \`${source.table}\` TO \`${backupTable(source.table)}\`, ` +
          `\`${staging}\` TO \`${source.table}\``,
        privilege: "DROP",
      },
      installStep({ table: source.table, sid: request.sid }),
    ],
    notes: [
      "express-mysql-session cannot read the converted table: stop (or switch) the old app " +
      "when the swap happens; sessions it writes during the copy after their batch are lost.",
      `Roll back with RENAME TABLE \`${source.table}\` TO \`${staging}\`, ` +
      `\`${backupTable(source.table)}\` TO \`${source.table}\`.`,
    ],
  };
}
