import { inspectTable, stampedVersion } from "../../schema_setup.ts";
import { procedureName, PROCEDURES, SCHEMA_VERSION, type SchemaNames } from "../../sql.ts";
import { toSqlDateTime } from "../../time.ts";
import { TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, onTable } from "../command.ts";
import type { Connection } from "../admin_connection.ts";
import { CliError } from "../failures.ts";
import { println } from "../io.ts";
import { describeLayout, detectLayout, type TableLayout } from "../layout.ts";
import { type InstalledProcedure, installedProcedures } from "../schema_state.ts";

interface Counts {
  live: number;
  expired: number;
  /** Destroyed sessions' markers not yet expired (schema 3): not sessions, not yet swept. */
  markers: number;
  oldestExpired: string | null;
}

async function countSessions(connection: Connection, layout: TableLayout): Promise<Counts> {
  const now = Date.now();
  // express-mysql-session keeps unix seconds; connect-session-knex and this store DATETIME.
  const [expiry, nowValue] = layout.family === "express-mysql-session"
    ? [`\`${layout.expiry.name}\``, Math.floor(now / 1000)]
    : ["`expired`", toSqlDateTime(now)];
  const oldest = layout.family === "express-mysql-session"
    ? `TIMESTAMPADD(SECOND, MIN(CASE WHEN ${expiry} <= ? THEN ${expiry} END), '1970-01-01')`
    : `MIN(CASE WHEN ${expiry} <= ? THEN ${expiry} END)`;
  const destroyed = layout.marked ? "`destroyed`" : "FALSE";
  const [row] = await connection.step(
    "SELECT",
    () =>
      connection.db.execute<
        {
          live: string | number | null;
          markers: string | number | null;
          expired: string | number | null;
          oldest: unknown;
        }
      >(
        `SELECT SUM(${expiry} > ? AND NOT ${destroyed}) AS live, ` +
          `SUM(${expiry} > ? AND ${destroyed}) AS markers, SUM(${expiry} <= ?) AS expired, ` +
          `CAST(${oldest} AS CHAR) AS oldest FROM \`${layout.table}\``,
        [nowValue, nowValue, nowValue, nowValue],
      ),
  );
  return {
    live: Number(row?.live ?? 0),
    markers: Number(row?.markers ?? 0),
    expired: Number(row?.expired ?? 0),
    oldestExpired: row?.oldest ? String(row.oldest) : null,
  };
}

/** What weakens the store or will stop it, each with what to do about it. */
async function schemaWarnings(
  connection: Connection,
  names: SchemaNames,
  layout: TableLayout,
  procedures: InstalledProcedure[],
): Promise<string[]> {
  if (layout.family === "express-mysql-session") {
    return [
      `table \`${names.table}\` has express-mysql-session's layout, which this store cannot ` +
      `use: run migrate --from ${names.table}`,
    ];
  }
  const table = await connection.step("SELECT", () => inspectTable(connection.db, names));
  const warnings = table?.warnings ?? [];
  // An old store's table: one migrate does all that follows, so every warning names it.
  const unstamped = stampedVersion(layout.comment) === undefined;
  const migrate = `run migrate --from ${names.table}`;
  if (!layout.expiryIndexed) {
    warnings.push(
      "no index on `expired`: every cleanup scans the whole table. Add one with " +
        `migrate --from ${names.table}, or CREATE INDEX \`${names.table}_expired_index\` ` +
        `ON \`${names.table}\` (\`expired\`)`,
    );
  }
  if (!layout.user || !layout.userIndexed) {
    warnings.push(
      `no ${layout.user ? "index on the " : ""}owner column \`user_id\` of schema version ` +
        `${SCHEMA_VERSION}: ${
          unstamped ? migrate : "run upgrade (it adds it online, with progress)"
        }`,
    );
  }
  if (table?.userIndexWide) {
    warnings.push(
      `the index \`${names.table}_user_index\` is schema 2's (\`user_id\`, \`expired\`), which ` +
        "every touch rewrites: run upgrade (it rebuilds it online on `user_id` alone)",
    );
  }
  if (!layout.marked) {
    warnings.push(
      `no column \`destroyed\` of schema version ${SCHEMA_VERSION} (it marks destroyed ` +
        `sessions): ${unstamped ? migrate : "run upgrade (it adds it in place, instantly)"}`,
    );
  }
  const present = new Set(procedures.map((procedure) => procedure.name));
  const missing = PROCEDURES.map((procedure) => procedureName(names.table, procedure))
    .filter((name) => !present.has(name.toLowerCase()));
  if (missing.length > 0) {
    warnings.push(
      `procedures of schema version ${SCHEMA_VERSION} missing: ${missing.join(", ")}: ` +
        (unstamped ? migrate : "run install"),
    );
  }
  const older = [
    ...new Set(
      procedures.filter((p) => p.version < SCHEMA_VERSION).map((p) => p.version),
    ),
  ];
  if (older.length > 0) {
    warnings.push(
      `old procedure version ${older.map((v) => `v${v}`).join(", ")} still installed: once no ` +
        "app runs it, drop it with upgrade --prune",
    );
  }
  const stamped = stampedVersion(layout.comment);
  if (stamped !== undefined && stamped < SCHEMA_VERSION) {
    warnings.push(`the table is stamped schema version ${stamped}: run upgrade`);
  }
  return warnings;
}

export const statusCommand: Command = {
  spec: {
    name: "status",
    summary: "show schema version, session counts, expired backlog and warnings",
    positionals: [],
    options: [...TABLE_OPTIONS, URL_OPTION],
    details:
      "Shows the table's schema version and procedures, how many sessions are live and how\n" +
      "many expired ones wait for cleanup, the sid column's collation, and warns about what\n" +
      "weakens the store: a case-insensitive sid collation, no index on `expired`, missing\n" +
      "or old procedures. Exit code 0 even with warnings; 1 when the table does not exist.",
  },
  run: onTable(async (connection, names, _parsed, io) => {
    const layout = await connection.step(
      "SELECT",
      () => detectLayout(connection, names.table, names.sid),
    );
    if (!layout) {
      throw new CliError(
        `table \`${names.table}\` does not exist in \`${connection.server.database}\`: run install`,
      );
    }
    const counts = await countSessions(connection, layout);
    const procedures = await installedProcedures(connection, names.table);
    const versions = [...new Set(procedures.map((p) => `v${p.version}`))];
    const { key } = layout;
    println(io.stdout, `table:      \`${connection.server.database}\`.\`${names.table}\``);
    println(io.stdout, `server:     ${connection.server.version}`);
    println(io.stdout, `layout:     ${describeLayout(layout)}`);
    println(
      io.stdout,
      `procedures: ${versions.length > 0 ? versions.join(", ") : "none"} ` +
        `(${procedures.length} installed; current version v${SCHEMA_VERSION})`,
    );
    println(
      io.stdout,
      `sessions:   ${counts.live} live, ${counts.expired} expired` +
        (counts.markers > 0 ? `, ${counts.markers} destroyed (markers, until they expire)` : ""),
    );
    println(
      io.stdout,
      `backlog:    ${counts.oldestExpired ? `expired since ${counts.oldestExpired} UTC` : "none"}`,
    );
    println(io.stdout, `sid column: \`${key.name}\` ${key.columnType} ${key.collation ?? ""}`);
    for (const warning of await schemaWarnings(connection, names, layout, procedures)) {
      println(io.stderr, `warning: ${warning}`);
    }
  }),
};
