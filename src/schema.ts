import type { Database } from "./database.ts";
import { SessionStoreError } from "./errors.ts";
import {
  createProcedureSql,
  createTableSql,
  procedureName,
  PROCEDURES,
  SCHEMA_VERSION,
  type SchemaNames,
  type SidColumnType,
} from "./sql.ts";

/** What the store learns about the server when it starts. */
export interface ServerFacts {
  /** The largest packet the server accepts; a bigger statement makes it drop the connection. */
  maxAllowedPacket: number;
  /** Things that weaken the store but do not stop it, e.g. a case-insensitive sid column. */
  warnings: string[];
}

/** Preferred first: MySQL 8's name, then MariaDB's. Both compare bytes with NO PAD. */
const NO_PAD_BINARY_COLLATIONS = ["utf8mb4_0900_bin", "utf8mb4_nopad_bin"];
const ER_SP_ALREADY_EXISTS = 1304;

function schemaError(message: string, cause?: unknown): SessionStoreError {
  return new SessionStoreError("ERR_SCHEMA", message, { cause });
}

async function serverSettings(db: Database) {
  const [row] = await db.rows<
    { max_allowed_packet: number | string; charset: string; db: string | null }
  >(
    "SELECT @@max_allowed_packet AS max_allowed_packet, @@character_set_connection AS charset, " +
      "DATABASE() AS db",
    [],
  );
  if (!row?.db) {
    throw schemaError("the connection has no database selected: name one in the connection");
  }
  if (row.charset !== "utf8mb4") {
    // Anything narrower turns characters it cannot hold into '?', so two different session
    // ids or payloads could become one.
    throw schemaError(
      `the connection's character set is ${row.charset}: use utf8mb4 (mysql2's default) ` +
        "so that every session id and session survives the trip",
    );
  }
  return { maxAllowedPacket: Number(row.max_allowed_packet) };
}

/** The binary, NO PAD utf8mb4 collation this server offers for the sid column. */
export async function noPadBinaryCollation(db: Database): Promise<string> {
  const rows = await db.rows<{ name: string }>(
    "SELECT COLLATION_NAME AS name FROM information_schema.COLLATIONS " +
      "WHERE COLLATION_NAME IN (?, ?)",
    NO_PAD_BINARY_COLLATIONS,
  );
  const names = new Set(rows.map((row) => row.name));
  const found = NO_PAD_BINARY_COLLATIONS.find((name) => names.has(name));
  // Servers older than MySQL 8.0 / MariaDB 10.2 have only PAD SPACE utf8mb4_bin.
  return found ?? "utf8mb4_bin";
}

/** Whether `collation` compares bytes, so that ids differing only in case stay apart. */
export function isCaseSensitiveCollation(collation: string): boolean {
  return collation.endsWith("_bin") || collation === "binary";
}

interface ColumnRow {
  name: string;
  charset: string | null;
  collation: string | null;
}

/** Checks the table's columns; returns the sid column's type and any warnings. */
export async function inspectTable(db: Database, names: SchemaNames) {
  const columns = await db.rows<ColumnRow>(
    "SELECT COLUMN_NAME AS name, CHARACTER_SET_NAME AS charset, COLLATION_NAME AS collation " +
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [names.table],
  );
  if (columns.length === 0) {
    throw schemaError(
      `table \`${names.table}\` does not exist (or this account cannot see it): create it ` +
        "with the option createtable: true, or `npx knex-mysql-session install`",
    );
  }
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
  const sidType: SidColumnType = {
    charset: sid.charset ?? "utf8mb4",
    collation: sid.collation ?? "utf8mb4_bin",
  };
  return { sidType, warnings };
}

/** The (lower-cased) names of the procedures whose names start with `<table>_`. */
export async function existingProcedures(db: Database, table: string): Promise<Set<string>> {
  // An account with EXECUTE on a routine sees it here, on MySQL and MariaDB alike.
  const rows = await db.rows<{ name: string }>(
    "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES " +
      "WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_TYPE = 'PROCEDURE' AND ROUTINE_NAME LIKE ?",
    [`${table.replace(/_/g, "\\_")}\\_%`],
  );
  return new Set(rows.map((row) => row.name.toLowerCase()));
}

async function createMissingProcedures(db: Database, names: SchemaNames, sidType: SidColumnType) {
  const existing = await existingProcedures(db, names.table);
  for (const procedure of PROCEDURES) {
    if (existing.has(procedureName(names.table, procedure).toLowerCase())) continue;
    try {
      await db.query(createProcedureSql(names, procedure, sidType));
    } catch (error) {
      // Another store starting at the same moment created it first.
      if ((error as { errno?: number }).errno !== ER_SP_ALREADY_EXISTS) throw error;
    }
  }
}

const STAMP = /^knex-mysql-session schema (\d+)$/;

/** The table comment that says which schema version a table has. */
export function schemaStamp(version: number = SCHEMA_VERSION): string {
  return `knex-mysql-session schema ${version}`;
}

/** The schema version a table comment stamps, if it is a stamp. */
export function stampedVersion(comment: string): number | undefined {
  const match = STAMP.exec(comment);
  return match ? Number(match[1]) : undefined;
}

async function stampVersion(db: Database, table: string) {
  const comment = schemaStamp();
  const [row] = await db.rows<{ comment: string }>(
    "SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES " +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  if (row?.comment === comment) return;
  // A table made by another store (connect-session-knex) gets the stamp once its procedures
  // are in place. Changing a comment is metadata-only on InnoDB.
  await db.query(`ALTER TABLE \`${table}\` COMMENT = '${comment}'`);
}

async function checkProceduresInstalled(db: Database, table: string) {
  const existing = await existingProcedures(db, table);
  const missing = PROCEDURES.map((name) => procedureName(table, name))
    .filter((name) => !existing.has(name.toLowerCase()));
  if (missing.length > 0) {
    throw schemaError(
      `stored procedure(s) ${missing.join(", ")} are missing or this account lacks EXECUTE on ` +
        "them: install them with createtable: true or `npx knex-mysql-session install`",
    );
  }
}

/**
 * Makes the schema usable: with `install`, creates the table and procedures that are missing
 * (idempotent, safe for many stores starting at once); without, checks they are there.
 */
export async function prepareSchema(
  db: Database,
  names: SchemaNames,
  install: boolean,
): Promise<ServerFacts> {
  const settings = await serverSettings(db);
  if (install) await db.query(createTableSql(names, await noPadBinaryCollation(db)));
  const { sidType, warnings } = await inspectTable(db, names);
  if (install) {
    await createMissingProcedures(db, names, sidType);
    await stampVersion(db, names.table);
  } else {
    await checkProceduresInstalled(db, names.table);
  }
  return { maxAllowedPacket: settings.maxAllowedPacket, warnings };
}
