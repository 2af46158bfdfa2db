import { SCHEMA_VERSION, type SchemaNames } from "../../sql.ts";
import { TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, onTable } from "../command.ts";
import { CliError } from "../failures.ts";
import { type Io, println } from "../io.ts";
import { quoteIdentifier } from "../names.ts";
import {
  dropProcedures,
  installedProcedures,
  type InstallOutcome,
  installSchema,
  tableExists,
} from "../schema_state.ts";

function reportInstall(io: Io, names: SchemaNames, outcome: InstallOutcome): void {
  const { table } = names;
  const changes = [
    ...(outcome.tableCreated ? [`created table \`${table}\``] : []),
    ...(outcome.ownerColumnAdded ? [`added column \`${table}\`.\`user_id\``] : []),
    ...(outcome.ownerIndexAdded ? [`added index \`${table}_user_index\``] : []),
    ...(outcome.markerColumnAdded ? [`added column \`${table}\`.\`destroyed\``] : []),
    ...(outcome.ownerIndexNarrowed
      ? [`rebuilt index \`${table}_user_index\` on \`user_id\` alone`]
      : []),
    ...outcome.proceduresCreated.map((name) => `created procedure \`${name}\``),
  ];
  for (const change of changes) println(io.stdout, change);
  if (changes.length === 0) println(io.stdout, "nothing to do: everything is installed");
  for (const warning of outcome.warnings) println(io.stderr, `warning: ${warning}`);
  for (const account of outcome.ungranted) {
    println(
      io.stderr,
      `warning: ${account} may SELECT \`${table}\` but not EXECUTE the procedures just ` +
        "created (a procedure's grants go with it): an app of this version on that account " +
        "fails to start (ERR_SCHEMA) until you run " +
        `\`npx knex-mysql-session grant "${account}" --table ${table} --sid ${names.sid} --apply\``,
    );
  }
  println(io.stdout, `schema version ${SCHEMA_VERSION}`);
}

export const installCommand: Command = {
  spec: {
    name: "install",
    summary: "create the table and procedures (idempotent)",
    positionals: [],
    options: [...TABLE_OPTIONS, URL_OPTION],
    details:
      "Creates whatever is missing of the current schema version: the table, its procedures\n" +
      "(named <table>_<name>_v<version>) and the version stamp in the table comment. Does the\n" +
      "same as a store started with createtable: true; running it again changes nothing.\n" +
      "Needs CREATE, ALTER and CREATE ROUTINE on the database.",
  },
  run: onTable(async (connection, names, _parsed, io) => {
    reportInstall(io, names, await installSchema(connection, names, io));
  }),
};

export const upgradeCommand: Command = {
  spec: {
    name: "upgrade",
    summary: "install the current schema version's procedures next to older ones",
    positionals: [],
    options: [
      ...TABLE_OPTIONS,
      {
        name: "prune",
        type: "boolean",
        description: "also drop the procedures of older versions (once no app calls them)",
      },
      URL_OPTION,
    ],
    details:
      "Procedure names carry the schema version, so the new version's procedures are created\n" +
      "beside the old ones: during a rolling deploy the old app keeps calling its own. When\n" +
      "every app runs the new version, `upgrade --prune` drops the old procedures.",
  },
  run: onTable(async (connection, names, { values }, io) => {
    if (!(await tableExists(connection, names.table))) {
      throw new CliError(
        `table \`${names.table}\` does not exist in ${
          quoteIdentifier(connection.server.database)
        }: nothing to upgrade; run install --table ${names.table} --sid ${names.sid}`,
      );
    }
    reportInstall(io, names, await installSchema(connection, names, io));
    const older = (await installedProcedures(connection, names.table))
      .filter((procedure) => procedure.version < SCHEMA_VERSION);
    if (older.length === 0) return;
    if (values.prune) {
      await dropProcedures(connection, older.map((procedure) => procedure.name));
      for (const { name } of older) println(io.stdout, `dropped procedure \`${name}\``);
    } else {
      println(
        io.stdout,
        `older procedures kept for apps still running them: ${
          older.map((procedure) => procedure.name).join(", ")
        } (drop them with upgrade --prune)`,
      );
    }
  }),
};

export const uninstallCommand: Command = {
  spec: {
    name: "uninstall",
    summary: "drop the procedures (of every version), and the table with --drop-table",
    positionals: [],
    options: [
      ...TABLE_OPTIONS,
      {
        name: "drop-table",
        type: "boolean",
        description: "also drop the table and every session in it",
      },
      URL_OPTION,
    ],
    details:
      "Drops the table's procedures of every schema version. The table and its sessions stay\n" +
      "unless --drop-table is given. Running it again changes nothing.",
  },
  run: onTable(async (connection, names, { values }, io) => {
    const procedures = await installedProcedures(connection, names.table);
    await dropProcedures(connection, procedures.map((procedure) => procedure.name));
    for (const { name } of procedures) println(io.stdout, `dropped procedure \`${name}\``);
    let droppedTable = false;
    if (values["drop-table"] && (await tableExists(connection, names.table))) {
      await connection.step("DROP", () => connection.db.query(`DROP TABLE \`${names.table}\``));
      println(io.stdout, `dropped table \`${names.table}\``);
      droppedTable = true;
    }
    if (procedures.length === 0 && !droppedTable) {
      const database = quoteIdentifier(connection.server.database);
      println(
        io.stdout,
        (await tableExists(connection, names.table))
          ? "nothing to do: nothing is installed"
          : `nothing to do: no table \`${names.table}\` and no procedures of it in ${database}` +
            " (check --table and the database in --url/MYSQL_URL)",
      );
    }
  }),
};
