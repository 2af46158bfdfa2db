// What the store and the CLI know of the errors MySQL, MariaDB and their drivers (mysql2,
// mariadb, mysql) report: each error number or code a class (the connection failed, a write conflict,
// rolled back, a missing privilege, …) and, for the errors someone has to fix, the fix to name.
// Only here are error numbers written; refused logins, whose fixes name each driver's settings,
// are read in login_refusals.ts.
import { PREFIX, SessionStoreError, type SessionStoreErrorCode } from "./errors.ts";

/** The server error numbers acted on, by their names in MySQL's and MariaDB's sources. */
export const ER = {
  DBACCESS_DENIED: 1044,
  ACCESS_DENIED: 1045,
  UNKNOWN_COM: 1047, // Galera: "WSREP has not yet prepared node for application use"
  BAD_DB: 1049,
  BAD_FIELD: 1054,
  DUP_FIELDNAME: 1060,
  DUP_KEYNAME: 1061,
  PASSWORD_NO_MATCH: 1133, // GRANT to an account that does not exist
  TABLEACCESS_DENIED: 1142,
  COLUMNACCESS_DENIED: 1143,
  NO_SUCH_TABLE: 1146,
  ERROR_DURING_COMMIT: 1180,
  LOCK_WAIT_TIMEOUT: 1205,
  LOCK_DEADLOCK: 1213, // also how Galera reports a certification failure
  SPECIFIC_ACCESS_DENIED: 1227,
  NOT_SUPPORTED_AUTH_MODE: 1251,
  OPTION_PREVENTS_STATEMENT: 1290, // read_only / super_read_only
  SP_ALREADY_EXISTS: 1304,
  SP_DOES_NOT_EXIST: 1305,
  QUERY_INTERRUPTED: 1317,
  PROCACCESS_DENIED: 1370,
  CANT_CREATE_USER_WITH_GRANT: 1410, // MySQL's answer to GRANT for a missing account
  ACCESS_DENIED_NO_PASSWORD: 1698, // MariaDB: an unknown user, or one without a password
  MUST_CHANGE_PASSWORD: 1820, // MariaDB lets an expired password log in, then says this
  MUST_CHANGE_PASSWORD_LOGIN: 1862, // MySQL refuses the login of an expired password
  CONNECTION_KILLED: 1927, // MariaDB
  TRANSACTION_ROLLBACK_DURING_COMMIT: 3101, // Group Replication certification failure
  INVALID_JSON_TEXT: 3140,
  JSON_DOCUMENT_TOO_DEEP: 3157,
  SECURE_TRANSPORT_REQUIRED: 3159,
  CONSTRAINT_FAILED: 4025, // MariaDB: CHECK (JSON_VALID(sess))
} as const;

/** The server's error number, 0 when `error` has none. */
export function errnoOf(error: unknown): number {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === "number" ? errno : 0;
}

/** The text an error carries: the server's words for a driver error. */
export function messageOf(error: unknown): string {
  const { sqlMessage, message } = (error ?? {}) as { sqlMessage?: unknown; message?: unknown };
  return String(sqlMessage ?? message ?? error);
}

// Driver error codes that mean the connection, not the statement, failed: the server is down,
// unreachable, or dropped the connection. Another attempt on another connection may succeed.
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "ER_CON_COUNT_ERROR",
  "ER_SERVER_SHUTDOWN",
  "ER_CONNECTION_KILLED",
  // mariadb (MariaDB Connector/Node): its own errors, numbered 45001-45065.
  "ER_SOCKET_UNEXPECTED_CLOSE", // the server closed the connection (KILL, a restart)
  "ER_CMD_NOT_EXECUTED_DESTROYED", // the connection was destroyed under the statement
  "ER_CMD_CONNECTION_CLOSED",
  "ER_CONNECTION_ALREADY_CLOSED",
  "ER_CONNECTION_TIMEOUT", // connectTimeout passed
  "ER_SOCKET_TIMEOUT",
  "ER_SOCKET",
]);

/** Connecting gave up: the server did not answer in time (mysql2's and mariadb's connectTimeout). */
function isConnectTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ETIMEDOUT" || code === "ER_CONNECTION_TIMEOUT";
}

/** Whether `error` says the database connection failed (as opposed to the statement). */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, fatal } = error as { code?: unknown; fatal?: unknown };
  if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  return fatal === true && !(errnoOf(error) in SETUP_ERRNOS);
}

/** Why a server could not be reached, in words, from the driver's error code. */
export function unreachableCause(error: unknown): string | undefined {
  if (isConnectTimeout(error)) {
    return "no answer in time (ETIMEDOUT): a firewall drops the packets, or the host is wrong";
  }
  switch ((error as { code?: unknown }).code) {
    case "ECONNREFUSED":
      return "connection refused (ECONNREFUSED): nothing listens on that port";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve (DNS)";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to the host (EHOSTUNREACH)";
    default:
      return undefined;
  }
}

