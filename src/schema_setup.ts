import type { Database } from "./database.ts";
import { ER, errnoOf, isAccessDenied, messageOf } from "./driver_errors.ts";
import { SessionStoreError } from "./errors.ts";
import {
  comparesLikeJavaScript,
  isCaseSensitiveCollation,
  type ServerKind,
  serverKindOf,
  SID_COLLATION,
  unsupportedVersion,
} from "./server.ts";
import {
  type ColumnType,
  createProcedureSql,
  createTableSql,
  markerColumnSql,
  narrowUserIndexSql,
  type ParameterTypes,
  procedureName,
  PROCEDURES,
  procedureSignature,
  SCHEMA_VERSION,
  type SchemaNames,
  userColumnSql,
} from "./sql.ts";

/** What the store learns about the server when it starts. */
export interface ServerFacts {
  server: ServerKind;
  /** The largest packet the server accepts; a bigger statement makes it drop the connection. */
  maxAllowedPacket: number;
  /** Whether the sid column compares ids as JavaScript does (see comparesLikeJavaScript). */
  sidComparesLikeJavaScript: boolean;
  /** Things that weaken the store but do not stop it, e.g. a case-insensitive sid column. */
  warnings: string[];
}

function schemaError(message: string, cause?: unknown): SessionStoreError {
  return new SessionStoreError("ERR_SCHEMA", message, { cause });
}

interface Connection {
  server: ServerKind;
  maxAllowedPacket: number;
  /** CURRENT_USER() as a GRANT names it, and the database. */
  account: string;
  database: string;
}

async function serverSettings(db: Database): Promise<Connection> {
  const [row] = await db.execute<
    {
      version: string;
      max_allowed_packet: number | string;
      charset: string;
      db: string | null;
      account: string;
    }
  >(
    "SELECT VERSION() AS version, @@max_allowed_packet AS max_allowed_packet, " +
      "@@character_set_connection AS charset, DATABASE() AS db, CURRENT_USER() AS account",
    [],
  );
  if (!row?.db) {
    throw new SessionStoreError(
      "ERR_CONFIG",
      "the connection has no database selected: name one in the connection (the path of a " +
        "mysql:// URL, or `database` in a config object)",
    );
  }
  const tooOld = unsupportedVersion(row.version);
  if (tooOld) throw new SessionStoreError("ERR_CONFIG", tooOld);
  if (row.charset !== "utf8mb4") {
    // Anything narrower turns characters it cannot hold into '?', so two different session
    // ids or payloads could become one.
    throw new SessionStoreError(
      "ERR_CONFIG",
      `the connection's character set is ${row.charset}, not utf8mb4: set charset: "utf8mb4" ` +
        'in the knex connection config (the "mysql" client defaults to utf8, which is ' +
        'utf8mb3; "mysql2" defaults to utf8mb4), so that every session id and session ' +
        "survives the trip",
    );
  }
  const at = row.account.lastIndexOf("@");
  return {
    server: serverKindOf(row.version),
    maxAllowedPacket: Number(row.max_allowed_packet),
    account: at < 0 ? row.account : `'${row.account.slice(0, at)}'@'${row.account.slice(at + 1)}'`,
    database: row.db,
  };
}

interface ColumnRow {
  name: string;
  charset: string | null;
  collation: string | null;
}

/** What the start-up needs to know of the table. */
export interface TableFacts {
  /** The types of the sid and (when the table has it) user_id columns. */
  types: { sid: ColumnType; user: ColumnType | undefined };
  /** Whether an index starts with user_id. */
  userIndexed: boolean;
  /** Whether the owner index is schema 2's (`user_id`, `expired`), which every expiry change rewrites. */
  userIndexWide: boolean;
  /** Whether the table has schema 3's `destroyed` column, which marks destroyed sessions. */
  marked: boolean;
  warnings: string[];
}

function columnType(column: ColumnRow): ColumnType {
  return { charset: column.charset ?? "utf8mb4", collation: column.collation ?? "utf8mb4_bin" };
}

