/** What went wrong, as a stable string to branch on. */
export type SessionStoreErrorCode =
  /** The session id is not a non-empty, well-formed string of at most 255 characters. */
  | "ERR_INVALID_SID"
  /** The session is not an object, or cannot be turned into JSON (a cycle, a BigInt). */
  | "ERR_INVALID_SESSION"
  /** The session's JSON is larger than the server accepts in one packet. */
  | "ERR_SESSION_TOO_LARGE"
  /** Set-up: the table or procedures are missing, or were made for another table layout. */
  | "ERR_SCHEMA"
  /** Set-up: the account lacks a privilege; the message names the GRANT or the CLI command. */
  | "ERR_ACCESS_DENIED"
  /**
   * Set-up: the connection cannot serve the store: its character set, its driver, its login,
   * its database, or the server's version. The message names the setting to change.
   */
  | "ERR_CONFIG"
  /** No answer within `queryTimeout`: the server is unreachable, or a statement hung. */
  | "ERR_TIMEOUT"
  /** No free connection in knex's pool within `queryTimeout`: the pool is busy, not down. */
  | "ERR_POOL_TIMEOUT"
  /** Too many statements were waiting for a connection: refused at once, not queued. */
  | "ERR_QUEUE_FULL"
  /** The database failed the operation otherwise (after any safe resends). */
  | "ERR_DATABASE"
  /** The store was closed. */
  | "ERR_STORE_CLOSED";

const PREFIX = "knex-mysql-session: ";

/** The error every store operation reports, through its callback or its promise. */
export class SessionStoreError extends Error {
  /** What went wrong, to branch on; the message says it in words and names the fix. */
  readonly code: SessionStoreErrorCode;

  /**
   * An error with this code; `message` gets the package's prefix, and `cause` is the
   * driver's error when there is one.
   */
  constructor(code: SessionStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(PREFIX + message, options);
    this.name = "SessionStoreError";
    this.code = code;
  }
}

/** The error of an operation on a closed store. */
export function closedError(): SessionStoreError {
  return new SessionStoreError("ERR_STORE_CLOSED", "the store was closed");
}

const SETUP_CODES = new Set<SessionStoreErrorCode>([
  "ERR_SCHEMA",
  "ERR_ACCESS_DENIED",
  "ERR_CONFIG",
]);

/**
 * Whether `error` is a set-up error: it stays until someone changes the schema, the grants or
 * the configuration, so the store reports it once and fails fast instead of retrying.
 */
export function isSetupError(error: unknown): boolean {
  return error instanceof SessionStoreError && SETUP_CODES.has(error.code);
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
]);

/** Whether `error` says the database connection failed (as opposed to the statement). */
export function isConnectionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const { code, fatal } = error as { code?: unknown; fatal?: unknown };
  if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  return fatal === true && !(errnoOf(error) in SETUP_ERRNOS);
}

const ER_OPTION_PREVENTS_STATEMENT = 1290;

/**
 * Whether the server refused the statement because it is read-only (`super_read_only`: a Group
 * Replication secondary, or a primary just demoted). Nothing ran; the connection leads to the
 * wrong member and is not worth keeping.
 */
export function isReadOnlyRefusal(error: unknown): boolean {
  return errnoOf(error) === ER_OPTION_PREVENTS_STATEMENT;
}

function errnoOf(error: unknown): number {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === "number" ? errno : 0;
}

/** The text a driver error carries, without the driver's prefixes. */
function messageOf(error: unknown): string {
  const { sqlMessage, message } = (error ?? {}) as { sqlMessage?: unknown; message?: unknown };
  return String(sqlMessage ?? message ?? error);
}

