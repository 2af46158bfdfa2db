import {
  ER,
  isAccessDenied,
  isConnectionError,
  messageOf,
  unreachableCause,
} from "../driver_errors.ts";
import { CREDENTIALS } from "../login_refusals.ts";
import { SessionStoreError } from "../errors.ts";
import { quoteIdentifier } from "./names.ts";

/** An error the CLI reports as one line on stderr, without a stack, and exits with. */
export class CliError extends Error {
  readonly exitCode: number;
  /** A usage error: the printer adds `(see <command> --help)`. */
  readonly seeHelp: boolean;
  /** The command whose --help to point at; set by the runner when the command throws. */
  command?: string;

  constructor(message: string, exitCode = 1, seeHelp = false) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
    this.seeHelp = seeHelp;
  }
}

/**
 * Bad usage: an unknown command or option, a missing argument. Exit code 2, like getopt; the
 * message ends with where to read the usage.
 */
export function usageError(message: string): CliError {
  return new CliError(message, 2, true);
}

// Every message is printed after "knex-mysql-session: ". The store's SessionStoreError (and
// its TypeErrors) carry that prefix already; a message passed on keeps none of it, so that the
// prefix is printed once however many times a message was wrapped.
const PREFIX = /^(?:knex-mysql-session: *)+/;

/** `text` without the program-name prefix(es) it may start with. */
export function withoutPrefix(text: string): string {
  return text.replace(PREFIX, "");
}

/** Where a database error happened, to turn it into advice. */
export interface ErrorContext {
  /** The server, with every secret redacted. */
  server: string;
  /** The server's host:port (or socket path), for a failure to reach it. */
  address?: string;
  /** Where the URL came from: "--url" or "MYSQL_URL". */
  source?: string;
  /** The account the CLI is connected as, e.g. 'admin'@'%'. */
  account?: string;
  /** The database the CLI works in. */
  database?: string;
  /** The privilege the failed step needs, for servers whose error does not name it. */
  privilege?: string;
}

/** "ALTER command denied to user …" and "execute command denied …" name the privilege. */
function privilegeNamedIn(message: string): string | undefined {
  const command = /^(\w+(?: \w+)?) command denied/i.exec(message)?.[1]?.toUpperCase();
  // The privilege to give GRANTs away is called GRANT OPTION.
  return command === "GRANT" ? "GRANT OPTION" : command;
}

/** The database named in a URL's path, if it parses. */
function databaseIn(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1)) || undefined;
  } catch {
    return undefined;
  }
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
    // A refused login: the credentials are the CLI's --url or MYSQL_URL.
    return new CliError(
      withoutPrefix(error.message).replace(CREDENTIALS, `in ${context.source ?? "--url"}`),
    );
  }
  const { errno } = error as { errno?: number };
  const message = withoutPrefix(messageOf(error));
  const source = context.source ?? "--url";
  if (isConnectionError(error)) {
    const address = context.address ?? context.server;
    return new CliError(
      `cannot reach the MySQL server at ${address}: ${unreachableCause(error) ?? message}: ` +
        `check the host and port in ${source} (${context.server}), and that the server is ` +
        "running and accepts connections from here",
    );
  }
  if (errno === ER.BAD_DB) {
    const database = databaseIn(context.server);
    return new CliError(
      `the database in ${context.server} does not exist: ${message}: create it (CREATE ` +
        `DATABASE ${database ? quoteIdentifier(database) : "<database>"}) or name another ` +
        `in ${source}`,
    );
  }
  if (errno === ER.NO_SUCH_TABLE) {
    return new CliError(`${message}: create it with install (see install --help)`);
  }
  if (isAccessDenied(error)) {
    const privilege = privilegeNamedIn(message) ?? context.privilege;
    const scope = context.database ? `${quoteIdentifier(context.database)}.*` : "<database>.*";
    const account = context.account ?? "<account>";
    const fix = privilege
      ? `: GRANT ${privilege} ON ${scope} TO ${account}`
      : `: ask the database's owner which privilege ${account} lacks on ${scope}`;
    return new CliError(`missing privilege${fix} (server said: ${message})`);
  }
  return new CliError(message);
}