/**
 * Whether the server refused the statement because it is read-only (`super_read_only`: a Group
 * Replication secondary, or a primary just demoted). Nothing ran; the connection leads to the
 * wrong member and is not worth keeping.
 */
export function isReadOnlyRefusal(error: unknown): boolean {
  return errnoOf(error) === ER.OPTION_PREVENTS_STATEMENT;
}

/** Whether the statement lost a race with another writer (the row was busy). */
export function isWriteConflict(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === ER.LOCK_DEADLOCK || errno === ER.LOCK_WAIT_TIMEOUT;
}

const ROLLED_BACK_ERRNOS = new Set<number>([
  ER.LOCK_WAIT_TIMEOUT,
  ER.LOCK_DEADLOCK,
  ER.UNKNOWN_COM,
  ER.TRANSACTION_ROLLBACK_DURING_COMMIT,
]);
// "Got error 149 - 'Lock deadlock; Retry transaction' during COMMIT": Group Replication's
// applier aborted the local transaction at commit for a conflicting one certified first; it was
// rolled back. Other handler errors during COMMIT say nothing of the outcome.
const DEADLOCK_AT_COMMIT = /\berror 149\b/;
// Not here: 3100 (ER_RUN_HOOK_ERROR, "Error on observer while running replication hook
// 'before_commit'"). A member that leaves the group while its transaction awaits certification
// reports it, yet the group may have certified and committed that transaction.

/**
 * Whether the server certainly changed nothing: it rolled the statement back (a deadlock, a
 * lock wait timeout, a certification conflict, a Group Replication certification failure) or
 * refused it before running it (a node not ready, a read-only member).
 */
export function isRolledBack(error: unknown): boolean {
  const errno = errnoOf(error);
  return ROLLED_BACK_ERRNOS.has(errno) || isReadOnlyRefusal(error) ||
    (errno === ER.ERROR_DURING_COMMIT && DEADLOCK_AT_COMMIT.test(messageOf(error)));
}

/**
 * Whether the server answered the statement with an error of its own, neither a conflict nor an
 * interruption (bad data, a missing procedure, a privilege): it refused the statement, which
 * changed nothing. Server errors are numbered 1000-1999 and from 3000; 2000-2999 are the client
 * library's, and the mariadb connector's own start at 45000.
 */
export function isServerRefusal(error: unknown): boolean {
  const errno = errnoOf(error);
  const fromServer = errno >= 1000 && (errno < 2000 || (errno >= 3000 && errno < 45000));
  return fromServer && !isConnectionError(error) && !isRolledBack(error) &&
    !isInterrupted(error);
}

/** A statement interrupted by KILL QUERY or a killed connection: it may have committed first. */
export function isInterrupted(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === ER.QUERY_INTERRUPTED || errno === ER.CONNECTION_KILLED;
}

const ACCESS_DENIED_ERRNOS = new Set<number>([
  ER.DBACCESS_DENIED,
  ER.TABLEACCESS_DENIED,
  ER.COLUMNACCESS_DENIED,
  ER.SPECIFIC_ACCESS_DENIED,
  ER.PROCACCESS_DENIED,
]);

/** Whether the server refused a statement for want of a privilege (not a refused login). */
export function isAccessDenied(error: unknown): boolean {
  return ACCESS_DENIED_ERRNOS.has(errnoOf(error));
}

