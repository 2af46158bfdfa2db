// End to end over real HTTP: Express 5 + express-session + the store + MariaDB.
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { after, before, describe, it } from "node:test";
import express from "express";
import session from "express-session";
import type { KnexMySQLStore } from "../mod.ts";
import { later } from "./helpers/clock.ts";
import { appStore } from "./helpers/app_account.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";

declare module "express-session" {
  interface SessionData {
    visits: number;
  }
}

let database: TestDatabase;
let store: KnexMySQLStore;
let server: Server;
let base: string;

before(async () => {
  database = await createTestDatabase("express");
  store = await appStore(database, { disableDbCleanup: true });
  const app = express();
  app.use(session({
    secret: "test secret",
    resave: false,
    saveUninitialized: false,
    store,
    cookie: { maxAge: 60_000 },
  }));
  app.get("/visit", (req, res) => {
    // ?short: a session that lives 30 s, not a minute (set on its first visit), to watch it expire.
    if (req.query.short !== undefined && req.session.visits === undefined) {
      req.session.cookie.maxAge = 30_000;
    }
    req.session.visits = (req.session.visits ?? 0) + 1;
    res.json({ visits: req.session.visits, id: req.sessionID });
  });
  app.post("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  await new Promise<void>((resolve) => {
    server = app.listen(0, "127.0.0.1", () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await new Promise((resolve) => server.close(resolve));
  await store.close();
  await database.drop();
});

/** A client that keeps its session cookie, like a browser. */
function client() {
  let cookie = "";
  return {
    get cookie() {
      return cookie;
    },
    async request(path: string, method = "GET") {
      const response = await fetch(base + path, { method, headers: cookie ? { cookie } : {} });
      const setCookie = response.headers.get("set-cookie");
      if (setCookie) cookie = setCookie.split(";")[0]!;
      assert.equal(response.status, 200);
      return await response.json() as { visits: number; id: string };
    },
  };
}

describe("Express 5 with the store", () => {
  it("a session persists across requests", async () => {
    const browser = client();
    assert.equal((await browser.request("/visit")).visits, 1);
    assert.equal((await browser.request("/visit")).visits, 2);
    const third = await browser.request("/visit");
    assert.equal(third.visits, 3);
    assert.equal((await store.get(third.id))?.visits, 3);
  });

  it("logout destroys the session", async () => {
    const browser = client();
    const { id } = await browser.request("/visit");
    await browser.request("/logout", "POST");
    assert.equal(await store.get(id), null);
    const after = await browser.request("/visit");
    assert.equal(after.visits, 1);
    assert.notEqual(after.id, id);
  });

  it("an expired cookie starts a new session", async () => {
    const browser = client();
    const first = await browser.request("/visit?short");
    assert.equal((await browser.request("/visit")).visits, 2);
    // 31 s on, by the store's clock: past the 30 s the session was given.
    const next = await later(31_000, () => browser.request("/visit"));
    assert.equal(next.visits, 1);
    assert.notEqual(next.id, first.id);
  });

  it("50 parallel clients get 50 sessions", async () => {
    await store.clear();
    const browsers = Array.from({ length: 50 }, client);
    const first = await Promise.all(browsers.map((browser) => browser.request("/visit")));
    const second = await Promise.all(browsers.map((browser) => browser.request("/visit")));
    assert.equal(new Set(first.map((r) => r.id)).size, 50);
    assert.deepEqual(second.map((r) => r.id), first.map((r) => r.id));
    assert.ok(second.every((r) => r.visits === 2));
    assert.equal(await store.length(), 50);
  });
});