/** Checks the table's columns; undefined when there is no such table (or it is not visible). */
export async function inspectTable(
  db: Database,
  names: SchemaNames,
): Promise<TableFacts | undefined> {
  const columns = await db.execute<ColumnRow>(
    "SELECT COLUMN_NAME AS name, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation " +
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [names.table],
  );
  if (columns.length === 0) return undefined;
  const byName = new Map(columns.map((column) => [column.name.toLowerCase(), column]));
  const missing = [names.sid, "sess", "expired"].filter((name) => !byName.has(name.toLowerCase()));
  if (missing.length > 0) {
    throw schemaError(
      `table \`${names.table}\` has no column ${missing.map((m) => `\`${m}\``).join(", ")}: ` +
        "it is not a session table of this layout (see `npx knex-mysql-session migrate`)",
    );
  }
  const sid = byName.get(names.sid.toLowerCase()) as ColumnRow;
  const warnings: string[] = [];
  const collation = sid.collation ?? "binary";
  if (!isCaseSensitiveCollation(collation)) {
    warnings.push(
      `column \`${names.table}\`.\`${names.sid}\` has the case-insensitive collation ` +
        `${collation}: session ids that differ only in case name one session. Convert it with ` +
        `\`npx knex-mysql-session migrate --from ${names.table}\`.`,
    );
  }
  const user = byName.get("user_id");
  // The table's index columns, judged here: a correlated subquery over information_schema in
  // a prepared statement crashed a MariaDB 10.11.19 server once (signal 11 while it built the
  // subquery's temporary table) under concurrent DDL.
  const indexColumns = user
    ? await db.execute<{ name: string; seq: number | string; column: string }>(
      "SELECT INDEX_NAME AS name, SEQ_IN_INDEX AS seq, COLUMN_NAME AS `column` " +
        "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
      [names.table],
    )
    : [];
  // Names compared as the server does, without regard to case.
  const userIndexes = new Set(
    indexColumns.filter((row) => Number(row.seq) === 1 && row.column.toLowerCase() === "user_id")
      .map((row) => row.name.toLowerCase()),
  );
  const ownIndex = `${names.table}_user_index`.toLowerCase();
  return {
    types: { sid: columnType(sid), user: user && columnType(user) },
    userIndexed: userIndexes.size > 0,
    userIndexWide: userIndexes.has(ownIndex) &&
      indexColumns.some((row) => row.name.toLowerCase() === ownIndex && Number(row.seq) === 2),
    marked: byName.has("destroyed"),
    warnings,
  };
}

/**
 * The procedures whose names start with `<table>_`, by lower-cased name, with their comments.
 * An account with EXECUTE on a routine sees it here, comment included, on MySQL and MariaDB.
 */
export async function existingProcedures(
  db: Database,
  table: string,
): Promise<Map<string, string>> {
  const rows = await db.execute<{ name: string; comment: string }>(
    "SELECT ROUTINE_NAME AS name, ROUTINE_COMMENT AS comment FROM information_schema.ROUTINES " +
      "WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME LIKE ?",
    [`${table.replace(/_/g, "\\_")}\\_%`],
  );
  return new Map(rows.map((row) => [row.name.toLowerCase(), row.comment]));
}

const STAMP = /^knex-mysql-session schema (\d+)$/;

