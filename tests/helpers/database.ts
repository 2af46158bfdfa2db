// Where the tests find a database: MYSQL_URL when set (CI, a local server), else a MySQL 8.4
// container through testcontainers (imported lazily: it needs Docker, and some of its versions
// do not even load on older Node), else a fast, clear failure.
import knex, { type Knex } from "knex";
import { randomBytes } from "node:crypto";
import process from "node:process";

let serverUrl: Promise<string> | undefined;

async function startContainer(): Promise<string> {
  let module: typeof import("@testcontainers/mysql");
  try {
    module = await import("@testcontainers/mysql");
  } catch (error) {
    throw new Error(
      "No database for the tests: set MYSQL_URL (e.g. mysql://root@127.0.0.1:3306/test), " +
        `or install @testcontainers/mysql and run Docker (${(error as Error).message})`,
    );
  }
  try {
    const container = await new module.MySqlContainer("mysql:8.4").withRootPassword("root")
      .start();
    // The container lives as long as the test process; testcontainers' reaper removes it.
    return `mysql://root:root@${container.getHost()}:${container.getPort()}/mysql`;
  } catch (error) {
    throw new Error(
      "No database for the tests: MYSQL_URL is not set and testcontainers could not start " +
        `MySQL 8.4 (${(error as Error).message}). Set MYSQL_URL, e.g. ` +
        "MYSQL_URL=mysql://root@127.0.0.1:3306/test npm test, or start Docker.",
    );
  }
}

/** The URL of a server the tests may create databases and users on. */
export function testServerUrl(): Promise<string> {
  serverUrl ??= process.env.MYSQL_URL ? Promise.resolve(process.env.MYSQL_URL) : startContainer();
  return serverUrl;
}

/** `url` with its database replaced by `database` (and, optionally, other credentials). */
export function urlFor(
  url: string,
  database: string,
  credentials?: { user: string; password: string },
): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  if (credentials) {
    parsed.username = encodeURIComponent(credentials.user);
    parsed.password = encodeURIComponent(credentials.password);
  }
  return parsed.toString();
}

/** A mysql2 connection config from a mysql:// URL. */
export function configFromUrl(url: string) {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
  };
}

export interface TestDatabase {
  /** The database's name (random, prefixed kms_). */
  name: string;
  /** A URL for the database with the server's admin credentials. */
  url: string;
  /** A knex instance on the database with admin rights; destroyed by drop(). */
  admin: Knex;
  /** A new knex instance on the database (the caller destroys it). */
  connect(config?: Partial<Knex.Config>, url?: string): Knex;
  /**
   * A new account with each of `grants` (e.g. "SELECT, INSERT") on the whole database, and the
   * URL it connects with; drop() drops it.
   */
  account(grants: string[]): Promise<{ name: string; url: string }>;
  /** Drops the accounts and the database and destroys every knex instance made by connect(). */
  drop(): Promise<void>;
}

/** Creates a fresh database for one test file; call drop() in an `after` hook. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const server = await testServerUrl();
  const name = `kms_${label}_${randomBytes(4).toString("hex")}`.slice(0, 64);
  const root = knex({ client: "mysql2", connection: server, pool: { min: 0, max: 1 } });
  try {
    await root.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await root.destroy();
  }
  const url = urlFor(server, name);
  const instances: Knex[] = [];
  const connect = (config: Partial<Knex.Config> = {}, connectUrl = url) => {
    const instance = knex({
      client: "mysql2",
      connection: connectUrl,
      pool: { min: 0, max: 10 },
      ...config,
    });
    instances.push(instance);
    return instance;
  };
  const admin = connect();
  const accounts: string[] = [];
  return {
    name,
    url,
    admin,
    connect,
    async account(grants) {
      const user = `kms_${label.slice(0, 12)}_${randomBytes(3).toString("hex")}`;
      const password = `pw-${randomBytes(6).toString("hex")}`;
      await admin.raw("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
      accounts.push(user);
      for (const grant of grants) {
        await admin.raw(`GRANT ${grant} ON \`${name}\`.* TO ?@'%'`, [user]);
      }
      return { name: user, url: urlFor(server, name, { user, password }) };
    },
    async drop() {
      try {
        for (const user of accounts) await admin.raw("DROP USER IF EXISTS ?@'%'", [user]);
        await admin.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await Promise.all(instances.map((instance) => instance.destroy()));
      }
    },
  };
}

/**
 * A knex config of at most `max` connections, each of which first runs `statement` (a session
 * setting, e.g. `SET time_zone = '+09:00'`).
 */
export function everyConnectionRuns(statement: string, max: number): Partial<Knex.Config> {
  return {
    pool: {
      min: 0,
      max,
      afterCreate: (
        connection: { query: (sql: string, done: (error: Error | null) => void) => void },
        done: (error: Error | null, connection: unknown) => void,
      ) => connection.query(statement, (error) => done(error, connection)),
    },
  };
}

/** A random table name, so tests in one database never share a table. */
export function tableName(prefix = "sessions"): string {
  return `${prefix}_${randomBytes(3).toString("hex")}`;
}
