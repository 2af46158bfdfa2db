// What the store and the CLI know of the errors MySQL, MariaDB and their drivers (mysql2,
// mariadb, mysql) report: each error number or code a class (the connection failed, a write conflict,
// rolled back, a missing privilege, a refused login, …) and, for the errors someone has to
// fix, the fix to name. Only here are error numbers written.
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
const EXPIRED_PASSWORD_FIX = "set a new one (ALTER USER … IDENTIFIED BY …), or exempt the " +
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

// Refused logins: each a configuration error (never an outage: retrying cannot fix a password,
// a missing account or an untrusted certificate), naming the account and the server, never the
// password.

/** Where the fixes are explained step by step. */
const GUIDE = "https://knex-mysql-session.github.io/knex-mysql-session/docs/connecting-securely";

/** The parts of a connection's settings a message may show: no password, no key. */
export interface LoginTarget {
  user?: unknown;
  host?: unknown;
  port?: unknown;
  socketPath?: unknown;
  ssl?: unknown;
}

/** Whom the login was for, and where: `'app' at 127.0.0.1:3307`. */
function describe(target: LoginTarget | undefined, message: string): string {
  const named = typeof target?.user === "string" && target.user !== "" ? target.user : undefined;
  const user = named ?? /user '([^']*)'/.exec(message)?.[1];
  const account = user === undefined ? "the connection's account" : `'${user}'`;
  if (typeof target?.socketPath === "string") return `${account} at ${target.socketPath}`;
  const host = typeof target?.host === "string" ? target.host : "localhost";
  const port = typeof target?.port === "number" || typeof target?.port === "string"
    ? target.port
    : 3306;
  return `${account} at ${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/**
 * The driver whose settings a fix names: mysql2 (the store's own connection, and a knex client
 * "mysql2") or mariadb (knex's client "mariadb"), told apart by the codes of their errors.
 */
type Driver = "mysql2" | "mariadb";

/** Each driver's words for the settings a fix names. */
const SETTINGS: Record<
  Driver,
  { viaTls: string; givenKey: string; fetchedKey: string; caOnly: string }
> = {
  mysql2: {
    viaTls:
      '`?ssl-ca=/path/to/ca.pem` in a mysql:// URL, or `ssl: { ca: readFileSync("/path/to/ca.pem") }` in a config',
    givenKey:
      '`?server-public-key-path=/path/to/public_key.pem`, or `serverPublicKey: readFileSync("/path/to/public_key.pem")`',
    fetchedKey: "`?allowPublicKeyRetrieval=true`, or `allowPublicKeyRetrieval: true`",
    caOnly: "ssl-mode VERIFY_CA (`verifyIdentity: false`, mysql2's default)",
  },
  mariadb: {
    viaTls: '`ssl: { ca: readFileSync("/path/to/ca.pem") }` in the connection',
    givenKey: '`cachingRsaPublicKey: "/path/to/public_key.pem"` in the connection',
    fetchedKey: "`allowPublicKeyRetrieval: true` in the connection",
    caOnly: "`ssl: { ca, checkServerIdentity: () => undefined }`",
  },
};

/** The three ways through caching_sha2_password without TLS, best first. */
function rsaKeyFixes(driver: Driver): string {
  const { viaTls, givenKey, fetchedKey } = SETTINGS[driver];
  return "Fix it one of three ways, best first: (1) connect over TLS, verified against the " +
    `server's CA: ${viaTls} (MySQL makes ca.pem in its data directory); (2) give the server's ` +
    "RSA public key (its public_key.pem, or the value of SHOW STATUS LIKE " +
    `'Caching_sha2_password_rsa_public_key'): ${givenKey}; (3) only on a network you trust, let ` +
    `the driver fetch the key unverified: ${fetchedKey}. See ${GUIDE}`;
}

/** Why a login over plain TCP to a caching_sha2_password account was refused. */
function keyExchangeRefusal(where: string, driver: Driver): string {
  return `the server refused the login of ${where} without TLS: the account uses ` +
    "caching_sha2_password (MySQL 8.4 and 9's default), whose password exchange over a " +
    "connection without TLS needs the server's RSA public key, and the driver will not " +
    `fetch it unverified. ${rsaKeyFixes(driver)}`;
}

// Node's codes for a certificate it would not verify, which the mariadb driver passes on as
// they are (mysql2 wraps them in HANDSHAKE_SSL_ERROR), and the mariadb driver's own.
const CERTIFICATE_CODE = /^ERR_TLS_|^ERR_SSL_|CERT|SELF_SIGNED|ISSUER|LEAF_SIGNATURE|^INVALID_CA$/;

const TRUST_CA_FIX =
  "give the CA that signed the server's certificate: `?ssl-ca=/path/to/ca.pem` " +
  'in a mysql:// URL, or `ssl: { ca: readFileSync("/path/to/ca.pem") }` in a config (MySQL ' +
  "makes its own ca.pem in its data directory; a managed service publishes its CA bundle). Do " +
  "not turn verification off: anyone on the network path could then read the password";

/** A refused TLS handshake: what the certificate problem is, and its fix; undefined if none. */
function tlsRefusal(message: string, where: string, driver: Driver): string | undefined {
  if (/Hostname\/IP does not match/i.test(message)) {
    return `the server's certificate is not issued for the host name the connection uses ` +
      `(${where}: ${message}): connect by a name the certificate holds, or, for a certificate ` +
      `that names no host (MySQL's auto-generated one), verify its CA only: ${
        SETTINGS[driver].caOnly
      }. ` +
      `See ${GUIDE}`;
  }
  if (/certificate has expired|not yet valid/i.test(message)) {
    return `the server's certificate is out of its validity period (${where}: ${message}): ` +
      "renew the server's certificate (and check both machines' clocks); do not turn " +
      `verification off. See ${GUIDE}`;
  }
  if (/certificate|unable to get (local )?issuer/i.test(message)) {
    return `the server's certificate is not signed by a CA the connection trusts (${where}: ` +
      `${message}): ${TRUST_CA_FIX}. See ${GUIDE}`;
  }
  if (
    /protocol version|wrong version number|no protocols available|handshake failure/i.test(message)
  ) {
    return `TLS could not be agreed with the server (${where}: ${message}): the server and ` +
      "Node share no TLS version or cipher; enable TLS 1.2 or 1.3 on the server " +
      `(tls_version). See ${GUIDE}`;
  }
  return undefined;
}

