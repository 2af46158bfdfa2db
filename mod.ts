/**
 * knex-mysql-session: an express-session store on MySQL (8.0.19 and later) and MariaDB through
 * knex, where every write is a stored procedure and every read a plain SELECT.
 *
 * @example
 * ```ts
 * import express from "express";
 * import session from "express-session";
 * import { KnexMySQLStore } from "knex-mysql-session";
 *
 * const app = express();
 * app.use(session({
 *   secret: "change me",
 *   resave: false,
 *   saveUninitialized: false,
 *   store: new KnexMySQLStore({ connection: "mysql://app@127.0.0.1:3306/app" }),
 * }));
 * ```
 *
 * @module
 */
export {
  KnexMySQLStore,
  type RetryEvent,
  type SessionWithId,
  type StoreEvents,
  type StoreListener,
  type StoreOptions,
  type StoreStats,
  type UnreadableEvent,
  type UserSession,
} from "./src/store.ts";
/** The store under connect-session-knex v5's class name: migrating apps change only the import. */
export { KnexMySQLStore as ConnectSessionKnexStore } from "./src/store.ts";
export type { KnexMySQLStoreOptions, MySQLConnectionConfig } from "./src/options.ts";
export type { EncryptionOptions } from "./src/encryption_options.ts";
export type { UnreadableReason } from "./src/encryption.ts";
export { SessionStoreError, type SessionStoreErrorCode } from "./src/errors.ts";
export { SCHEMA_VERSION } from "./src/sql.ts";
export { type OperationTrace, type TracedOperation, TRACING_CHANNEL } from "./src/tracing.ts";
