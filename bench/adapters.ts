// The stores the bench compares, each behind one interface: an express-session Store on its
// own table, plus where that table keeps sessions (for bulk loads) and how to close it.
import session, { type Store } from "express-session";
import knex, { type Knex } from "knex";
import { createRequire } from "node:module";
import { KnexMySQLStore, type KnexMySQLStoreOptions } from "../mod.ts";
import { boundStore } from "./bound-store.ts";
import type { TableLayout } from "./database.ts";
import { sessionOwner } from "./payload.ts";

const require = createRequire(import.meta.url);

export const ADAPTER_LABELS = {
  ours: "knex-mysql-session",
  "ours-user": "knex-mysql-session, userId set",
  csk: "connect-session-knex v5",
  ems: "express-mysql-session v3",
  bound: "hand-written mysql2 (bound)",
  "bound-call": "hand-written mysql2, same procedures",
  "bound-v1": "hand-written mysql2, schema 1 procedures",
  memory: "MemoryStore (ceiling)",
} as const;
export type AdapterName = keyof typeof ADAPTER_LABELS;
export const ADAPTERS = Object.keys(ADAPTER_LABELS) as AdapterName[];
/** Measured at the store level only: what the owner column costs on set (not over HTTP). */
export const STORE_ONLY: readonly AdapterName[] = ["ours-user", "bound-v1"];

/** A store, where it keeps its sessions (none: MemoryStore), and what closes it. */
export type Adapter = {
  name: AdapterName;
  store: Store;
  layout?: TableLayout;
  close(): Promise<void>;
};

/**
 * Same pools for every store: at most 10 connections (knex's and mysql2's default maximum),
 * none closed for idleness during a run. Otherwise a store that waits its turn while the others
 * run loses its connections (and their prepared statements) and pays to reopen them.
 */
const POOL_SIZE = 10;
const IDLE_TIMEOUT = 600_000;

const benchKnex = (url: string): Knex =>
  knex({
    client: "mysql2",
    connection: url,
    pool: { min: 0, max: POOL_SIZE, idleTimeoutMillis: IDLE_TIMEOUT },
  });

/** This project's table: also connect-session-knex's and the bound's columns. */
const SESSIONS = ["sid", "sess", "expired"];

/**
 * Creates store `name` on table `table` of the database at `url`, ready for use: its table
 * exists, no periodic cleanup runs. `ours` and `ours-user` take extra options (e.g. touchAfter).
 */
export async function createAdapter(
  name: AdapterName,
  url: string,
  table: string,
  ours: Partial<KnexMySQLStoreOptions> = {},
): Promise<Adapter> {
  switch (name) {
    case "ours":
    case "ours-user": {
      const db = benchKnex(url);
      // ours-user: each session owned by its user (bench/payload.ts), as its table is loaded.
      const owned = name === "ours-user";
      const userId = owned ? { userId: sessionOwner } : {};
      const store = new KnexMySQLStore({
        knex: db,
        tablename: table,
        clearInterval: 0,
        ...userId,
        ...ours,
      });
      await store.ready;
      const layout = { table, columns: owned ? [...SESSIONS, "user_id"] : SESSIONS };
      return { name, store, layout, close: () => store.close().then(() => db.destroy()) };
    }
    case "csk": {
      const { ConnectSessionKnexStore } = require("connect-session-knex-v5");
      const db = benchKnex(url);
      const store = new ConnectSessionKnexStore({ knex: db, tableName: table, cleanupInterval: 0 });
      await store.ready;
      return { name, store, layout: { table, columns: SESSIONS }, close: () => db.destroy() };
    }
    case "ems": {
      const MySQLStore = require("express-mysql-session-v3")(session);
      const parsed = new URL(url);
      const store = new MySQLStore({
        host: parsed.hostname,
        port: Number(parsed.port || 3306),
        user: decodeURIComponent(parsed.username),
        password: decodeURIComponent(parsed.password),
        database: parsed.pathname.slice(1),
        connectionLimit: POOL_SIZE,
        idleTimeout: IDLE_TIMEOUT,
        clearExpired: false,
        schema: { tableName: table },
      });
      await store.onReady();
      const layout = { table, columns: ["session_id", "data", "expires"], unix: true };
      return { name, store, layout, close: () => store.close() };
    }
    case "bound":
    case "bound-call":
    case "bound-v1": {
      const pool = { connectionLimit: POOL_SIZE, idleTimeout: IDLE_TIMEOUT };
      const store = await boundStore(name, url, table, pool);
      return { name, store, layout: { table, columns: SESSIONS }, close: () => store.close() };
    }
    case "memory":
      return { name, store: new session.MemoryStore(), close: async () => {} };
  }
}

/** The table of a store (or HTTP variant) `key` in a phase: table names take no hyphens. */
export const tableFor = (phase: string, key: string) => `${phase}_${key.replaceAll("-", "_")}`;

export type Callback = (error: unknown, value?: unknown) => void;

/**
 * Calls a store method with a callback that runs once, whether the store answers through the
 * callback, through a rejected promise (connect-session-knex v5 does both on errors, and its
 * touch only rejects), or both.
 */
export function callOnce(invoke: (callback: Callback) => unknown, done: Callback): void {
  let called = false;
  const once: Callback = (error, value) => {
    if (called) return;
    called = true;
    done(error, value);
  };
  try {
    const result = invoke(once) as Promise<unknown> | undefined;
    if (result && typeof result.then === "function") result.then(undefined, (error) => once(error));
  } catch (error) {
    once(error);
  }
}
