import { grantStatements } from "../../grants.ts";
import { parseProcedureName, SCHEMA_VERSION, type SchemaNames } from "../../sql.ts";
import { type ParsedValues, schemaNames, TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, withConnection } from "../command.ts";
import { type Connection, quoteAccount, serverUrl } from "../admin_connection.ts";
import { ER, errnoOf, messageOf } from "../../driver_errors.ts";
import { CliError, usageError } from "../failures.ts";
import { type Io, println } from "../io.ts";
import { databaseNameProblem, quoteIdentifier } from "../names.ts";

// The server's answer to a GRANT for an account that does not exist (GRANT creates no
// accounts): MariaDB "Can't find any matching row in the user table", MySQL "You are not
// allowed to create a user with GRANT".

/** The database the printed GRANTs name: --database, else the URL's, checked for SQL text. */
function printedDatabase(values: ParsedValues, env: Record<string, string | undefined>) {
  const named = values.database as string | undefined;
  if (named !== undefined) {
    const problem = databaseNameProblem(named);
    if (problem) {
      throw usageError(
        `--database ${JSON.stringify(named)} ${problem}: name a database without backticks ` +
          "and control characters, of at most 64 characters",
      );
    }
    return named;
  }
  if (values.url === undefined && !env.MYSQL_URL) return undefined;
  // serverUrl checks the URL and its database as a connecting command would.
  return decodeURIComponent(
    new URL(serverUrl(values.url as string | undefined, env).url).pathname.slice(1),
  );
}

/**
 * The account's grants as SHOW GRANTS lists them, or undefined when this account may not see
 * them (SHOW GRANTS FOR another account needs SELECT on the mysql schema): then the change is
 * not reported, which is all that is lost.
 */
async function grantsOf(connection: Connection, account: string): Promise<string[] | undefined> {
  try {
    const rows = await connection.db.query(`SHOW GRANTS FOR ${account}`) as Record<
      string,
      string
    >[];
    return rows.map((row) => Object.values(row)[0] as string);
  } catch {
    return undefined;
  }
}

/** The procedure grants among `grants` on `table`'s procedures of a schema version before this one. */
function olderProcedureGrants(grants: string[], table: string): string[] {
  return grants.flatMap((grant) => {
    const name = /ON PROCEDURE `[^`]*`\.`([^`]+)`/i.exec(grant)?.[1];
    const parsed = name === undefined ? undefined : parseProcedureName(table, name);
    return parsed && parsed.version < SCHEMA_VERSION ? [name as string] : [];
  });
}

/** What `grant --apply` changed for the account: the grants it did not have before, and old ones left. */
function reportChange(
  io: Io,
  account: string,
  table: string,
  before: string[] | undefined,
  after: string[] | undefined,
): void {
  if (!before || !after) return;
  const added = after.filter((grant) => !before.includes(grant));
  println(
    io.stdout,
    added.length === 0
      ? `unchanged: ${account} had every one of these grants already`
      : `changed: ${added.length} grant(s) new for ${account} (schema version ${SCHEMA_VERSION})`,
  );
  const older = olderProcedureGrants(after, table);
  if (older.length > 0) {
    println(
      io.stdout,
      `still granted from an older schema version: EXECUTE on ${older.join(", ")} (the ` +
        "server drops these grants with the procedures, at `upgrade --prune`)",
    );
  }
}

/** `user@host` as 'user'@'host'; refuses an empty user name (the anonymous account). */
function accountOption(account: string): string {
  const quoted = quoteAccount(account);
  if (quoted.startsWith("''@")) {
    throw usageError(
      `grant: ${JSON.stringify(account)} names no user: write <user>@<host>, e.g. app@'%'`,
    );
  }
  return quoted;
}

/**
 * What a refused GRANT means, as advice, when the server's error is one a user meets here: the
 * account, the table or a procedure does not exist. Asked of the server, not looked up first:
 * an account that may grant need not see every table and routine in information_schema.
 */
function grantRefusal(
  error: unknown,
  account: string,
  names: SchemaNames,
  database: string,
): CliError | undefined {
  const errno = errnoOf(error);
  const install = `install --table ${names.table} --sid ${names.sid}`;
  if (errno === ER.PASSWORD_NO_MATCH || errno === ER.CANT_CREATE_USER_WITH_GRANT) {
    return new CliError(
      `account ${account} does not exist on the server (GRANT creates no account; an ` +
        "account is a user and a host, so 'app'@'localhost' is not 'app'@'%'): create it " +
        `with CREATE USER ${account} IDENTIFIED BY '<password>', then run grant --apply again`,
    );
  }
  if (errno === ER.NO_SUCH_TABLE) {
    return new CliError(
      `table \`${names.table}\` does not exist in ${quoteIdentifier(database)}: run ` +
        `${install} first, then grant --apply again`,
    );
  }
  if (errno === ER.SP_DOES_NOT_EXIST) {
    return new CliError(
      `${messageOf(error)} in ${quoteIdentifier(database)}: run ${install} (upgrade, for a ` +
        `table of an older schema version; migrate --from ${names.table}, for an old store's ` +
        "table) first, then grant --apply again",
    );
  }
  return undefined;
}

export const grantCommand: Command = {
  spec: {
    name: "grant",
    summary: "print (or --apply) the least-privilege GRANTs for an app account",
    positionals: [{
      name: "<account>",
      description: "the app's account, e.g. app@'%' or app@10.0.0.%",
    }],
    options: [
      ...TABLE_OPTIONS,
      {
        name: "apply",
        type: "boolean",
        description: "run the GRANTs on the server at --url/MYSQL_URL",
      },
      {
        name: "database",
        type: "string",
        value: "<name>",
        description: "qualify the printed GRANTs with this database (default: the URL's)",
      },
      URL_OPTION,
    ],
    details:
      "The app's account needs only SELECT on the table and EXECUTE on the procedures (every\n" +
      "write is a CALL; the procedures run with their definer's rights). The procedures must\n" +
      "exist before EXECUTE can be granted on them: run `install` first. An account without a\n" +
      "host part means user@'%'. The account must exist: GRANT creates none.",
  },
  async run({ values, positionals }, io) {
    const names = schemaNames(values);
    const account = accountOption(positionals[0] as string);
    if (!values.apply) {
      const database = printedDatabase(values, io.env);
      for (const statement of grantStatements(names, account, database)) {
        println(io.stdout, `${statement};`);
      }
      return 0;
    }
    if (values.database !== undefined) {
      throw usageError(
        "grant: --database only qualifies printed GRANTs; --apply grants in the database of " +
          "--url/MYSQL_URL: name it there",
      );
    }
    await withConnection(values.url, io, async (connection) => {
      const { database } = connection.server;
      const before = await grantsOf(connection, account);
      // DATABASE() of a URL serverUrl checked: no backtick can end the quoted name.
      for (const statement of grantStatements(names, account, database)) {
        await connection.step("GRANT OPTION", async () => {
          try {
            await connection.db.query(statement);
          } catch (error) {
            throw grantRefusal(error, account, names, database) ?? error;
          }
        });
        println(io.stdout, `${statement};`);
      }
      println(io.stdout, `granted: ${account} may now use \`${names.table}\``);
      reportChange(io, account, names.table, before, await grantsOf(connection, account));
    });
    return 0;
  },
};
