import type { Knex } from "knex";
// @ts-types="@types/express-session"
import type { SessionData } from "express-session";
import { identifierProblem, MAX_IDENTIFIER_LENGTH } from "./identifiers.ts";
import { MAX_TABLE_NAME_LENGTH } from "./sql.ts";
import {
  type EncryptionOptions,
  validateEncryptionOptions,
  type ValidEncryptionOptions,
} from "./encryption_options.ts";
import { describeValue, optionError } from "./option_errors.ts";
import { connectionConfigOf, type MySQLConnectionConfig } from "./connection_url.ts";

export type { MySQLConnectionConfig };

/**
 * Options of {@link KnexMySQLStore}. Every option is optional. Names in lower case are the
 * original connect-session-knex names; the camelCase aliases are connect-session-knex v5's.
 * Give either spelling, not two different values.
 */
export interface KnexMySQLStoreOptions {
  /**
   * The knex instance to use (client `mysql2`, `mariadb` or `mysql`). The store never destroys a knex
   * instance it was given. Without it the store creates its own from `connection` or the
   * `MYSQL_URL` environment variable, and destroys it on `close()`.
   */
  knex?: Knex;
  /**
   * How to reach MySQL when no `knex` is given: a URL such as
   * `mysql://user:password@host:3306/database` or a mysql2 connection config object.
   * Default: the `MYSQL_URL` environment variable. Over TLS: the URL's
   * `?ssl-ca=/path/to/ca.pem` (verifies the server's certificate against that CA; `ssl-mode`
   * VERIFY_IDENTITY also checks its host name), or mysql2's `ssl: { ca }` in a config. A
   * MySQL 8.4/9 account on `caching_sha2_password` without TLS: `?server-public-key-path=`
   * the server's `public_key.pem`, or `serverPublicKey` in a config.
   */
  connection?: string | MySQLConnectionConfig;
  /** The table name. Default `"sessions"`. Alias: `tableName`. */
  tablename?: string;
  /** Alias of `tablename` (connect-session-knex v5). */
  tableName?: string;
  /** The session-id column. Default `"sid"`. Alias: `sidFieldName`. */
  sidfieldname?: string;
  /** Alias of `sidfieldname` (connect-session-knex v5). */
  sidFieldName?: string;
  /**
   * Install the table and procedures when the store starts (idempotent). Default `true`.
   * Use `false` for an account that may only SELECT and EXECUTE. Alias: `createTable`.
   */
  createtable?: boolean;
  /** Alias of `createtable` (connect-session-knex v5). */
  createTable?: boolean;
  /** Milliseconds between sweeps of expired sessions. Default `60000`. Alias: `cleanupInterval`. */
  clearInterval?: number;
  /** Alias of `clearInterval` (connect-session-knex v5); `0` disables the sweep. */
  cleanupInterval?: number;
  /** Never sweep expired sessions from this process. Default `false`. */
  disableDbCleanup?: boolean;
  /** How many expired sessions one sweep call deletes at most. Default `1000`. */
  cleanupBatchSize?: number;
  /** Called with the error when a sweep fails. Default: `console.error`. */
  onDbCleanupError?: (error: unknown) => void;
  /**
   * Lifetime in milliseconds of a session whose cookie has no expiry, or a function of the
   * session returning it. Default one day (`86400000`).
   */
  ttl?: number | ((session: SessionData) => number);
  /**
   * Make `touch` write nothing: a session expires `ttl`/`maxAge` after it was last saved. A
   * touch that carries a change of the cookie's settings is still saved, as a whole session.
   */
  disableTouch?: boolean;
  /**
   * Milliseconds: skip the touch write for a session whose expiry was pushed back less than
   * this long ago. Default `0`: only a touch to the second already stored is skipped. A touch
   * that carries a change of the cookie's settings is saved as a whole session instead.
   */
  touchAfter?: number;
  /**
   * The deadline of every statement, in ms: its wait for a connection, any resends and the
   * reply. Past it the operation fails (ERR_TIMEOUT, or ERR_POOL_TIMEOUT when the pool was
   * busy) and a connection that owed the reply is closed. Default `10000`: a web request can
   * wait that long, and a Galera or Group Replication failover fits in it.
   */
  queryTimeout?: number;
  /**
   * The most times one statement is sent again after a failure that certainly changed nothing
   * (a deadlock or lock wait, a Galera or Group Replication certification conflict, a node
   * not ready, no connection); reads also after a lost connection. Resends stop at
   * `queryTimeout` in any case. Default: no limit but the deadline; `0` turns resending off.
   */
  maxRetries?: number;
  /** Base of the jittered exponential backoff between resends, in ms. Default `25`. */
  retryDelay?: number;
  /**
   * Who owns a session: a function of the session returning its user's id (a string or a
   * number), or null/undefined for a session without one, e.g.
   * `(session) => session.passport?.user ?? null`. Saved with every session in the indexed
   * `user_id` column (a keyed hash of it with `encryption`), so that `sessionsOf`, `countOf`
   * and `destroyUser` find a user's sessions by index. Default: no owners (the column holds
   * NULL).
   */
  userId?: (session: SessionData) => string | number | null | undefined;
  /**
   * Encrypt sessions at rest with AES-256-GCM: `{ keys: [newest, ...older] }`. The first key
   * seals every write, every key opens (rotation); see {@link EncryptionOptions}.
   */
  encryption?: EncryptionOptions;
}

