import { noPadBinaryCollation } from "../../schema.ts";
import { installStatements, SCHEMA_VERSION } from "../../sql.ts";
import { schemaNames, TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, withConnection } from "../command.ts";
import { usageError } from "../errors.ts";

/** The sid column's collation per server: byte-wise and NO PAD (see sql/table.sql). */
export const SID_COLLATIONS: Record<string, string> = {
  mysql: "utf8mb4_0900_bin",
  mariadb: "utf8mb4_nopad_bin",
};

/** Every install statement as one script the `mysql` client applies unchanged. */
export function installScript(
  names: { table: string; sid: string },
  sidCollation: string,
): string {
  const [table, ...procedures] = installStatements(names, sidCollation);
  const lines = [
    `-- knex-mysql-session schema ${SCHEMA_VERSION}: table \`${names.table}\`, ` +
    `sid column \`${names.sid}\` (${sidCollation}).`,
    "-- Apply with the mysql (or mariadb) client: mysql <database> < this-file.sql",
    "-- Safe to apply again: nothing that exists is changed. Needs MySQL 8.0.29+ or MariaDB",
    "-- 10.6+ (CREATE PROCEDURE IF NOT EXISTS).",
    "",
    `${table};`,
    "",
    // The procedure bodies contain `;`, so the client must not split on it inside them.
    "DELIMITER $$",
    ...procedures.map((procedure) =>
      `${procedure.replace(/^CREATE PROCEDURE /m, "CREATE PROCEDURE IF NOT EXISTS ")}$$\n`
    ),
    "DELIMITER ;",
  ];
  return `${lines.join("\n")}\n`;
}

export const sqlCommand: Command = {
  spec: {
    name: "sql",
    summary: "print the complete install SQL (table and procedures) for a DBA",
    positionals: [],
    options: [
      ...TABLE_OPTIONS,
      {
        name: "server",
        type: "string",
        value: "mysql|mariadb",
        description: "the server kind the SQL is for (default: ask the server at --url/MYSQL_URL)",
      },
      URL_OPTION,
    ],
    details:
      "Prints the SQL that `install` runs, as a script for the mysql client: review it, then\n" +
      "apply it with `mysql <database> < install.sql`. The sid column gets a byte-wise, NO PAD\n" +
      "collation, which differs between MySQL (utf8mb4_0900_bin) and MariaDB\n" +
      "(utf8mb4_nopad_bin): name the server with --server, or let the command ask the server.",
  },
  async run({ values }, io) {
    const names = schemaNames(values);
    const server = values.server as string | undefined;
    let collation: string;
    if (server !== undefined) {
      const known = SID_COLLATIONS[server];
      if (!known) {
        throw usageError(`--server must be mysql or mariadb (got ${JSON.stringify(server)})`);
      }
      collation = known;
    } else if (values.url !== undefined || io.env.MYSQL_URL) {
      collation = await withConnection(values.url, io, ({ db }) => noPadBinaryCollation(db));
    } else {
      throw usageError(
        "sql: say which server the SQL is for: --server mysql, --server mariadb, or --url",
      );
    }
    io.stdout.write(installScript(names, collation));
    return 0;
  },
};
