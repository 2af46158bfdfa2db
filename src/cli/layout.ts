// Which session-table layout a table has: this store's, connect-session-knex's (every major
// wrote `<sid>`/`sess`/`expired`, differing in types, collation and index), or
// express-mysql-session's (`session_id`/`expires` in unix seconds/`data`).
import { stampedVersion, tableComment } from "../schema_setup.ts";
import { isCaseSensitiveCollation } from "../server.ts";
import type { Connection } from "./admin_connection.ts";
import { CliError } from "./failures.ts";

export interface Column {
  name: string;
  dataType: string;
  columnType: string;
  charset: string | null;
  collation: string | null;
  nullable: boolean;
  /** MySQL's JSON type, or MariaDB's JSON alias (LONGTEXT with a json_valid check). */
  json: boolean;
}

interface Shape {
  /** The session-id column. */
  key: Column;
  /** The session data column. */
  data: Column;
  /** The expiry column. */
  expiry: Column;
}

/** A session table's layout: its family, its three columns, and what else matters. */
export interface TableLayout extends Shape {
  family: "connect-session-knex" | "express-mysql-session";
  table: string;
  comment: string;
  /** Whether an index starts with the expiry column (the cleanup's DELETE needs it). */
  expiryIndexed: boolean;
  /** Schema 2's owner column, when the table has it, and whether an index starts with it. */
  user: Column | undefined;
  userIndexed: boolean;
  /** Whether the table has schema 3's `destroyed` column, which marks destroyed sessions. */
  marked: boolean;
}

/** express-mysql-session's default column names (its `schema.columnNames`). */
const EXPRESS_MYSQL_SESSION_COLUMNS = {
  key: "session_id",
  expiry: "expires",
  data: "data",
} as const;

interface ColumnRow {
  name: string;
  data_type: string;
  column_type: string;
  charset: string | null;
  collation: string | null;
  nullable: string;
}

async function columnsOf(connection: Connection, table: string): Promise<Column[]> {
  const rows = await connection.db.execute<ColumnRow>(
    "SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type, " +
      "CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation, IS_NULLABLE AS nullable " +
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? " +
      "ORDER BY ORDINAL_POSITION",
    [table],
  );
  const jsonChecked = connection.server.kind === "mariadb"
    ? await mariaDbJsonColumns(connection, table)
    : new Set<string>();
  return rows.map((row) => ({
    name: row.name,
    dataType: row.data_type.toLowerCase(),
    columnType: row.column_type.toLowerCase(),
    charset: row.charset,
    collation: row.collation,
    nullable: row.nullable === "YES",
    json: row.data_type.toLowerCase() === "json" || jsonChecked.has(row.name.toLowerCase()),
  }));
}

/** MariaDB's JSON is LONGTEXT plus a column CHECK (json_valid(`col`)) named after the column. */
async function mariaDbJsonColumns(connection: Connection, table: string): Promise<Set<string>> {
  const rows = await connection.db.execute<{ name: string; clause: string }>(
    "SELECT CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause FROM information_schema.CHECK_CONSTRAINTS " +
      "WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  return new Set(
    rows.filter((row) => row.clause.toLowerCase() === `json_valid(\`${row.name.toLowerCase()}\`)`)
      .map((row) => row.name.toLowerCase()),
  );
}

async function isIndexed(connection: Connection, table: string, column: string) {
  const rows = await connection.db.execute<{ name: string }>(
    "SELECT INDEX_NAME AS name FROM information_schema.STATISTICS " +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ? AND SEQ_IN_INDEX = 1",
    [table, column],
  );
  return rows.length > 0;
}

/**
 * The layout of `table`, or undefined when there is no such table. `sid` is the session-id
 * column name of the connect-session-knex layout. Throws a CliError for a table of no known
 * layout, naming its columns.
 */
export async function detectLayout(
  connection: Connection,
  table: string,
  sid: string,
): Promise<TableLayout | undefined> {
  const comment = await tableComment(connection.db, table);
  if (comment === undefined) return undefined;
  const columns = await columnsOf(connection, table);
  const byName = new Map(columns.map((column) => [column.name.toLowerCase(), column]));
  const pick = (key: string, data: string, expiry: string) => {
    const [k, d, e] = [key, data, expiry].map((name) => byName.get(name.toLowerCase()));
    return k && d && e ? { key: k, data: d, expiry: e } : undefined;
  };
  const user = byName.get("user_id");
  const shape = async (family: TableLayout["family"], columns: Shape): Promise<TableLayout> => ({
    table,
    comment,
    family,
    ...columns,
    expiryIndexed: await isIndexed(connection, table, columns.expiry.name),
    user,
    userIndexed: user !== undefined && await isIndexed(connection, table, user.name),
    marked: byName.has("destroyed"),
  });
  const knexShape = pick(sid, "sess", "expired");
  if (knexShape) return await shape("connect-session-knex", knexShape);
  const { key, data, expiry } = EXPRESS_MYSQL_SESSION_COLUMNS;
  const expressShape = pick(key, data, expiry);
  if (expressShape) return await shape("express-mysql-session", expressShape);
  throw new CliError(
    `table \`${table}\` has an unknown layout (columns: ${
      columns.map((column) => column.name).join(", ")
    }): migrate knows connect-session-knex's (\`${sid}\`, sess, expired; another sid column ` +
      "with --sid) and express-mysql-session's (session_id, expires, data)",
  );
}

/** What keeps a layout from being this store's exact one, each part described, if any. */
export interface LayoutDifferences {
  sid?: string;
  sess?: string;
  expired?: string;
  index?: string;
  user?: string;
  userIndex?: string;
  marker?: string;
}

export function layoutDifferences(layout: TableLayout, sidCollation: string): LayoutDifferences {
  const differences: LayoutDifferences = {};
  const { key, data, expiry } = layout;
  if (key.collation !== sidCollation || key.columnType !== "varchar(255)" || key.nullable) {
    const caseNote = key.collation && !isCaseSensitiveCollation(key.collation)
      ? " (case-insensitive: ids differing only in case name one session)"
      : "";
    const type = [key.columnType, key.collation, key.nullable ? "NULL" : undefined]
      .filter(Boolean).join(" ");
    differences.sid = `sid column \`${key.name}\` is ${type}${caseNote}, not varchar(255) ` +
      sidCollation;
  }
  if (!data.json || data.nullable) {
    differences.sess = `\`sess\` is ${data.columnType}${data.nullable ? " NULL" : ""}, not JSON`;
  }
  if (expiry.dataType !== "datetime" || expiry.nullable) {
    differences.expired = `\`expired\` is ${expiry.columnType}${expiry.nullable ? " NULL" : ""}` +
      (expiry.dataType === "timestamp" ? " (converted through the time zone, ends in 2038)" : "") +
      ", not DATETIME";
  }
  if (!layout.expiryIndexed) {
    differences.index = "no index on `expired` (expired-session cleanup scans the whole table)";
  }
  if (!layout.user) differences.user = "no owner column `user_id` (schema 2)";
  else if (!layout.userIndexed) {
    differences.userIndex = "no index on `user_id` (sessionsOf and destroyUser scan the table)";
  }
  if (!layout.marked) {
    differences.marker = "no column `destroyed` marking destroyed sessions (schema 3)";
  }
  return differences;
}

/** The layout in words: this store's stamped schema, or the family it comes from. */
export function describeLayout(layout: TableLayout): string {
  const stamped = stampedVersion(layout.comment);
  if (stamped !== undefined) return `knex-mysql-session schema ${stamped}`;
  return `${layout.family} (not stamped by knex-mysql-session)`;
}