/**
 * The store's options after validation, as `store.options` shows them (connect-session-knex v5
 * code reads them there): defaults applied, aliases merged, and no key material.
 */
export interface StoreOptions {
  /** The knex instance in use: the one given, or the one the store made (close() destroys it). */
  readonly knex: Knex;
  /** The sessions table (option `tablename`). */
  readonly tableName: string;
  /** The session-id column (option `sidfieldname`). */
  readonly sidFieldName: string;
  /** Whether start-up installs what is missing of the schema (option `createtable`). */
  readonly createTable: boolean;
  /** Milliseconds between sweeps; 0 when this store does not sweep. */
  readonly cleanupInterval: number;
  /** The most expired sessions one call of the sweep deletes. */
  readonly cleanupBatchSize: number;
  /** Called with the error of a failed sweep. */
  readonly onDbCleanupError: (error: unknown) => void;
  /** Whether `touch` is turned off. */
  readonly disableTouch: boolean;
  /** Milliseconds within which a touch that would move the expiry less is not written. */
  readonly touchAfter: number;
  /** The deadline of every statement, in milliseconds. */
  readonly queryTimeout: number;
  /** The most resends of one statement; `Infinity` when only `queryTimeout` limits them. */
  readonly maxRetries: number;
  /** The base of the resends' backoff, in milliseconds. */
  readonly retryDelay: number;
  /** Whether sessions are encrypted (the keys are not shown). */
  readonly encrypted: boolean;
}

/**
 * The options after validation: what `store.options` shows, and what it does not (functions
 * of the session, the connection's settings, the keys).
 */
export interface ResolvedOptions extends Omit<StoreOptions, "knex" | "encrypted"> {
  readonly knex: Knex | undefined;
  /** A URL given (or MYSQL_URL) is parsed into its config, its TLS files read. */
  readonly connection: MySQLConnectionConfig | undefined;
  readonly ttl: (session: SessionData) => number;
  readonly userId: ((session: SessionData) => unknown) | undefined;
  readonly encryption: ValidEncryptionOptions | undefined;
}

/** The read-only view of `options` that `store.options` gives, with the knex in use. */
export function optionsView(options: ResolvedOptions, knex: Knex): StoreOptions {
  const { connection: _connection, ttl: _ttl, userId: _userId, encryption, ...shown } = options;
  return Object.freeze({ ...shown, knex, encrypted: encryption !== undefined });
}

const DEFAULT_TTL = 86_400_000;
const DEFAULT_CLEANUP_INTERVAL = 60_000;
const DEFAULT_CLEANUP_BATCH_SIZE = 1000;
const DEFAULT_QUERY_TIMEOUT = 10_000;
/** setTimeout's largest delay. */
const MAX_TIMER_DELAY = 2_147_483_647;

