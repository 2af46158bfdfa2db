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

/** What every message of the package starts with. */
export const PREFIX = "knex-mysql-session: ";

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
