import { isConnectionError, SessionStoreError } from "../errors.ts";

/** An error the CLI reports as one line on stderr, without a stack, and exits with. */
export class CliError extends Error {
  readonly exitCode: number;

  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Bad usage: an unknown command or option, a missing argument. Exit code 2, like getopt. */
export function usageError(message: string): CliError {
  return new CliError(`${message} (see --help)`, 2);
}

/** Where a database error happened, to turn it into advice. */
export interface ErrorContext {
  /** The server, with the password redacted. */
  server: string;
  /** The account the CLI is connected as, e.g. 'admin'@'%'. */
  account?: string;
  /** The database the CLI works in. */
  database?: string;
  /** The privilege the failed step needs, for servers whose error does not name it. */
  privilege?: string;
}

const ER_DBACCESS_DENIED = 1044;
const ER_ACCESS_DENIED = 1045;
const ER_BAD_DB = 1049;
const ER_TABLEACCESS_DENIED = 1142;
const ER_COLUMNACCESS_DENIED = 1143;
const ER_SPECIFIC_ACCESS_DENIED = 1227;
const ER_PROCACCESS_DENIED = 1370;

/** "ALTER command denied to user …" and "execute command denied …" name the privilege. */
function privilegeNamedIn(message: string): string | undefined {
  const command = /^(\w+(?: \w+)?) command denied/i.exec(message)?.[1]?.toUpperCase();
  // The privilege to give GRANTs away is called GRANT OPTION.
  return command === "GRANT" ? "GRANT OPTION" : command;
}

/**
 * A database error as a CliError that says what to do: which server could not be reached,
 * which GRANT is missing. Other errors keep the server's message.
 */
export function explainDatabaseError(error: unknown, context: ErrorContext): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof SessionStoreError) {
    // A privilege the store's install lacked: the GRANT for this account is the CLI's advice.
    if (error.code === "ERR_ACCESS_DENIED" && error.cause) {
      return explainDatabaseError(error.cause, context);
    }
    return new CliError(error.message.replace(/^knex-mysql-session: /, ""));
  }
  const { errno, message = String(error) } = error as { errno?: number; message?: string };
  if (isConnectionError(error)) {
    return new CliError(`cannot reach the MySQL server at ${context.server}: ${message}`);
  }
  if (errno === ER_ACCESS_DENIED) {
    return new CliError(`the server at ${context.server} refused the login: ${message}`);
  }
  if (errno === ER_BAD_DB) {
    return new CliError(`the database in ${context.server} does not exist: ${message}`);
  }
  if (
    errno === ER_DBACCESS_DENIED || errno === ER_TABLEACCESS_DENIED ||
    errno === ER_COLUMNACCESS_DENIED || errno === ER_SPECIFIC_ACCESS_DENIED ||
    errno === ER_PROCACCESS_DENIED
  ) {
    const privilege = privilegeNamedIn(message) ?? context.privilege;
    const scope = context.database ? `\`${context.database}\`.*` : "<database>.*";
    const grant = privilege
      ? `: GRANT ${privilege} ON ${scope} TO ${context.account ?? "<account>"}`
      : "";
    return new CliError(`missing privilege${grant} (server said: ${message})`);
  }
  return new CliError(message);
}
