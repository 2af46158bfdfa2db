import knex, { type Knex } from "knex";
import { Database } from "../database.ts";
import { type ServerKind, serverKindOf } from "../server.ts";
import { CliError, type ErrorContext, explainDatabaseError } from "./errors.ts";

/** `url` without its password, safe to print. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<a URL that does not parse>";
  }
}

/** The server URL from --url, else MYSQL_URL; a clear error when there is neither. */
export function serverUrl(url: string | undefined, env: Record<string, string | undefined>) {
  const chosen = url ?? env.MYSQL_URL;
  if (!chosen) {
    throw new CliError(
      "no server given: pass --url mysql://user:password@host:3306/database or set MYSQL_URL",
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(chosen);
  } catch {
    throw new CliError(`the server URL ${redactUrl(chosen)} is not a URL`);
  }
  if (parsed.protocol !== "mysql:" && parsed.protocol !== "mariadb:") {
    throw new CliError(`the server URL must start with mysql:// (got ${parsed.protocol}//…)`);
  }
  if (parsed.pathname.length <= 1) {
    throw new CliError(`the server URL ${redactUrl(chosen)} names no database: add /<database>`);
  }
  parsed.protocol = "mysql:";
  return parsed.toString();
}

/** What the CLI knows about the server it is connected to. */
export interface ServerInfo {
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
export async function connect(url: string): Promise<Connection> {
  const server = redactUrl(url);
  const instance = knex({
    client: "mysql2",
    connection: url,
    pool: { min: 0, max: 1 },
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
  let context: ErrorContext = { server };
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
        db.rows<{ version: string; db: string; account: string }>(
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
    context = { server, account: info.account, database: info.database };
    return { knex: instance, db, server: info, step, close: () => instance.destroy() };
  } catch (error) {
    await instance.destroy();
    throw error;
  }
}
