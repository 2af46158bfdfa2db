// The schema as the lifecycle commands see it: which procedures of which version exist, and
// installing through the store's own prepareSchema so that the CLI and the store never differ.
import { existingProcedures, inspectTable, prepareSchema } from "../schema_setup.ts";
import { parseProcedureName, type ProcedureVersion, type SchemaNames } from "../sql.ts";
import { withAlterProgress } from "./alter_progress.ts";
import type { Connection } from "./admin_connection.ts";
import type { Io } from "./io.ts";

export interface InstalledProcedure extends ProcedureVersion {
  name: string;
}

/** The schema procedures of `table` on the server, of every version. */
export async function installedProcedures(
  connection: Connection,
  table: string,
): Promise<InstalledProcedure[]> {
  const names = await connection.step(undefined, () => existingProcedures(connection.db, table));
  return [...names.keys()].flatMap((name) => {
    const parsed = parseProcedureName(table, name);
    return parsed ? [{ name, ...parsed }] : [];
  }).sort((a, b) => a.name.localeCompare(b.name));
}

export async function tableExists(connection: Connection, table: string): Promise<boolean> {
  const rows = await connection.step(undefined, () =>
    connection.db.execute(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
      [table],
    ));
  return rows.length > 0;
}

export interface InstallOutcome {
  tableCreated: boolean;
  /** Schema 2's owner column and its index, added to a table made before it. */
  ownerColumnAdded: boolean;
  ownerIndexAdded: boolean;
  /** Schema 3's column marking destroyed sessions, added to a table made before it. */
  markerColumnAdded: boolean;
  /** Schema 2's owner index (`user_id`, `expired`) rebuilt on `user_id` alone. */
  ownerIndexNarrowed: boolean;
  proceduresCreated: string[];
  /**
   * Accounts that may SELECT the table but not EXECUTE the procedures just created (app
   * accounts: a procedure's grants went with it when it was dropped, or never existed for a
   * new version's), as GRANT names them.
   */
  ungranted: string[];
  warnings: string[];
}

/**
 * The accounts, other than the CLI's own, with SELECT on `table` and no database-wide
 * EXECUTE: as far as this account may see them (root sees every grant).
 */
async function appAccounts(connection: Connection, table: string): Promise<string[]> {
  // SELECT on the table, or on the whole database; EXECUTE on the database covers any routine.
  const rows = await connection.db.execute<{ grantee: string }>(
    "SELECT DISTINCT r.GRANTEE AS grantee FROM (SELECT GRANTEE FROM " +
      "information_schema.TABLE_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? " +
      "AND PRIVILEGE_TYPE = 'SELECT' UNION SELECT GRANTEE FROM " +
      "information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE() AND " +
      "PRIVILEGE_TYPE = 'SELECT') AS r WHERE NOT EXISTS (SELECT 1 FROM " +
      "information_schema.SCHEMA_PRIVILEGES AS s WHERE s.GRANTEE = r.GRANTEE AND " +
      "s.TABLE_SCHEMA = DATABASE() AND s.PRIVILEGE_TYPE = 'EXECUTE')",
    [table],
  );
  return rows.map((row) => row.grantee).filter((grantee) => grantee !== connection.server.account);
}

/**
 * Installs what is missing of the current schema version (the table, the procedures, the
 * version stamp), exactly as a store with `createtable: true` does.
 */
export async function installSchema(
  connection: Connection,
  names: SchemaNames,
  io: Io,
): Promise<InstallOutcome> {
  const inspect = () => connection.step("SELECT", () => inspectTable(connection.db, names));
  const hadTable = await tableExists(connection, names.table);
  const tableBefore = hadTable ? await inspect() : undefined;
  const before = new Set((await installedProcedures(connection, names.table)).map((p) => p.name));
  // A CREATE PROCEDURE refused for want of CREATE ROUTINE fails with a database-level error
  // that does not name the privilege; CREATE TABLE and ALTER name theirs.
  const { warnings } = await withAlterProgress(
    connection,
    names.table,
    io,
    () => connection.step("CREATE ROUTINE", () => prepareSchema(connection.db, names, true)),
  );
  const after = await installedProcedures(connection, names.table);
  const proceduresCreated = after.map((p) => p.name).filter((name) => !before.has(name));
  return {
    tableCreated: !hadTable,
    ownerColumnAdded: hadTable && !tableBefore?.types.user,
    ownerIndexAdded: hadTable && !tableBefore?.userIndexed,
    markerColumnAdded: hadTable && !tableBefore?.marked,
    ownerIndexNarrowed: hadTable && Boolean(tableBefore?.userIndexWide),
    proceduresCreated,
    ungranted: proceduresCreated.length > 0 && hadTable
      ? await connection.step("SELECT", () => appAccounts(connection, names.table))
      : [],
    warnings,
  };
}

/** Drops procedures by name; DROP PROCEDURE IF EXISTS, so a second run is a no-op. */
export async function dropProcedures(connection: Connection, names: string[]): Promise<void> {
  for (const name of names) {
    await connection.step(
      "ALTER ROUTINE",
      () => connection.db.query(`DROP PROCEDURE IF EXISTS \`${name}\``),
    );
  }
}