// The account named in "... denied to user 'app'@'%' ...".
const DENIED_USER = /user '([^']*)'@'([^']*)'/;

function accountIn(message: string): string {
  const match = DENIED_USER.exec(message);
  return match ? `'${match[1]}'@'${match[2]}'` : "<the app's account>";
}

const GRANT_COMMAND = "npx knex-mysql-session grant <account> --table <table> --apply";

/** Server errors that stay until someone changes the set-up, and the fix each one names. */
const SETUP_ERRNOS: Record<number, (message: string) => [SessionStoreErrorCode, string]> = {
  1044: (m) => [ // ER_DBACCESS_DENIED_ERROR
    "ERR_ACCESS_DENIED",
    `the account lacks a privilege on the database (${m}): GRANT the privilege the step needs ` +
    "(see the message), or install the schema with the owner's account",
  ],
  1049: (m) => [ // ER_BAD_DB_ERROR
    "ERR_CONFIG",
    `the connection's database does not exist (${m}): create it, or name another in the ` +
    "connection",
  ],
  1054: (m) => [ // ER_BAD_FIELD_ERROR
    "ERR_SCHEMA",
    `a procedure does not fit the table (${m}): it was made for another layout; reinstall ` +
    "with `npx knex-mysql-session install --table <table> --sid <column>`",
  ],
  1142: (m) => [ // ER_TABLEACCESS_DENIED_ERROR: "SELECT command denied to user … for table 't'"
    "ERR_ACCESS_DENIED",
    `${m}: GRANT ${/^(\w+)/.exec(m)?.[1]?.toUpperCase() ?? "SELECT"} ON <database>.<table> ` +
    `TO ${accountIn(m)}, or \`${GRANT_COMMAND}\``,
  ],
  1146: (m) => [ // ER_NO_SUCH_TABLE
    "ERR_SCHEMA",
    `${m}: install the schema with createtable: true or \`npx knex-mysql-session install\``,
  ],
  1820: (m) => [ // ER_MUST_CHANGE_PASSWORD: MariaDB lets an expired password log in, then this
    "ERR_CONFIG",
    `the account's password has expired (${m}): set a new one (ALTER USER … IDENTIFIED BY …), ` +
    "or exempt the account (ALTER USER … PASSWORD EXPIRE NEVER)",
  ],
  1305: (m) => [ // ER_SP_DOES_NOT_EXIST
    "ERR_SCHEMA",
    `${m}: install the procedures with createtable: true, or \`npx knex-mysql-session ` +
    "install` (`upgrade` for a table of an older schema version)",
  ],
  1370: (m) => [ // ER_PROCACCESS_DENIED_ERROR: "execute command denied … for routine 'db.p'"
    "ERR_ACCESS_DENIED",
    `${m}: GRANT EXECUTE ON PROCEDURE ${/routine '([^']+)'/.exec(m)?.[1] ?? "<procedure>"} TO ${
      accountIn(m)
    }, or \`${GRANT_COMMAND}\` (the server drops these grants with the ` +
    "procedures: grant again after a reinstall)",
  ],
};
SETUP_ERRNOS[1143] = SETUP_ERRNOS[1142]!; // ER_COLUMNACCESS_DENIED_ERROR
SETUP_ERRNOS[1227] = SETUP_ERRNOS[1044]!; // ER_SPECIFIC_ACCESS_DENIED_ERROR

/**
 * The set-up error a driver error stands for, with its fix, if it is one; `operation` names
 * the store operation it failed.
 */
function setupErrorOf(cause: unknown, operation: string): SessionStoreError | undefined {
  if (cause instanceof SessionStoreError) return isSetupError(cause) ? cause : undefined;
  const explain = SETUP_ERRNOS[errnoOf(cause)];
  if (!explain) return undefined;
  const [code, message] = explain(messageOf(cause));
  return new SessionStoreError(code, `${operation} failed: ${message}`, { cause });
}

// The server refused a session's JSON: MariaDB's CHECK (JSON_VALID(sess)) fails (4025) on 32
// or more levels of nesting and on lone surrogates (which JSON.stringify writes as \ud800);
// MySQL 8 refuses invalid JSON text (3140) and nesting deeper than 100 levels (3157).
const SESSION_JSON_REFUSED = new Set([4025, 3140, 3157]);

/**
 * Wraps a driver error so that every failure the store reports is a SessionStoreError naming
 * the operation; `note` adds what the caller knows of the outcome.
 */
export function databaseError(operation: string, cause: unknown, note?: string): SessionStoreError {
  const error = storeErrorOf(operation, cause);
  if (note === undefined) return error;
  return new SessionStoreError(error.code, `${error.message.slice(PREFIX.length)}; ${note}`, {
    cause,
  });
}

/** The database layer's own errors, which say what happened but not to which operation. */
const STATEMENT_CODES = new Set<SessionStoreErrorCode>([
  "ERR_TIMEOUT",
  "ERR_POOL_TIMEOUT",
  "ERR_QUEUE_FULL",
]);

function storeErrorOf(operation: string, cause: unknown): SessionStoreError {
  if (cause instanceof SessionStoreError) {
    if (!STATEMENT_CODES.has(cause.code)) return cause;
    return new SessionStoreError(
      cause.code,
      `${operation} failed: ${cause.message.slice(PREFIX.length)}`,
      { cause },
    );
  }
  const setup = setupErrorOf(cause, operation);
  if (setup) return setup;
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (operation === "set" && SESSION_JSON_REFUSED.has(errnoOf(cause))) {
    return new SessionStoreError(
      "ERR_INVALID_SESSION",
      "the server refused the session's JSON (nested 32 or more levels deep, or holding a " +
        `string with a lone surrogate): ${detail}`,
      { cause },
    );
  }
  // Connecting gave up (mysql2's connectTimeout): the server did not answer in time.
  const code = (cause as { code?: unknown } | null)?.code === "ETIMEDOUT"
    ? "ERR_TIMEOUT"
    : "ERR_DATABASE";
  return new SessionStoreError(code, `${operation} failed: ${detail}`, { cause });
}
