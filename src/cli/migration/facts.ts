import { SID_COLLATION } from "../../server.ts";
import { procedureName, PROCEDURES } from "../../sql.ts";
import type { Connection } from "../admin_connection.ts";
import { CliError } from "../failures.ts";
import { detectLayout } from "../layout.ts";
import { quoteIdentifier } from "../names.ts";
import { installedProcedures, tableExists } from "../schema_state.ts";
import {
  backupTable,
  copyingSource,
  type MigrationFacts,
  type MigrationRequest,
  stagingTable,
  type TargetState,
} from "./plan.ts";

async function targetState(connection: Connection, table: string, sid: string) {
  const layout = await detectLayout(connection, table, sid).catch((error) => {
    if (error instanceof CliError) {
      throw new CliError(
        `table \`${table}\` exists and is not a session table (${error.message}): choose ` +
          "another --to",
      );
    }
    throw error;
  });
  if (!layout) return { exists: false } as const;
  return { exists: true, copyingFrom: copyingSource(layout.comment), layout } as const;
}

/** Tables of the database with connect-session-knex's or express-mysql-session's expiry. */
async function sessionLikeTables(connection: Connection): Promise<string[]> {
  const rows = await connection.db.execute<{ name: string }>(
    "SELECT DISTINCT TABLE_NAME AS name FROM information_schema.COLUMNS " +
      "WHERE TABLE_SCHEMA = DATABASE() AND COLUMN_NAME IN ('expired', 'expires') " +
      "ORDER BY TABLE_NAME LIMIT 10",
    [],
  );
  return rows.map((row) => `\`${row.name}\``);
}

async function countInvalidJson(connection: Connection, table: string): Promise<number> {
  const [row] = await connection.db.execute<{ invalid: number | string }>(
    `SELECT COUNT(*) AS invalid FROM \`${table}\` WHERE \`sess\` IS NULL OR NOT JSON_VALID(\`sess\`)`,
    [],
  );
  return Number(row?.invalid ?? 0);
}

/** Everything planMigration needs to know about the server. */
export async function gatherFacts(
  connection: Connection,
  request: MigrationRequest,
): Promise<MigrationFacts> {
  return await connection.step("SELECT", async () => {
    const source = await detectLayout(connection, request.from, request.sid);
    if (!source) {
      const candidates = await sessionLikeTables(connection);
      throw new CliError(
        `table \`${request.from}\` does not exist in ${
          quoteIdentifier(connection.server.database)
        }: name the old store's table with --from (${
          candidates.length > 0
            ? `tables here with an expiry column: ${candidates.join(", ")}`
            : "no table here has an expired or expires column"
        }), or, with no sessions to migrate, create a new table with install`,
      );
    }
    const inPlace = request.to === undefined || request.to === request.from;
    const copyTarget = inPlace
      ? (source.family === "express-mysql-session" ? stagingTable(source.table) : undefined)
      : request.to;
    const target: TargetState = copyTarget
      ? await targetState(connection, copyTarget, request.sid)
      : { exists: false };
    const converting = inPlace && source.family === "connect-session-knex";
    const current = new Set(PROCEDURES.map((p) => procedureName(source.table, p).toLowerCase()));
    return {
      source,
      sidCollation: SID_COLLATION[connection.server.kind],
      target,
      backupExists: inPlace && source.family === "express-mysql-session" &&
        await tableExists(connection, backupTable(source.table)),
      // A conversion makes `sess` JSON NOT NULL: text that is not JSON, or a NULL, blocks it.
      invalidJsonRows: converting && (!source.data.json || source.data.nullable)
        ? await countInvalidJson(connection, source.table)
        : 0,
      currentProcedures: (await installedProcedures(connection, source.table))
        .map((procedure) => procedure.name)
        .filter((name) => current.has(name)),
    };
  });
}