/** The comment of `table`, or undefined when there is no such table (or it is not visible). */
export async function tableComment(db: Database, table: string): Promise<string | undefined> {
  const [row] = await db.execute<{ comment: string }>(
    "SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES " +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  return row?.comment;
}

/** The table comment that says which schema version a table has. */
function schemaStamp(version: number = SCHEMA_VERSION): string {
  return `knex-mysql-session schema ${version}`;
}

/** The schema version a table comment stamps, if it is a stamp. */
export function stampedVersion(comment: string): number | undefined {
  const match = STAMP.exec(comment);
  return match ? Number(match[1]) : undefined;
}

/**
 * The usual fix when the app's account may not change the schema: set it up once with the
 * schema owner's account, then run the app with fewer rights. On an old store's table (one
 * this store has not stamped), that set-up is the one `migrate` that converts it, as `status`
 * says.
 */
async function installAdvice(db: Database, names: SchemaNames, connection: Connection) {
  const comment = await tableComment(db, names.table);
  const sid = names.sid === "sid" ? "" : ` --sid ${names.sid}`;
  const setUp = comment !== undefined && stampedVersion(comment) === undefined
    ? `\`${names.table}\` is an old store's table (not stamped by knex-mysql-session): run ` +
      `\`npx knex-mysql-session migrate --from ${names.table}${sid}\``
    : `run \`npx knex-mysql-session install --table ${names.table} --sid ${names.sid}\``;
  return `${setUp} once with the schema owner's account, then \`npx knex-mysql-session grant ` +
    `${connection.account} --table ${names.table} --apply\`, and start the store with ` +
    "createtable: false";
}

async function createTable(db: Database, names: SchemaNames, connection: Connection) {
  try {
    await db.query(createTableSql(names, SID_COLLATION[connection.server]));
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    const advice = await installAdvice(db, names, connection);
    throw new SessionStoreError(
      "ERR_ACCESS_DENIED",
      `table \`${names.table}\` does not exist and ${connection.account} may not create it ` +
        `(server said: ${messageOf(error)}): ${advice}; or GRANT ` +
        `CREATE ON \`${connection.database}\`.* TO ${connection.account}`,
      { cause: error },
    );
  }
}

/** Procedures of the current version that are missing, or were made for another layout. */
function procedureProblems(existing: Map<string, string>, names: SchemaNames, sidType: ColumnType) {
  const signature = procedureSignature(names, sidType);
  const missing: string[] = [];
  const foreign: string[] = [];
  for (const procedure of PROCEDURES) {
    const name = procedureName(names.table, procedure);
    const comment = existing.get(name.toLowerCase());
    if (comment === undefined) missing.push(name);
    else if (!comment.endsWith(signature)) foreign.push(name);
  }
  return { missing, foreign, signature };
}

async function installProcedures(
  db: Database,
  names: SchemaNames,
  types: ParameterTypes,
  connection: Connection,
  problems: { missing: string[]; foreign: string[] },
) {
  try {
    // One made for another layout is replaced: every call to it would fail anyway.
    for (const name of problems.foreign) await db.query(`DROP PROCEDURE IF EXISTS \`${name}\``);
    for (const procedure of PROCEDURES) {
      const name = procedureName(names.table, procedure);
      if (!problems.missing.includes(name) && !problems.foreign.includes(name)) continue;
      try {
        await db.query(createProcedureSql(names, procedure, types, connection.server));
      } catch (error) {
        // Another store starting at the same moment created it first.
        if (errnoOf(error) !== ER.SP_ALREADY_EXISTS) throw error;
      }
    }
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    const advice = await installAdvice(db, names, connection);
    throw new SessionStoreError(
      "ERR_ACCESS_DENIED",
      `stored procedure(s) ${[...problems.foreign, ...problems.missing].join(", ")} of schema ` +
        `version ${SCHEMA_VERSION} must be ${problems.foreign.length > 0 ? "re" : ""}created ` +
        `and ${connection.account} may not (server said: ${messageOf(error)}): ` +
        `${advice}; or GRANT CREATE ROUTINE, ALTER ROUTINE ON ` +
        `\`${connection.database}\`.* TO ${connection.account}`,
      { cause: error },
    );
  }
}

function refuseProcedures(
  names: SchemaNames,
  connection: Connection,
  problems: { missing: string[]; foreign: string[]; signature: string },
): never {
  const fix = `\`npx knex-mysql-session install --table ${names.table} --sid ${names.sid}\` ` +
    "(or start the store with createtable: true)";
  if (problems.foreign.length > 0) {
    throw schemaError(
      `stored procedure(s) ${problems.foreign.join(", ")} were made for another table layout ` +
        `(their comment does not end with "${problems.signature}"), and every call to them ` +
        `would fail: reinstall them with ${fix}, which replaces them`,
    );
  }
  throw schemaError(
    `stored procedure(s) ${problems.missing.join(", ")} of schema version ${SCHEMA_VERSION} ` +
      `are missing, or ${connection.account} lacks EXECUTE on them: install them with ${fix} ` +
      "(`upgrade` for a table of an older schema version), then grant EXECUTE with " +
      `\`npx knex-mysql-session grant ${connection.account} --table ${names.table} --apply\``,
  );
}

/** Stamps the schema version in the table comment; a refusal only weakens `status`. */
async function stampVersion(db: Database, table: string, warnings: string[]) {
  const comment = schemaStamp();
  if (await tableComment(db, table) === comment) return;
  try {
    // A table made by another store (connect-session-knex) gets the stamp once its procedures
    // are in place. Changing a comment is metadata-only on InnoDB.
    await db.query(`ALTER TABLE \`${table}\` COMMENT = '${comment}'`);
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    warnings.push(
      `could not stamp \`${table}\` with its schema version (no ALTER privilege), so ` +
        "`npx knex-mysql-session status` shows it unstamped: run `install` once with the " +
        "schema owner's account",
    );
  }
}

/** DDL on a table of any size: an index build takes time proportional to it. */
const ALTER_TIMEOUT = 30 * 60_000;

/** Whether a table lacks a column or index the current schema needs, or has schema 2's index. */
function lacksColumns(table: TableFacts): boolean {
  return !table.types.user || !table.userIndexed || table.userIndexWide || !table.marked;
}

/**
 * The current schema on a table made before it (knex-mysql-session 0.1, connect-session-knex,
 * or an earlier schema): the owner column and its index (schema 2), the marker column of
 * destroyed sessions (schema 3). With `install`, added in place (the columns instantly, the
 * index online); without, a missing column is an error naming the fix and a missing index a
 * warning.
 */
async function addMissingColumns(
  db: Database,
  names: SchemaNames,
  connection: Connection,
  table: TableFacts,
  install: boolean,
): Promise<TableFacts> {
  const upgrade = `\`npx knex-mysql-session upgrade --table ${names.table} --sid ${names.sid}\``;
  if (!install) {
    const missing = [
      ...(table.types.user ? [] : ["`user_id` (schema 2 keeps each session's owner there)"]),
      ...(table.marked ? [] : ["`destroyed` (schema 3 marks destroyed sessions there)"]),
    ];
    if (missing.length > 0) {
      throw schemaError(
        `table \`${names.table}\` has no column ${missing.join(", nor ")}: add ` +
          `${missing.length > 1 ? "them" : "it"} with ${upgrade} (online), or start once with ` +
          "createtable: true",
      );
    }
    table.warnings.push(
      table.userIndexWide
        ? `the index \`${names.table}_user_index\` is schema 2's (\`user_id\`, \`expired\`), ` +
          `which every touch rewrites: narrow it to \`user_id\` with ${upgrade} (online)`
        : `no index on \`${names.table}\`.\`user_id\`: sessionsOf, countOf and destroyUser ` +
          `scan the whole table. Add it with ${upgrade}`,
    );
    return table;
  }
  const [column, index] = userColumnSql(names.table, SID_COLLATION[connection.server]);
  const steps: [string, number][] = [
    ...(table.types.user ? [] : [[column, ER.DUP_FIELDNAME] as [string, number]]),
    ...(table.userIndexed ? [] : [[index, ER.DUP_KEYNAME] as [string, number]]),
    // Another store narrowing it at the same moment: the second ALTER finds it narrow already
    // and rebuilds it once more, which changes nothing.
    ...(table.userIndexWide ? [[narrowUserIndexSql(names.table), 0] as [string, number]] : []),
    ...(table.marked ? [] : [[markerColumnSql(names.table), ER.DUP_FIELDNAME] as [string, number]]),
  ];
  try {
    for (const [sql, duplicate] of steps) {
      // Another store starting at the same moment may have added it first.
      await db.query(sql, [], ALTER_TIMEOUT).catch((error) => {
        if (errnoOf(error) !== duplicate) throw error;
      });
    }
  } catch (error) {
    if (!isAccessDenied(error)) throw error;
    const advice = await installAdvice(db, names, connection);
    throw new SessionStoreError(
      "ERR_ACCESS_DENIED",
      `table \`${names.table}\` needs the columns \`user_id\` and \`destroyed\` and the index ` +
        `on \`user_id\` (schema ${SCHEMA_VERSION}) and ${connection.account} may not add them ` +
        `(server said: ${messageOf(error)}): ${advice}; or GRANT ALTER ON ` +
        `\`${connection.database}\`.* TO ${connection.account}`,
      { cause: error },
    );
  }
  return await inspectTable(db, names) as TableFacts;
}

/**
 * Makes the schema usable: with `install`, creates only what is missing of the table and
 * procedures (idempotent, safe for many stores starting at once, and needing no DDL privilege
 * when everything is in place); without, checks they are there. Procedures are checked by the
 * layout their comment names, not by name alone. Set-up problems throw a SessionStoreError
 * (ERR_CONFIG, ERR_SCHEMA, ERR_ACCESS_DENIED) whose message names the fix.
 */
export async function prepareSchema(
  db: Database,
  names: SchemaNames,
  install: boolean,
): Promise<ServerFacts> {
  const connection = await serverSettings(db);
  let table = await inspectTable(db, names);
  if (!table && install) {
    await createTable(db, names, connection);
    table = await inspectTable(db, names);
  }
  if (!table) {
    throw schemaError(
      `table \`${names.table}\` does not exist (or ${connection.account} cannot see it): ` +
        "create it with the option createtable: true, or `npx knex-mysql-session install`",
    );
  }
  if (lacksColumns(table)) table = await addMissingColumns(db, names, connection, table, install);
  const { types, warnings } = table;
  const user = types.user as ColumnType;
  const problems = procedureProblems(await existingProcedures(db, names.table), names, types.sid);
  if (problems.missing.length > 0 || problems.foreign.length > 0) {
    if (!install) refuseProcedures(names, connection, problems);
    await installProcedures(db, names, { sid: types.sid, user }, connection, problems);
  }
  if (install) await stampVersion(db, names.table, warnings);
  return {
    server: connection.server,
    maxAllowedPacket: connection.maxAllowedPacket,
    sidComparesLikeJavaScript: comparesLikeJavaScript(types.sid.collation),
    warnings,
  };
}
