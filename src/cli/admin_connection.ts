import knex, { type Knex } from "knex";
import { Database } from "../database.ts";
import { type ServerKind, serverKindOf } from "../server.ts";
import { connectionConfigOf, type MySQLConnectionConfig, URL_FORM } from "../connection_url.ts";
import { CliError, type ErrorContext, explainDatabaseError, usageError } from "./failures.ts";
import { databaseNameProblem } from "./names.ts";

// Query parameters mysql2 reads that hold no secret, shown as given. Every other parameter's
// value is redacted: `?password=` (mysql2 takes any connection option from the query, so the
// password can be there), `?password1=` to `?password3=` (multi-factor), `?ssl=` (may hold a
// key), and whatever a later driver version reads.
const PLAIN_PARAMETERS = new Set([
  "charset",
  "timezone",
  "connectTimeout",
  "dateStrings",
  "supportBigNumbers",
  "bigNumberStrings",
  "decimalNumbers",
  "multipleStatements",
  "compress",
  "flags",
  "debug",
  "trace",
  // MySQL's client TLS settings: a mode, and paths to files (not the files' contents).
  "ssl-mode",
  "ssl-ca",
  "ssl-cert",
  "ssl-key",
  "server-public-key-path",
  "allowPublicKeyRetrieval",
]);

/** `url` without its secrets, safe to print: the password, query values, the fragment. */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "<a URL that does not parse>";
  }
  if (parsed.password) parsed.password = "***";
  for (const name of new Set(parsed.searchParams.keys())) {
    if (!PLAIN_PARAMETERS.has(name)) parsed.searchParams.set(name, "***");
  }
  if (parsed.hash) parsed.hash = "***";
  return parsed.toString();
}

/**
 * `text` with anything that looks like a secret redacted: a URL's password, and a query value
 * whose name speaks of a password, key, token or secret. A last net for messages the CLI did
 * not write itself (a driver's, a stack).
 */
export function redactSecretsIn(text: string): string {
  return text
    // The placeholder of the form the messages show (user:password@host) is no secret.
    .replace(
      /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:]*:)([^\s/?#@]*)@/gi,
      (_, start, password) => `${start}${password === "password" ? password : "***"}@`,
    )
    .replace(
      /([?&]([^\s=&#]*(?:pass|pwd|secret|token|key|ssl)[^\s=&#]*)=)[^\s&#,;)'"`]*/gi,
      // The TLS settings name files and modes, not secrets: the fixes the CLI prints show them.
      (match, start, name) => PLAIN_PARAMETERS.has(name) ? match : `${start}***`,
    );
}

/** Where the server URL comes from, for messages: the option or the environment variable. */
type UrlSource = "--url" | "MYSQL_URL";

/** The server URL to connect to, where it came from, and the mysql2 config it stands for. */
export interface ServerUrl {
  url: string;
  source: UrlSource;
  config: MySQLConnectionConfig;
}

/**
 * The server URL from --url, else MYSQL_URL; an error that names which one is wrong, and how,
 * without printing it (it may hold a password): a usage error (exit 2) for --url.
 */
export function serverUrl(
  url: string | undefined,
  env: Record<string, string | undefined>,
): ServerUrl {
  const source: UrlSource = url !== undefined ? "--url" : "MYSQL_URL";
  const chosen = url ?? env.MYSQL_URL;
  if (!chosen) {
    throw new CliError(
      url !== undefined
        ? `--url is empty: pass --url ${URL_FORM}`
        : `no server given: pass --url ${URL_FORM} or set MYSQL_URL`,
    );
  }
  const refuse = (message: string) =>
    source === "--url" ? usageError(message) : new CliError(message);
  let config: MySQLConnectionConfig;
  try {
    config = connectionConfigOf(chosen, source);
  } catch (error) {
    throw refuse((error as Error).message);
  }
  const database = config.database as string;
  if (database.length === 0) {
    throw refuse(`${source} names no database: add /<database> (${URL_FORM})`);
  }
  const problem = databaseNameProblem(database);
  if (problem) {
    throw refuse(
      `the database in ${source} ${problem}: name a database without backticks and control ` +
        "characters, of at most 64 characters",
    );
  }
  const parsed = new URL(chosen);
  parsed.protocol = "mysql:";
  return { url: parsed.toString(), source, config };
}

/** What the CLI knows about the server it is connected to. */
interface ServerInfo {
  kind: ServerKind;
  version: string;
  database: string;
  /** CURRENT_USER(), quoted for a GRANT: 'user'@'host'. */
  account: string;
}

/** A connection for one CLI command. */
export interface Connection {
  knex: Knex;
  db: Database;
  server: ServerInfo;
  /** Runs `work`, turning a database error into advice; `privilege` is what the step needs. */
  step<T>(privilege: string | undefined, work: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** `user@host` as a quoted account, the way GRANT wants it. */
export function quoteAccount(account: string): string {
  const at = account.lastIndexOf("@");
  const unquote = (part: string) => part.replace(/^['`"]|['`"]$/g, "");
  const user = unquote(at < 0 ? account : account.slice(0, at));
  const host = at < 0 ? "%" : unquote(account.slice(at + 1));
  const quote = (part: string) => `'${part.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
  return `${quote(user)}@${quote(host)}`;
}

/** Connects to `url` and checks the server answers; errors say what went wrong. */
export async function connect({ url, source, config }: ServerUrl): Promise<Connection> {
  const server = redactUrl(url);
  const instance = knex({
    client: "mysql2",
    connection: config as Knex.MySql2ConnectionConfig,
    // Two: a long ALTER on one, its progress read on the other (see alter_progress.ts).
    pool: { min: 0, max: 2 },
    acquireConnectionTimeout: 15_000,
    // knex prints pool errors itself; the CLI reports each failure once, explained.
    log: { warn() {}, error() {}, debug() {}, deprecate() {} },
  });
  // A person runs the CLI and can stop it; a migration's ALTER or copy may take long.
  const db = new Database(instance, {
    timeout: Infinity,
    maxWaiting: Infinity,
    slowAfter: Infinity,
    onSlow: () => {},
  });
  const address = typeof config.socketPath === "string"
    ? config.socketPath
    : `${config.host}:${config.port ?? 3306}`;
  let context: ErrorContext = { server, source, address };
  const step = async <T>(privilege: string | undefined, work: () => Promise<T>) => {
    try {
      return await work();
    } catch (error) {
      throw explainDatabaseError(error, { ...context, privilege });
    }
  };
  try {
    const [row] = await step(
      undefined,
      () =>
        db.execute<{ version: string; db: string; account: string }>(
          "SELECT VERSION() AS version, DATABASE() AS db, CURRENT_USER() AS account",
          [],
        ),
    );
    const info: ServerInfo = {
      kind: serverKindOf(row?.version ?? ""),
      version: row?.version ?? "",
      database: row?.db ?? "",
      account: quoteAccount(row?.account ?? ""),
    };
    context = { server, source, address, account: info.account, database: info.database };
    return { knex: instance, db, server: info, step, close: () => instance.destroy() };
  } catch (error) {
    await instance.destroy();
    throw error;
  }
}
