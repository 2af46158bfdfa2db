// The stores the bench compares, each behind one interface: an express-session Store on its
// own table, plus how to wait for it, how to bulk-load its table and how to close it.
import session, { type SessionData, type Store } from "express-session";
import knex, { type Knex } from "knex";
import { createRequire } from "node:module";
import { KnexMySQLStore } from "../mod.ts";
import type { KnexMySQLStoreOptions } from "../src/options.ts";
import { type ServerKind, serverKindOf, SID_COLLATION } from "../src/server.ts";
import { createTableSql } from "../src/sql.ts";
import { BoundStore, currentSchema, schemaV1 } from "./bound-store.ts";
import type { TableLayout } from "./database.ts";
import type { AdapterName } from "./options.ts";
import { sessionOwner } from "./payload.ts";

const require = createRequire(import.meta.url);

export const ADAPTER_LABELS: Record<AdapterName, string> = {
  ours: "knex-mysql-session",
  "ours-user": "knex-mysql-session, userId set",
  csk: "connect-session-knex v5",
  ems: "express-mysql-session v3",
  bound: "hand-written mysql2 (bound)",
  "bound-call": "hand-written mysql2, same procedures",
  "bound-v1": "hand-written mysql2, schema 1 procedures",
  memory: "MemoryStore (ceiling)",
};

export interface Adapter {
  name: AdapterName;
  store: Store;
  /** Where its sessions live; undefined for MemoryStore. */
  layout: TableLayout | undefined;
  close(): Promise<void>;
}

/**
 * Same pools for every store: at most 10 connections (knex's and mysql2's default maximum),
 * none closed for idleness during a run. Otherwise a store that waits its turn while the others
 * run loses its connections (and their prepared statements) and pays to reopen them.
 */
const POOL_SIZE = 10;
export const IDLE_TIMEOUT = 600_000;

function benchKnex(url: string): Knex {
  return knex({
    client: "mysql2",
    connection: url,
    pool: { min: 0, max: POOL_SIZE, idleTimeoutMillis: IDLE_TIMEOUT },
  });
}

const sessionsLayout = (table: string): TableLayout => ({
  table,
  sid: "sid",
  sess: "sess",
  expires: "expired",
  expiresKind: "datetime",
});

/** Runs `work` on a knex of its own, which then goes. */
async function withKnex<T>(url: string, work: (db: Knex) => Promise<T>): Promise<T> {
  const db = benchKnex(url);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

/** MySQL or MariaDB, as the store tells them apart. */
function serverKind(db: Knex): Promise<ServerKind> {
  return db.raw("SELECT VERSION() AS version").then(([rows]) =>
    serverKindOf((rows as { version: string }[])[0]?.version ?? "")
  );
}

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
      const store = new KnexMySQLStore({
        knex: db,
        tablename: table,
        clearInterval: 0,
        ...(owned ? { userId: sessionOwner } : {}),
        ...ours,
      });
      await store.ready;
      return {
        name,
        store,
        layout: { ...sessionsLayout(table), ...(owned ? { owner: "user_id" } : {}) },
        close: async () => {
          await store.close();
          await db.destroy();
        },
      };
    }
    case "csk": {
      const { ConnectSessionKnexStore } = require("connect-session-knex-v5");
      const db = benchKnex(url);
      const store = new ConnectSessionKnexStore({
        knex: db,
        tableName: table,
        cleanupInterval: 0,
      });
      await store.ready;
      return { name, store, layout: sessionsLayout(table), close: () => db.destroy() };
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
      return {
        name,
        store,
        layout: {
          table,
          sid: "session_id",
          sess: "data",
          expires: "expires",
          expiresKind: "unix",
        },
        close: () => store.close(),
      };
    }
    case "bound":
    case "bound-call":
    case "bound-v1": {
      const server = await withKnex(url, serverKind);
      const v1 = name === "bound-v1" ? await schemaV1(table, server) : undefined;
      if (name === "bound-call") {
        // This project's own table and procedures, installed by a store that then goes.
        const installer = await createAdapter("ours", url, table);
        await installer.close();
      } else {
        // Schema 1's table and procedures, or the table as the store makes it on this server
        // (its sid collation is the server's).
        const install = v1?.install ??
          [createTableSql({ table, sid: "sid" }, SID_COLLATION[server])];
        await withKnex(url, async (db) => {
          for (const sql of install) await db.raw(sql);
        });
      }
      const store = new BoundStore(
        url,
        table,
        { connectionLimit: POOL_SIZE, idleTimeout: IDLE_TIMEOUT },
        v1?.schema ?? currentSchema(table, server),
        name !== "bound",
      );
      return { name, store, layout: sessionsLayout(table), close: () => store.close() };
    }
    case "memory":
      return { name, store: new session.MemoryStore(), layout: undefined, close: async () => {} };
  }
}

/** The table of a store (or HTTP variant) `key` in a phase: table names take no hyphens. */
export function tableFor(phase: string, key: string): string {
  return `${phase}_${key.replaceAll("-", "_")}`;
}

type Done = (error: unknown, value?: unknown) => void;

/**
 * Calls a store method with a callback that runs once, whether the store answers through the
 * callback, through a rejected promise (connect-session-knex v5 does both on errors, and its
 * touch only rejects), or both.
 */
function callOnce(invoke: (callback: Done) => unknown, done: Done): void {
  let called = false;
  const once: Done = (error, value) => {
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

/** The four hot-path operations of a Store as plain callbacks. */
export const operations = {
  get: (store: Store, sid: string, done: Done) =>
    callOnce((callback) => store.get(sid, callback), done),
  set: (store: Store, sid: string, data: SessionData, done: Done) =>
    callOnce((callback) => store.set(sid, data, callback), done),
  touch: (store: Store, sid: string, data: SessionData, done: Done) =>
    callOnce((callback) => store.touch?.(sid, data, (error?: unknown) => callback(error)), done),
  destroy: (store: Store, sid: string, done: Done) =>
    callOnce((callback) => store.destroy(sid, callback), done),
};
