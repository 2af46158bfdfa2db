import { SERVER_KINDS, type ServerKind, SID_COLLATION } from "../../server.ts";
import { installStatements, SCHEMA_VERSION } from "../../sql.ts";
import { schemaNames, TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, withConnection } from "../command.ts";
import { usageError } from "../failures.ts";

/** Every install statement for `server` as one script the `mysql` client applies unchanged. */
function installScript(names: { table: string; sid: string }, server: ServerKind): string {
  const sidCollation = SID_COLLATION[server];
  const [table, ...procedures] = installStatements(names, sidCollation, server);
  const lines = [
    `-- knex-mysql-session schema ${SCHEMA_VERSION} for ${
      server === "mysql" ? "MySQL" : "MariaDB"
    }: table \`${names.table}\`, sid column \`${names.sid}\` (${sidCollation}).`,
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
      `collation, which differs between MySQL (${SID_COLLATION.mysql}) and MariaDB\n` +
      `(${SID_COLLATION.mariadb}): name the server with --server, or let the command ask the server.`,
  },
  async run({ values }, io) {
    const names = schemaNames(values);
    const named = values.server as string | undefined;
    let server: ServerKind;
    if (named !== undefined) {
      // Own keys only: `--server __proto__` or `constructor` is no server kind.
      const kind = SERVER_KINDS.find((candidate) => candidate === named);
      if (kind === undefined) {
        throw usageError(`--server must be mysql or mariadb (got ${JSON.stringify(named)})`);
      }
      server = kind;
    } else if (values.url !== undefined || io.env.MYSQL_URL) {
      server = await withConnection(
        values.url,
        io,
        (connection) => Promise.resolve(connection.server.kind),
      );
    } else {
      throw usageError(
        "sql: say which server the SQL is for: --server mysql, --server mariadb, or --url " +
          "(or MYSQL_URL) to ask the server",
      );
    }
    io.stdout.write(installScript(names, server));
    return 0;
  },
};
