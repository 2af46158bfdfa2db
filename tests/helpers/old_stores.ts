// The session stores apps migrate from, as the real packages (npm aliases of every major),
// behind one small interface, plus an Express app around any store.
import express5 from "express";
import session, { Cookie, type SessionData, type Store } from "express-session";
import type { Knex } from "knex";
import { createHmac } from "node:crypto";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { configFromUrl } from "./database.ts";

const require = createRequire(import.meta.url);
/** Express 4, which the old apps ran (an npm alias; Express 5's types fit what is used). */
const express4 = require("express4") as typeof express5;

export type OldStoreName =
  | "connect-session-knex-v2"
  | "connect-session-knex-v3"
  | "connect-session-knex-v4"
  | "connect-session-knex-v5"
  | "express-mysql-session-v2"
  | "express-mysql-session-v3";

/** A store of an old package; `close` stops its timers and its own connections. */
export interface OldStore {
  store: Store;
  /** Resolves once the old store created its table (when it does). */
  ready: Promise<unknown>;
  close(): Promise<void>;
}

type Constructor = new (...args: unknown[]) => Store & Record<string, unknown>;

/**
 * How express-mysql-session v2 reaches the server: its own pool of the `mysql` driver (what
 * most v2 apps ran), or a `mysql2/promise` pool passed as its second constructor argument (its
 * readme's "With mysql2"). The `mysql` driver speaks only mysql_native_password, which MySQL
 * 8.4 disables by default and MySQL 9 removed, so on those servers only the mysql2 pool logs in.
 */
export type V2Driver = "mysql" | "mysql2";

/**
 * An old store on `table`. connect-session-knex gets `knex`; express-mysql-session its own
 * pool from `url` (v2 a mysql2 pool when `v2Driver` is "mysql2"). `createTable: false` leaves
 * a table the test created alone.
 */
export function oldStore(
  name: OldStoreName,
  options: {
    knex: Knex;
    url: string;
    table: string;
    createTable?: boolean;
    v2Driver?: V2Driver;
  },
): OldStore {
  const createTable = options.createTable ?? true;
  if (name === "connect-session-knex-v5") {
    const { ConnectSessionKnexStore } = require(name) as { ConnectSessionKnexStore: Constructor };
    const store = new ConnectSessionKnexStore({
      knex: options.knex,
      tableName: options.table,
      createTable,
      cleanupInterval: 0,
    });
    return { store, ready: store.ready as Promise<unknown>, close: async () => {} };
  }
  if (name.startsWith("connect-session-knex")) {
    const KnexStore = (require(name) as (connect: unknown) => Constructor)(session);
    const store = new KnexStore({
      knex: options.knex,
      tablename: options.table,
      createtable: createTable,
      disableDbCleanup: true,
    });
    // v2-v4 resolve `ready` before their CREATE TABLE has run.
    const ready = (store.ready as Promise<unknown>).then(() =>
      tableCreated(options.knex, options.table)
    );
    return { store, ready, close: async () => {} };
  }
  const MySQLStore = (require(name) as (session: unknown) => Constructor)(session);
  // With the URL's TLS settings, if any.
  const connection = configFromUrl(options.url);
  const storeOptions = {
    createDatabaseTable: createTable,
    clearExpired: false,
    schema: { tableName: options.table },
  };
  const closeStore = (store: Store & Record<string, unknown>) =>
    new Promise<void>((resolve, reject) =>
      (store.close as (cb: (error?: unknown) => void) => void)((error) =>
        error ? reject(error) : resolve()
      )
    );
  // express-mysql-session v3 passes only the options it knows to mysql2, not `ssl` nor
  // `serverPublicKey`: over TLS (or with a pinned key) it gets a pool, as its readme allows.
  const needsPool = name === "express-mysql-session-v3"
    ? "ssl" in connection || "serverPublicKey" in connection
    : options.v2Driver === "mysql2";
  if (!needsPool) {
    if (name === "express-mysql-session-v3") {
      const store = new MySQLStore({ ...connection, ...storeOptions });
      return {
        store,
        ready: (store.onReady as () => Promise<unknown>)().then(() =>
          tableCreated(options.knex, options.table)
        ),
        close: () => closeStore(store),
      };
    }
    // v2 calls its third argument once its CREATE TABLE ran (or failed, e.g. the login).
    let created!: (error?: unknown) => void;
    const constructed = new Promise<void>((resolve, reject) => {
      created = (error) => (error ? reject(error) : resolve());
    });
    const store = new MySQLStore({ ...connection, ...storeOptions }, undefined, created);
    return {
      store,
      ready: constructed.then(() => tableCreated(options.knex, options.table)),
      close: () => closeStore(store),
    };
  }
  // A pool the store did not create, it does not end on close (endConnectionOnClose: false).
  const mysql2 = require("mysql2/promise") as typeof import("mysql2/promise");
  const pool = mysql2.createPool({ ...connection, connectionLimit: 1 });
  let created!: (error?: unknown) => void;
  const constructed = new Promise<void>((resolve, reject) => {
    created = (error) => (error ? reject(error) : resolve());
  });
  const store = new MySQLStore(storeOptions, pool, created);
  const ready = name === "express-mysql-session-v3"
    ? (store.onReady as () => Promise<unknown>)()
    : constructed;
  // Once: a checklist stops the old app, and the test's clean-up closes it again.
  let closed: Promise<void> | undefined;
  return {
    store,
    ready: ready.then(() => tableCreated(options.knex, options.table)),
    close: () =>
      closed ??= (async () => {
        try {
          await closeStore(store);
        } finally {
          await pool.end();
        }
      })(),
  };
}

