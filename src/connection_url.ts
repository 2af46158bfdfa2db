// A mysql:// URL as the mysql2 connection config it stands for. The store and the CLI parse URLs
// here rather than hand them to knex or mysql2: a bad %-escape becomes an error naming where the
// URL came from (not a raw URIError), and TLS can be set up with the names MySQL's own clients
// use, whose values are file paths (mysql2's `ssl` option wants the certificates' contents).
import { readFileSync } from "node:fs";

/** A mysql2 connection config: host, port, user, password, database, ssl, … */
export type MySQLConnectionConfig = Record<string, unknown>;

/** How a connection verifies its server, as MySQL's clients name it (`--ssl-mode`). */
const SSL_MODES = ["DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"] as const;
type SslMode = typeof SSL_MODES[number];

/** Query parameters that name a file whose contents go into the config. */
const FILE_PARAMETERS = {
  "ssl-ca": "ca",
  "ssl-cert": "cert",
  "ssl-key": "key",
  "server-public-key-path": "serverPublicKey",
} as const;
type FileParameter = keyof typeof FILE_PARAMETERS;

/** The URL form messages show. */
export const URL_FORM = "mysql://user:password@host:3306/database";

/**
 * The mysql2 config a `mysql://` (or `mariadb://`) URL stands for: user, password and database
 * percent-decoded; mysql2's own options from the query string (a JSON value parsed, as mysql2
 * reads them: `?allowPublicKeyRetrieval=true`, `?ssl={"rejectUnauthorized":true}`); and
 * MySQL's client settings `ssl-mode` (DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY),
 * `ssl-ca`, `ssl-cert`, `ssl-key` and `server-public-key-path`, whose values are files read now.
 *
 * @param where names the URL's source in errors, e.g. `option "connection"` or `--url`.
 * @throws TypeError naming `where` and what is wrong; never the URL (it may hold a password).
 */
export function connectionConfigOf(url: string, where: string): MySQLConnectionConfig {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(
      `${where} is not a mysql:// URL (expected ${URL_FORM}; percent-encode special characters in the ` +
        "user and password, e.g. @ as %40)",
    );
  }
  if (parsed.protocol !== "mysql:" && parsed.protocol !== "mariadb:") {
    throw new TypeError(
      `${where} must start with mysql:// (it starts with ${parsed.protocol}//; expected ` +
        `${URL_FORM})`,
    );
  }
  if (!parsed.hostname) throw new TypeError(`${where} names no host: expected ${URL_FORM}`);
  const decoded = (part: string, text: string) => {
    try {
      return decodeURIComponent(text);
    } catch {
      throw new TypeError(
        `the ${part} in ${where} has a % that starts no %-escape: write % as %25 (and @ as %40, ` +
          ": as %3A, / as %2F)",
      );
    }
  };
  const config: MySQLConnectionConfig = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, "$1"), // an IPv6 address without its brackets
    ...(parsed.port && { port: Number(parsed.port) }),
    ...(parsed.username && { user: decoded("user", parsed.username) }),
    ...(parsed.password && { password: decoded("password", parsed.password) }),
    database: decoded("database", parsed.pathname.slice(1)),
  };
  let sslMode: SslMode | undefined;
  const files: Partial<Record<FileParameter, string>> = {};
  for (const [name, value] of parsed.searchParams) {
    if (name === "ssl-mode") sslMode = sslModeOf(value, where);
    else if (name in FILE_PARAMETERS) files[name as FileParameter] = value;
    else config[name] = jsonOrText(value);
  }
  return withTls(config, sslMode, files, where);
}

function sslModeOf(value: string, where: string): SslMode {
  const mode = value.toUpperCase().replace(/-/g, "_");
  if ((SSL_MODES as readonly string[]).includes(mode)) return mode as SslMode;
  throw new TypeError(
    `ssl-mode in ${where} must be one of ${SSL_MODES.join(", ")} (got ${JSON.stringify(value)})` +
      (mode === "PREFERRED" ? ": mysql2 never falls back to plain text, so choose one" : ""),
  );
}

/** mysql2 (and knex) read a query value as JSON when it parses, as text otherwise. */
function jsonOrText(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** `config` with the TLS settings and key files of MySQL's client settings applied. */
function withTls(
  config: MySQLConnectionConfig,
  mode: SslMode | undefined,
  files: Partial<Record<FileParameter, string>>,
  where: string,
): MySQLConnectionConfig {
  const read = (name: FileParameter) => {
    const path = files[name];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, "utf8");
    } catch (error) {
      throw new TypeError(
        `${name} in ${where} names a file that cannot be read (${JSON.stringify(path)}: ${
          (error as { code?: string }).code ?? (error as Error).message
        })`,
      );
    }
  };
  const serverPublicKey = read("server-public-key-path");
  if (serverPublicKey !== undefined) config.serverPublicKey = serverPublicKey;
  const certificates = { ca: read("ssl-ca"), cert: read("ssl-cert"), key: read("ssl-key") };
  const anyCertificate = Object.values(certificates).some((value) => value !== undefined);
  if (mode === "DISABLED") {
    if (anyCertificate || config.ssl !== undefined) {
      throw new TypeError(
        `ssl-mode=DISABLED in ${where} contradicts its other TLS settings: drop one or the other`,
      );
    }
    return config;
  }
  if (mode === undefined && !anyCertificate) return config; // mysql2's own `ssl`, if any
  const given = typeof config.ssl === "object" && config.ssl !== null ? config.ssl : {};
  const ssl: Record<string, unknown> = { ...given };
  for (const [name, value] of Object.entries(certificates)) {
    if (value !== undefined) ssl[name] = value;
  }
  // As MySQL's clients do: REQUIRED encrypts without checking whom it talks to, unless a CA is
  // given; VERIFY_CA checks the certificate's chain; VERIFY_IDENTITY also its host name.
  const verify = mode !== "REQUIRED" || certificates.ca !== undefined;
  ssl.rejectUnauthorized = verify;
  if (mode === "VERIFY_IDENTITY") ssl.verifyIdentity = true;
  config.ssl = ssl;
  return config;
}