/** Every option name the store accepts, for the typo check and the docs test. */
export const OPTION_NAMES = [
  "knex",
  "connection",
  "tablename",
  "tableName",
  "sidfieldname",
  "sidFieldName",
  "createtable",
  "createTable",
  "clearInterval",
  "cleanupInterval",
  "disableDbCleanup",
  "cleanupBatchSize",
  "onDbCleanupError",
  "ttl",
  "disableTouch",
  "touchAfter",
  "userId",
  "queryTimeout",
  "maxRetries",
  "retryDelay",
  "encryption",
] as const satisfies readonly (keyof KnexMySQLStoreOptions)[];
/** Compiles only while OPTION_NAMES lists every option of KnexMySQLStoreOptions. */
const _everyOptionListed:
  [Exclude<keyof KnexMySQLStoreOptions, (typeof OPTION_NAMES)[number]>] extends [never] ? true
    : never = true;

/** Reads an option that has two spellings; both given with different values is an error. */
function aliased(options: KnexMySQLStoreOptions, a: keyof KnexMySQLStoreOptions, b: typeof a) {
  const first = options[a];
  const second = options[b];
  if (first !== undefined && second !== undefined && first !== second) {
    throw new TypeError(
      `knex-mysql-session: options "${a}" and "${b}" are aliases but were given different ` +
        `values (${describeValue(first)} and ${describeValue(second)}): give only one`,
    );
  }
  return first !== undefined ? { name: a, value: first } : { name: b, value: second };
}

function identifier(options: KnexMySQLStoreOptions, a: "tablename", b: "tableName"): string;
function identifier(options: KnexMySQLStoreOptions, a: "sidfieldname", b: "sidFieldName"): string;
function identifier(
  options: KnexMySQLStoreOptions,
  a: "tablename" | "sidfieldname",
  b: "tableName" | "sidFieldName",
): string {
  const { name, value } = aliased(options, a, b);
  const fallback = a === "tablename" ? "sessions" : "sid";
  if (value === undefined) return fallback;
  const maxLength = a === "tablename" ? MAX_TABLE_NAME_LENGTH : MAX_IDENTIFIER_LENGTH;
  const problem = identifierProblem(value, maxLength);
  if (problem) {
    throw optionError(name, `must be an identifier that ${problem}`, describeValue(value));
  }
  return value as string;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") {
    throw optionError(name, "must be true or false", describeValue(value));
  }
  return value;
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number) {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(name, `must be an integer from ${min} to ${max}`, describeValue(value));
  }
  return value;
}

function optionalFunction(name: string, value: unknown) {
  if (value === undefined || typeof value === "function") {
    return value as ((session: SessionData) => unknown) | undefined;
  }
  throw optionError(name, "must be a function of the session", describeValue(value));
}

function ttlFunction(value: unknown): (session: SessionData) => number {
  if (value === undefined) return () => DEFAULT_TTL;
  if (typeof value === "function") return value as (session: SessionData) => number;
  if (typeof value === "number" && Number.isFinite(value) && value > 0) return () => value;
  throw optionError(
    "ttl",
    "must be a positive number of milliseconds or a function of the session",
    describeValue(value),
  );
}

function connectionOption(value: unknown): MySQLConnectionConfig | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && value.length > 0) {
    return connectionUrl(value, 'option "connection"');
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return value as MySQLConnectionConfig;
  }
  // Never echo a connection string: it may hold a password.
  throw optionError(
    "connection",
    "must be a mysql:// URL or a mysql2 connection config object",
    typeof value === "string" ? "an empty string" : describeValue(value),
  );
}

/** The config of a connection URL; its problems as a TypeError with the package's prefix. */
function connectionUrl(url: string, where: string): MySQLConnectionConfig {
  try {
    return connectionConfigOf(url, where);
  } catch (error) {
    throw new TypeError(`knex-mysql-session: ${(error as Error).message}`);
  }
}

