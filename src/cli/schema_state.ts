// The schema as the lifecycle commands see it: which procedures of which version exist, and
// installing through the store's own prepareSchema so that the CLI and the store never differ.
import { existingProcedures, prepareSchema } from "../schema.ts";
import { parseProcedureName, type ProcedureVersion, type SchemaNames } from "../sql.ts";
import type { Connection } from "./connection.ts";

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
    connection.db.rows(
      "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
      [table],
    ));
  return rows.length > 0;
}

export interface InstallOutcome {
  tableCreated: boolean;
  proceduresCreated: string[];
  warnings: string[];
}

/**
 * Installs what is missing of the current schema version (the table, the procedures, the
 * version stamp), exactly as a store with `createtable: true` does.
 */
export async function installSchema(
  connection: Connection,
  names: SchemaNames,
): Promise<InstallOutcome> {
  const hadTable = await tableExists(connection, names.table);
  const before = new Set((await installedProcedures(connection, names.table)).map((p) => p.name));
  // A CREATE PROCEDURE refused for want of CREATE ROUTINE fails with a database-level error
  // that does not name the privilege; CREATE TABLE and ALTER name theirs.
  const { warnings } = await connection.step(
    "CREATE ROUTINE",
    () => prepareSchema(connection.db, names, true),
  );
  const after = await installedProcedures(connection, names.table);
  return {
    tableCreated: !hadTable,
    proceduresCreated: after.map((p) => p.name).filter((name) => !before.has(name)),
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