// The account named in "... denied to user 'app'@'%' ...".
const DENIED_USER = /user '([^']*)'@'([^']*)'/;

function accountIn(message: string): string {
  const match = DENIED_USER.exec(message);
  return match ? `'${match[1]}'@'${match[2]}'` : "<the app's account>";
}

const GRANT_COMMAND = "npx knex-mysql-session grant <account> --table <table> --apply";

/** What to do about an expired password, at login (MySQL) or at the first statement (MariaDB). */
export const EXPIRED_PASSWORD_FIX = "set a new one (ALTER USER … IDENTIFIED BY …), or exempt the " +
  "account (ALTER USER … PASSWORD EXPIRE NEVER)";

type Explanation = (message: string) => [SessionStoreErrorCode, string];
const accessDeniedOnDatabase: Explanation = (m) => [
  "ERR_ACCESS_DENIED",
  `the account lacks a privilege on the database (${m}): GRANT the privilege the step needs ` +
  "(see the message), or install the schema with the owner's account",
];
const accessDeniedOnTable: Explanation = (m) => [
  "ERR_ACCESS_DENIED",
  `${m}: GRANT ${/^(\w+)/.exec(m)?.[1]?.toUpperCase() ?? "SELECT"} ON <database>.<table> ` +
  `TO ${accountIn(m)}, or \`${GRANT_COMMAND}\``,
];

/** Server errors that stay until someone changes the set-up, and the fix each one names. */
const SETUP_ERRNOS: Record<number, Explanation> = {
  [ER.DBACCESS_DENIED]: accessDeniedOnDatabase,
  [ER.SPECIFIC_ACCESS_DENIED]: accessDeniedOnDatabase,
  [ER.TABLEACCESS_DENIED]: accessDeniedOnTable, // "SELECT command denied … for table 't'"
  [ER.COLUMNACCESS_DENIED]: accessDeniedOnTable,
  [ER.BAD_DB]: (m) => [
    "ERR_CONFIG",
    `the connection's database does not exist (${m}): create it, or name another in the ` +
    "connection",
  ],
  [ER.BAD_FIELD]: (m) => [
    "ERR_SCHEMA",
    `a procedure does not fit the table (${m}): it was made for another layout; reinstall ` +
    "with `npx knex-mysql-session install --table <table> --sid <column>`",
  ],
  [ER.NO_SUCH_TABLE]: (m) => [
    "ERR_SCHEMA",
    `${m}: install the schema with createtable: true or \`npx knex-mysql-session install\``,
  ],
  [ER.MUST_CHANGE_PASSWORD]: (m) => [
    "ERR_CONFIG",
    `the account's password has expired (${m}): ${EXPIRED_PASSWORD_FIX}`,
  ],
  [ER.SP_DOES_NOT_EXIST]: (m) => [
    "ERR_SCHEMA",
    `${m}: install the procedures with createtable: true, or \`npx knex-mysql-session ` +
    "install` (`upgrade` for a table of an older schema version)",
  ],
  [ER.PROCACCESS_DENIED]: (m) => [ // "execute command denied … for routine 'db.p'"
    "ERR_ACCESS_DENIED",
    `${m}: GRANT EXECUTE ON PROCEDURE ${/routine '([^']+)'/.exec(m)?.[1] ?? "<procedure>"} TO ${
      accountIn(m)
    }, or \`${GRANT_COMMAND}\` (the server drops these grants with the ` +
    "procedures: grant again after a reinstall)",
  ],
};

/** Whether the server refused a session's JSON (too deeply nested, or a lone surrogate). */
function isJsonRefused(error: unknown): boolean {
  const errno = errnoOf(error);
  // MariaDB's CHECK (JSON_VALID(sess)) fails (4025) on 32 or more levels of nesting and on lone
  // surrogates (which JSON.stringify writes as \ud800); MySQL refuses invalid JSON text (3140)
  // and nesting deeper than 100 levels (3157).
  return errno === ER.CONSTRAINT_FAILED || errno === ER.INVALID_JSON_TEXT ||
    errno === ER.JSON_DOCUMENT_TOO_DEEP;
}

/** The database layer's own errors, which say what happened but not to which operation. */
const STATEMENT_CODES = new Set<SessionStoreErrorCode>([
  "ERR_TIMEOUT",
  "ERR_POOL_TIMEOUT",
  "ERR_QUEUE_FULL",
]);

/**
 * The SessionStoreError a failure of the store operation `operation` reports: a set-up error
 * with its fix, a refused session, a timeout, or ERR_DATABASE with the server's words; `note`
 * adds what the caller knows of the outcome.
 */
export function databaseError(operation: string, cause: unknown, note?: string): SessionStoreError {
  const error = storeErrorOf(operation, cause);
  if (note === undefined) return error;
  return new SessionStoreError(error.code, `${error.message.slice(PREFIX.length)}; ${note}`, {
    cause,
  });
}

function storeErrorOf(operation: string, cause: unknown): SessionStoreError {
  if (cause instanceof SessionStoreError) {
    if (!STATEMENT_CODES.has(cause.code)) return cause;
    const text = cause.message.slice(PREFIX.length);
    return new SessionStoreError(cause.code, `${operation} failed: ${text}`, { cause });
  }
  const explanation = SETUP_ERRNOS[errnoOf(cause)];
  if (explanation) {
    const [code, message] = explanation(messageOf(cause));
    return new SessionStoreError(code, `${operation} failed: ${message}`, { cause });
  }
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (operation === "set" && isJsonRefused(cause)) {
    return new SessionStoreError(
      "ERR_INVALID_SESSION",
      "the server refused the session's JSON (nested 32 or more levels deep, or holding a " +
        `string with a lone surrogate): ${detail}`,
      { cause },
    );
  }
  return new SessionStoreError(
    isConnectTimeout(cause) ? "ERR_TIMEOUT" : "ERR_DATABASE",
    `${operation} failed: ${detail}`,
    { cause },
  );
}