function knexOption(value: unknown): Knex | undefined {
  if (value === undefined) return undefined;
  const client = (value as { client?: { acquireConnection?: unknown; dialect?: unknown } } | null)
    ?.client;
  if (typeof value !== "function" || typeof client?.acquireConnection !== "function") {
    throw optionError(
      "knex",
      "must be a knex instance (knex({ client: 'mysql2', ... }))",
      describeValue(value),
    );
  }
  if (client.dialect !== "mysql") {
    throw optionError(
      "knex",
      'must use the client "mysql2", "mariadb" or "mysql"',
      `a knex instance for ${describeValue(client.dialect)}`,
    );
  }
  return value as Knex;
}

/**
 * Validates the options once, applies defaults and merges aliases. Throws a TypeError naming
 * the option, the value given and the accepted form.
 */
export function resolveOptions(
  input: KnexMySQLStoreOptions | undefined,
  environment: { MYSQL_URL?: string | undefined },
): ResolvedOptions {
  if (input !== undefined && (typeof input !== "object" || input === null)) {
    throw new TypeError(
      `knex-mysql-session: options must be an object (got ${describeValue(input)})`,
    );
  }
  const options: KnexMySQLStoreOptions = input ?? {};
  const known = new Set<string>(OPTION_NAMES);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) {
      throw new TypeError(
        `knex-mysql-session: unknown option "${key}" (accepted: ${OPTION_NAMES.join(", ")})`,
      );
    }
  }

  const knex = knexOption(options.knex);
  let connection = connectionOption(options.connection);
  if (knex && connection !== undefined) {
    throw new TypeError(
      'knex-mysql-session: give either option "knex" or option "connection", not both',
    );
  }
  if (!knex && connection === undefined) {
    const url = environment.MYSQL_URL;
    if (url) connection = connectionUrl(url, "the MYSQL_URL environment variable");
    else {
      throw new TypeError(
        'knex-mysql-session: no database given: pass option "knex" (a knex instance), option ' +
          '"connection" (a mysql:// URL or a mysql2 config), or set the MYSQL_URL environment ' +
          "variable",
      );
    }
  }

  const interval = aliased(options, "clearInterval", "cleanupInterval");
  const cleanupInterval = integer(
    interval.name,
    interval.value,
    DEFAULT_CLEANUP_INTERVAL,
    0,
    MAX_TIMER_DELAY,
  );
  const disableDbCleanup = boolean("disableDbCleanup", options.disableDbCleanup, false);
  const onDbCleanupError = options.onDbCleanupError ?? ((error: unknown) => {
    console.error("knex-mysql-session: expired-session cleanup failed:", error);
  });
  if (typeof onDbCleanupError !== "function") {
    throw optionError("onDbCleanupError", "must be a function", describeValue(onDbCleanupError));
  }
  const createTable = aliased(options, "createtable", "createTable");

  return {
    knex,
    connection,
    tableName: identifier(options, "tablename", "tableName"),
    sidFieldName: identifier(options, "sidfieldname", "sidFieldName"),
    createTable: boolean(createTable.name, createTable.value, true),
    cleanupInterval: disableDbCleanup ? 0 : cleanupInterval,
    cleanupBatchSize: integer(
      "cleanupBatchSize",
      options.cleanupBatchSize,
      DEFAULT_CLEANUP_BATCH_SIZE,
      1,
      1_000_000,
    ),
    onDbCleanupError,
    ttl: ttlFunction(options.ttl),
    disableTouch: boolean("disableTouch", options.disableTouch, false),
    touchAfter: integer("touchAfter", options.touchAfter, 0, 0, MAX_TIMER_DELAY),
    userId: optionalFunction("userId", options.userId),
    queryTimeout: integer(
      "queryTimeout",
      options.queryTimeout,
      DEFAULT_QUERY_TIMEOUT,
      100,
      MAX_TIMER_DELAY,
    ),
    maxRetries: integer("maxRetries", options.maxRetries, Infinity, 0, 1_000_000),
    retryDelay: integer("retryDelay", options.retryDelay, 25, 1, 60_000),
    encryption: validateEncryptionOptions(options.encryption),
  };
}