/** Resolves when `table` exists (an old store creates it in the background). */
async function tableCreated(knex: Knex, table: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    if (await knex.schema.hasTable(table)) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`the old store did not create table ${table}`);
}

/** Calls a Store method the callback way, which every old store supports. */
export function call<T>(store: Store, method: string, ...args: unknown[]): Promise<T> {
  return new Promise((resolve, reject) => {
    const returned = (store as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!
      .call(store, ...args, (error: unknown, value: T) => (error ? reject(error) : resolve(value)));
    // Some old stores also return a promise that rejects with the error the callback got.
    (returned as Promise<unknown> | undefined)?.catch?.(() => {});
  });
}

/** A session as express-session builds it, with a real Cookie. */
export function oldSession(data: Record<string, unknown>, maxAge: number): SessionData {
  const CookieClass = Cookie as unknown as new (options: object) => Cookie;
  return { cookie: new CookieClass({ maxAge, httpOnly: true, path: "/" }), ...data } as SessionData;
}

const SECRET = "the old app's secret";

/** express-session's cookie value: `s:` + sid + `.` + base64 HMAC-SHA256 of sid, unpadded. */
export function signedCookie(sid: string, secret = SECRET): string {
  const signature = createHmac("sha256", secret).update(sid).digest("base64").replace(/=+$/, "");
  return `connect.sid=${encodeURIComponent(`s:${sid}.${signature}`)}`;
}

/** The sid inside a `connect.sid` Set-Cookie header. */
export function sidOfCookie(setCookie: string): string {
  const value = decodeURIComponent(/connect\.sid=([^;]+)/.exec(setCookie)![1]!);
  return value.slice(2, value.lastIndexOf("."));
}

export interface SessionApp {
  url: string;
  close(): Promise<void>;
}

/**
 * An app on `store`, on Express 4 (the old apps') or 5 (the new app's): GET /login?user=
 * starts a session, GET /whoami answers the session's user, GET /logout destroys it.
 */
export async function sessionApp(store: Store, express: 4 | 5): Promise<SessionApp> {
  const app = express === 4 ? express4() : express5();
  app.use(session({
    secret: SECRET,
    store,
    resave: false,
    saveUninitialized: false,
    cookie: { maxAge: 3_600_000 },
  }));
  app.get("/login", (req, res) => {
    (req.session as unknown as Record<string, unknown>).user = String(req.query.user);
    res.send("ok");
  });
  app.get("/whoami", (req, res) => {
    res.send(String((req.session as unknown as Record<string, unknown>).user ?? "nobody"));
  });
  app.get("/logout", (req, res) => {
    req.session.destroy(() => res.send("bye"));
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Logs `user` in on `app` and returns the cookie the app set. */
export async function login(app: SessionApp, user: string): Promise<string> {
  const response = await fetch(`${app.url}/login?user=${encodeURIComponent(user)}`);
  await response.text();
  const setCookie = response.headers.get("set-cookie");
  if (!setCookie) throw new Error(`no session cookie for ${user}`);
  return setCookie.split(";")[0]!;
}

/** Who `app` thinks the holder of `cookie` is. */
export async function whoami(app: SessionApp, cookie: string): Promise<string> {
  const response = await fetch(`${app.url}/whoami`, { headers: { cookie } });
  return await response.text();
}
