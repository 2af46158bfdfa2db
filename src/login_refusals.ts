// Refused logins: each a configuration error (never an outage: retrying cannot fix a password,
// a missing account or an untrusted certificate), naming the account and the server, never the
// password, and the fix in the words of the driver that was refused (mysql2 or mariadb).
import { ER, errnoOf, EXPIRED_PASSWORD_FIX, messageOf } from "./driver_errors.ts";
import { SessionStoreError } from "./errors.ts";

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