/** Where the credentials are, in messages; the CLI names its --url or MYSQL_URL instead. */
export const CREDENTIALS = "of the connection";

// MariaDB refuses a login without TLS by a server that requires it with 1045, as a bad password.
const TLS_REQUIRED_BY_MARIADB = "if the server requires TLS (require_secure_transport; " +
  "MariaDB then refuses a plain login with this same error), connect over TLS: " +
  "`?ssl-ca=/path/to/ca.pem`";

/** Why the server or the driver refused the login, with its fix; undefined when it did not. */
function refusalOf(error: unknown, where: string, tls: boolean): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = messageOf(error);
  switch (code) {
    case "PUBLIC_KEY_RETRIEVAL_NOT_ALLOWED": // mysql2 3.26+
      return keyExchangeRefusal(where, "mysql2");
    case "ER_CANNOT_RETRIEVE_RSA_KEY": // mariadb
      return keyExchangeRefusal(where, "mariadb");
    case "HANDSHAKE_SSL_ERROR":
      return tlsRefusal(message, where, "mysql2");
    case "HANDSHAKE_NO_SSL_SUPPORT":
    case "ER_SERVER_SSL_DISABLED": // mariadb
      return `the connection asks for TLS but the server (${where}) offers none: configure ` +
        "the server's certificate (ssl_cert, ssl_key), or connect to a server that has one. " +
        `See ${GUIDE}`;
    case "AUTH_SWITCH_PLUGIN_ERROR":
    case "MYSQL_CLEAR_PASSWORD_NOT_ENABLED":
    case "ER_AUTHENTICATION_PLUGIN_NOT_SUPPORTED": // mariadb
    case "ER_NOT_SUPPORTED_AUTH_PLUGIN":
    case "ER_CLEAR_PASSWORD_WITHOUT_SSL":
      return `the login of ${where} failed in its authentication plugin (${message}): use an ` +
        "account on caching_sha2_password or mysql_native_password (ALTER USER … IDENTIFIED " +
        `WITH …). See ${GUIDE}`;
    case "ER_NOT_SUPPORTED_AUTH_MODE": // the mysql driver reports it without an errno
      return notSupportedAuthMode(message, where);
  }
  if (typeof code === "string" && CERTIFICATE_CODE.test(code)) {
    return tlsRefusal(message, where, "mariadb");
  }
  switch (errnoOf(error)) {
    case ER.ACCESS_DENIED:
      return `the server refused the login of ${where} (${message}): check the user and ` +
        `password ${CREDENTIALS} (percent-encode special characters in a mysql:// URL, ` +
        "e.g. @ as %40), and that the account exists for the host the server sees you " +
        "connect from" + (tls ? "" : `; ${TLS_REQUIRED_BY_MARIADB}`);
    case ER.ACCESS_DENIED_NO_PASSWORD:
      return `the server refused the login of ${where} without a password (${message}): ` +
        "give the account's password in the connection; if it has none, the account does " +
        "not exist for this host or logs in by another plugin (Debian's root uses " +
        "unix_socket): create the app's account (CREATE USER … IDENTIFIED BY …), then " +
        "`npx knex-mysql-session grant <account> --table <table> --apply`";
    case ER.NOT_SUPPORTED_AUTH_MODE:
      return notSupportedAuthMode(message, where);
    case ER.SECURE_TRANSPORT_REQUIRED:
      return `the server refused the login of ${where} without TLS (${message}): it requires ` +
        `secure transport. Connect over TLS: ${TRUST_CA_FIX}. See ${GUIDE}`;
    case ER.MUST_CHANGE_PASSWORD_LOGIN:
      return `the server refused the login of ${where}: the account's password has expired ` +
        `(${message}): ${EXPIRED_PASSWORD_FIX}`;
  }
  return undefined;
}

function notSupportedAuthMode(message: string, where: string): string {
  return `the driver cannot log in as ${where} (${message}): the knex client "mysql" ` +
    "(mysqljs) speaks only mysql_native_password, which MySQL 8.4 disables and MySQL 9 " +
    'removed: use knex({ client: "mysql2", ... })';
}

/**
 * The ERR_CONFIG error a refused login stands for, naming the account, the server and the fix;
 * undefined when `error` is no refused login (a network failure, say). `target` is the
 * connection's settings, when known.
 */
export function loginRefusalOf(
  error: unknown,
  target: LoginTarget | undefined,
): SessionStoreError | undefined {
  if (error instanceof SessionStoreError) return undefined;
  const message = messageOf(error);
  const refusal = refusalOf(error, describe(target, message), Boolean(target?.ssl));
  return refusal === undefined
    ? undefined
    : new SessionStoreError("ERR_CONFIG", refusal, { cause: error });
}
