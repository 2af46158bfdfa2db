// Where the tests find a database: MYSQL_URL when set (CI, a local server), else a MySQL 8.4
// container through testcontainers (imported lazily: it needs Docker, and some of its versions
// do not even load on older Node), else a fast, clear failure. MYSQL_URL may carry TLS settings
// in its query string (`?ssl-ca=/path/ca.pem`): every connection made here, root's included,
// goes through connectionConfigOf, as the store's and the CLI's do (knex would ignore them).
// KNEX_CLIENT=mariadb runs the tests' app connections on knex's client "mariadb" (MariaDB
// Connector/Node) instead of mysql2: CI's mariadb-client leg.
import knex, { type Knex } from "knex";
import mysql2 from "mysql2";
import { createHash, randomBytes } from "node:crypto";
import { renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { connectionConfigOf, type MySQLConnectionConfig } from "../../src/connection_url.ts";

let serverUrl: Promise<string> | undefined;

/** The knex clients an app may give the store, as the tests run them. */
export type TestClient = "mysql2" | "mariadb";

/** The knex client of the tests' connections: KNEX_CLIENT, else mysql2. */
export const TEST_CLIENT: TestClient = (() => {
  const client = process.env.KNEX_CLIENT || "mysql2";
  if (client === "mysql2" || client === "mariadb") return client;
  throw new Error(`KNEX_CLIENT must be mysql2 or mariadb (got ${JSON.stringify(client)})`);
})();

/**
 * A mysql2 connection config as `client`'s driver takes it: the mariadb driver names the RSA
 * key `cachingRsaPublicKey` (a path or the key itself) and verifies the certificate's host name
 * unless told not to (mysql2 does only with `verifyIdentity`).
 */
function driverConfigFor(
  client: TestClient,
  config: MySQLConnectionConfig,
): Record<string, unknown> {
  if (client === "mysql2") return config;
  const { serverPublicKey, ssl, ...common } = config as MySQLConnectionConfig & {
    serverPublicKey?: unknown;
  };
  const mariadb: Record<string, unknown> = { ...common };
  if (serverPublicKey !== undefined) mariadb.cachingRsaPublicKey = String(serverPublicKey);
  if (typeof ssl === "object" && ssl !== null) {
    const { verifyIdentity, ...tls } = ssl as { verifyIdentity?: boolean };
    mariadb.ssl = verifyIdentity ? tls : { ...tls, checkServerIdentity: () => undefined };
  } else if (ssl !== undefined) mariadb.ssl = ssl;
  return mariadb;
}

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
    // Its root has a password: mysql2 3.26+ may fetch the key of this throwaway local server.
    const keyRetrieval = readsServerPublicKey || TEST_CLIENT === "mariadb"
      ? "?allowPublicKeyRetrieval=true"
      : "";
    return `mysql://root:root@${container.getHost()}:${container.getPort()}/mysql${keyRetrieval}`;
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

/** The mysql2 connection config of a test URL: its TLS settings included. */
export function configFromUrl(url: string): MySQLConnectionConfig {
  return connectionConfigOf(url, "the test URL (MYSQL_URL)");
}

/**
 * mysql2 3.26+ reads the option serverPublicKey, and needs it (or TLS) for a password account's
 * full caching_sha2_password login over plain TCP; older versions fetch the key themselves and
 * warn about an option they do not know.
 */
const readsServerPublicKey = "serverPublicKey" in
  new (mysql2 as unknown as { ConnectionConfig: new (options: object) => object })
    .ConnectionConfig({});

const passwordLogins = new Map<string, Promise<Record<string, string>>>();

/**
 * The query parameters a password account on `server` needs beyond root's: on MySQL without
 * TLS, the server's RSA public key (read as root, written to a file the URL names), as a user
 * of mysql2 3.26+ would pin it. MariaDB has no such key and needs nothing; over TLS, the
 * password goes through the encrypted connection.
 */
function passwordLoginParameters(server: string): Promise<Record<string, string>> {
  let parameters = passwordLogins.get(server);
  if (!parameters) {
    parameters = (async (): Promise<Record<string, string>> => {
      // The mariadb driver never fetches the key itself: it needs it from mysql2's first version.
      const needsKey = readsServerPublicKey || TEST_CLIENT === "mariadb";
      if (!needsKey || configFromUrl(server).ssl !== undefined) return {};
      const root = knex({
        client: "mysql2",
        connection: configFromUrl(server),
        pool: { min: 0, max: 1 },
      });
      try {
        const [rows] = await root.raw("SHOW STATUS LIKE 'Caching_sha2_password_rsa_public_key'");
        const key = (rows as { Value: string }[])[0]?.Value;
        if (!key) return {};
        const path = join(
          tmpdir(),
          `kms-server-key-${createHash("sha256").update(key).digest("hex").slice(0, 16)}.pem`,
        );
        // Written whole, then renamed, so another test process never reads half a key.
        writeFileSync(`${path}.${process.pid}`, key);
        renameSync(`${path}.${process.pid}`, path);
        return { "server-public-key-path": path };
      } finally {
        await root.destroy();
      }
    })();
    passwordLogins.set(server, parameters);
  }
  return parameters;
}

/**
 * `urlFor` for a password login, as a user of this server would write it: with the server's
 * public key on MySQL without TLS (see passwordLoginParameters), so that a wrong password
 * meets the password check, not mysql2's refusal to fetch the key.
 */
export async function passwordUrlFor(
  url: string,
  database: string,
  credentials: { user: string; password: string },
): Promise<string> {
  const parsed = new URL(urlFor(url, database, credentials));
  for (const [key, value] of Object.entries(await passwordLoginParameters(url))) {
    parsed.searchParams.set(key, value);
  }
  return parsed.toString();
}

/** An account made by TestDatabase.account: how it logs in, as a URL and as a mysql2 config. */
export interface Account {
  name: string;
  password: string;
  /** With MYSQL_URL's TLS settings and, on MySQL without TLS, the server's public key. */
  url: string;
  config: MySQLConnectionConfig;
}

export interface TestDatabase {
  /** The database's name (random, prefixed kms_). */
  name: string;
  /** A URL for the database with the server's admin credentials. */
  url: string;
  /** A knex instance on the database with admin rights; destroyed by drop(). */
  admin: Knex;
  /**
   * A new knex instance on the database (as root, or as `url`'s account), on TEST_CLIENT unless
   * `config` names another; drop() destroys it.
   */
  connect(config?: Partial<Knex.Config>, url?: string): Knex;
  /**
   * A new password account (`password`, else a random one) with each of `grants` (e.g.
   * "SELECT, INSERT") on the whole database; drop() drops it. For the store's app account, see
   * tests/helpers/app_account.ts.
   */
  account(grants: string[], password?: string): Promise<Account>;
  /** Drops the accounts and the database and destroys every knex instance made by connect(). */
  drop(): Promise<void>;
}

/** Creates a fresh database for one test file; call drop() in an `after` hook. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const server = await testServerUrl();
  const name = `kms_${label}_${randomBytes(4).toString("hex")}`.slice(0, 64);
  const root = knex({
    client: "mysql2",
    connection: configFromUrl(server),
    pool: { min: 0, max: 1 },
  });
  try {
    await root.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await root.destroy();
  }
  const url = urlFor(server, name);
  const instances: Knex[] = [];
  const connect = (config: Partial<Knex.Config> = {}, connectUrl = url) => {
    const client = (config.client ?? TEST_CLIENT) as TestClient;
    const instance = knex({
      client,
      connection: driverConfigFor(client, configFromUrl(connectUrl)),
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
    async account(grants, password = `pw-${randomBytes(6).toString("hex")}`) {
      const user = `kms_${label.slice(0, 12)}_${randomBytes(3).toString("hex")}`;
      await admin.raw("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
      accounts.push(user);
      for (const grant of grants) {
        await admin.raw(`GRANT ${grant} ON \`${name}\`.* TO ?@'%'`, [user]);
      }
      const login = new URL(urlFor(server, name, { user, password }));
      for (const [key, value] of Object.entries(await passwordLoginParameters(server))) {
        login.searchParams.set(key, value);
      }
      const url = login.toString();
      return { name: user, password, url, config: configFromUrl(url) };
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
