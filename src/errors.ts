/** What went wrong, as a stable string to branch on. */
export type SessionStoreErrorCode =
  /** The session id is not a non-empty, well-formed string of at most 255 characters. */
  | "ERR_INVALID_SID"
  /** The session is not an object, or cannot be turned into JSON (a cycle, a BigInt). */
  | "ERR_INVALID_SESSION"
  /** The session's JSON is larger than the server accepts in one packet. */
  | "ERR_SESSION_TOO_LARGE"
  /** The table or procedures are missing or not usable by this account. */
  | "ERR_SCHEMA"
  /** The database could not be reached or refused the operation. */
  | "ERR_DATABASE"
  /** The store was closed. */
  | "ERR_STORE_CLOSED";

/** The error every store operation reports, through its callback or its promise. */
export class SessionStoreError extends Error {
  readonly code: SessionStoreErrorCode;

  constructor(code: SessionStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(`knex-mysql-session: ${message}`, options);
    this.name = "SessionStoreError";
    this.code = code;
  }
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
  const { code, name, fatal } = error as { code?: unknown; name?: unknown; fatal?: unknown };
  if (typeof code === "string" && CONNECTION_ERROR_CODES.has(code)) return true;
  // knex's pool gives up acquiring a connection with a KnexTimeoutError.
  if (name === "KnexTimeoutError") return true;
  return fatal === true;
}

// The server refused a session's JSON: MariaDB's CHECK (JSON_VALID(sess)) fails (4025) on 32
// or more levels of nesting and on lone surrogates (which JSON.stringify writes as \ud800);
// MySQL 8 refuses invalid JSON text (3140) and nesting deeper than 100 levels (3157).
const SESSION_JSON_REFUSED = new Set([4025, 3140, 3157]);

/** Wraps a driver error so every failure the store reports is a SessionStoreError. */
export function databaseError(operation: string, cause: unknown): SessionStoreError {
  if (cause instanceof SessionStoreError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const errno = (cause as { errno?: unknown } | null)?.errno;
  if (operation === "set" && typeof errno === "number" && SESSION_JSON_REFUSED.has(errno)) {
    return new SessionStoreError(
      "ERR_INVALID_SESSION",
      "the server refused the session's JSON (nested 32 or more levels deep, or holding a " +
        `string with a lone surrogate): ${detail}`,
      { cause },
    );
  }
  return new SessionStoreError("ERR_DATABASE", `${operation} failed: ${detail}`, { cause });
}
