// Sessions by user, through Express, on MySQL and MariaDB, with and without encryption: a user
// on three "devices" (cookie jars) is listed, counted, and logged out of all but the current
// one with one call; a single-session policy; owners follow logins and account switches; with
// encryption the table holds no user id in clear; and a save from a request that read a session
// before the user was logged out everywhere does not bring it back.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import express from "express";
import session from "express-session";
import { KnexMySQLStore, type KnexMySQLStoreOptions } from "../mod.ts";
import { appStore } from "./helpers/app_account.ts";
import { closing, type Defer } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";

declare module "express-session" {
  interface SessionData {
    user?: string;
    hits?: number;
  }
}

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase("by_user");
});
after(() => db.drop());

/** A browser: its own cookie jar. */
interface Device {
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  readonly sid: string | undefined;
}

/**
 * An Express app on a store with `userId: (s) => s.user`: /login?user=&single=1 (single-session
 * policy), /me, /logout, /logout-everywhere (all but this session), /devices, /slow (reads the
 * session, waits for `release`, then changes it).
 */
async function app(defer: Defer, options: KnexMySQLStoreOptions = {}) {
  const store = await appStore(db, {
    tablename: tableName("by_user"),
    clearInterval: 0,
    userId: (data) => data.user,
    ...options,
  });
  defer(() => store.close());
  await store.ready;
  let release: (() => void) | undefined;
  const slowReached: (() => void)[] = [];
  const web = express();
  web.use(session({ store, secret: "by-user", resave: false, saveUninitialized: false }));
  web.get("/login", (req, res, next) => {
    const user = String(req.query.user);
    req.session.regenerate(async (error) => {
      if (error) return next(error);
      req.session.user = user;
      if (req.query.single) await store.destroyUser(user, { except: req.sessionID });
      res.json({ sid: req.sessionID });
    });
  });
  web.get("/switch", (req, res) => {
    req.session.user = String(req.query.user);
    res.json({ ok: true });
  });
  web.get("/me", (req, res) => {
    req.session.hits = (req.session.hits ?? 0) + 1;
    res.json({ user: req.session.user ?? null, sid: req.sessionID });
  });
  web.get("/logout", (req, res, next) => {
    req.session.destroy((error) => (error ? next(error) : res.json({ ok: true })));
  });
  web.get("/logout-everywhere", async (req, res, next) => {
    try {
      const deleted = await store.destroyUser(req.session.user!, { except: req.sessionID });
      res.json({ deleted });
    } catch (error) {
      next(error);
    }
  });
  web.get("/devices", async (req, res) => {
    const sessions = await store.sessionsOf(req.session.user!);
    res.json({ ids: sessions.map((s) => s.id), count: await store.countOf(req.session.user!) });
  });
  web.get("/slow", async (req, res) => {
    req.session.hits = (req.session.hits ?? 0) + 1; // read before, saved after the wait
    await new Promise<void>((resolve) => {
      release = resolve;
      slowReached.shift()?.();
    });
    res.json({ ok: true });
  });
  const server = web.listen(0, "127.0.0.1");
  defer(() =>
    new Promise((resolve) => {
      server.closeAllConnections();
      server.close(resolve);
    })
  );
  await once(server, "listening");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const device = (): Device => {
    let cookie = "";
    return {
      get sid() {
        return cookie
          ? decodeURIComponent(cookie.split("=")[1]!).slice(2).split(".")[0]
          : undefined;
      },
      async get(path) {
        const response = await fetch(base + path, { headers: { cookie } });
        cookie = response.headers.get("set-cookie")?.split(";")[0] ?? cookie;
        return { status: response.status, body: await response.json() };
      },
    };
  };
  const slowStarted = () => new Promise<void>((resolve) => slowReached.push(resolve));
  return { store, device, slowStarted, release: () => release?.() };
}

const KEY = randomBytes(32);

for (const encrypted of [false, true]) {
  describe(`sessions by user${encrypted ? ", with encryption" : ""}`, () => {
    const options = encrypted ? { encryption: { keys: [KEY] } } : {};

    it("three devices: listed, counted, logged out of all but the current one", async () => {
      await closing(async (defer) => {
        const { store, device } = await app(defer, options);
        const [phone, laptop, tablet, other] = [device(), device(), device(), device()];
        for (const d of [phone, laptop, tablet]) await d.get("/login?user=alice");
        await other.get("/login?user=bob");
        const listed = await laptop.get("/devices");
        assert.deepEqual(
          (listed.body.ids as string[]).sort(),
          [phone.sid, laptop.sid, tablet.sid].sort(),
        );
        assert.equal(listed.body.count, 3);
        assert.equal(await store.countOf("bob"), 1);

        const everywhere = await laptop.get("/logout-everywhere");
        assert.equal(everywhere.body.deleted, 2);
        assert.equal((await laptop.get("/me")).body.user, "alice");
        assert.equal((await phone.get("/me")).body.user, null);
        assert.equal((await tablet.get("/me")).body.user, null);
        assert.equal((await other.get("/me")).body.user, "bob");
        assert.deepEqual((await store.sessionsOf("alice")).map((s) => s.id), [laptop.sid]);

        // What the table holds for the owner: the id, or (encrypted) a keyed hash of it.
        const [rows] = await db.admin.raw(
          `SELECT user_id FROM \`${store.tableName}\` WHERE user_id IS NOT NULL`,
        );
        const owners = (rows as { user_id: string }[]).map((row) => row.user_id).sort();
        if (encrypted) {
          assert.ok(!owners.includes("alice") && !owners.includes("bob"), owners.join());
          for (const owner of owners) assert.match(owner, /^[A-Za-z0-9_-]{43}$/);
        } else {
          assert.deepEqual(owners, ["alice", "bob"]);
        }
      });
    });

    it("single-session policy: a login logs the user's other sessions out", async () => {
      await closing(async (defer) => {
        const { store, device } = await app(defer, options);
        const first = device();
        const second = device();
        await first.get("/login?user=carol&single=1");
        await second.get("/login?user=carol&single=1");
        assert.equal((await second.get("/me")).body.user, "carol");
        assert.equal((await first.get("/me")).body.user, null);
        assert.equal(await store.countOf("carol"), 1);
      });
    });

    it("the owner follows an account switch and a logout", async () => {
      await closing(async (defer) => {
        const { store, device } = await app(defer, options);
        const browser = device();
        await browser.get("/login?user=dave");
        assert.equal(await store.countOf("dave"), 1);
        await browser.get("/switch?user=erin");
        assert.equal(await store.countOf("dave"), 0);
        assert.equal(await store.countOf("erin"), 1);
        await browser.get("/logout");
        assert.equal(await store.countOf("erin"), 0);
      });
    });

    it("a save from a request that read a session before a log-out everywhere does not bring it back", async () => {
      await closing(async (defer) => {
        const { store, device, slowStarted, release } = await app(defer, options);
        for (let round = 0; round < 10; round++) {
          const user = `frank-${round}`;
          const [inFlight, current] = [device(), device()];
          await inFlight.get(`/login?user=${user}`);
          await current.get(`/login?user=${user}`);
          // The in-flight request has read its session; a log-out everywhere happens; then it
          // ends and express-session saves the session it read.
          const reached = slowStarted();
          const slow = inFlight.get("/slow");
          await reached;
          assert.equal((await current.get("/logout-everywhere")).body.deleted, 1);
          release();
          await slow;
          assert.deepEqual((await store.sessionsOf(user)).map((s) => s.id), [current.sid]);
          assert.equal((await inFlight.get("/me")).body.user, null, `round ${round}`);
        }
      });
    });

    it("concurrent logins and log-outs everywhere leave no session of the old owner", async () => {
      await closing(async (defer) => {
        const { store, device } = await app(defer, options);
        const devices = Array.from({ length: 12 }, device);
        const keeper = device();
        await keeper.get("/login?user=grace");
        await Promise.all(devices.map((d) => d.get("/login?user=grace")));
        // Every device keeps using its session while the keeper logs grace out elsewhere.
        const traffic = Promise.all(devices.map(async (d) => {
          for (let i = 0; i < 5; i++) await d.get("/me");
        }));
        const everywhere = keeper.get("/logout-everywhere");
        await Promise.all([traffic, everywhere]);
        assert.deepEqual((await store.sessionsOf("grace")).map((s) => s.id), [keeper.sid]);
        for (const d of devices) assert.equal((await d.get("/me")).body.user, null);
      });
    });
  });
}

describe("lookups by user on a store without userId", () => {
  it("warn once that such a store saves no owners", async () => {
    await closing(async (defer) => {
      const store = await appStore(db, { tablename: tableName(), clearInterval: 0 });
      defer(() => store.close());
      const warnings: string[] = [];
      store.on("warning", (message) => warnings.push(message));
      assert.deepEqual(await store.sessionsOf("nobody"), []);
      assert.equal(await store.countOf("nobody"), 0);
      assert.equal(warnings.filter((w) => /option userId is not set/.test(w)).length, 1);
    });
  });
});

describe("bad user ids", () => {
  it("are refused with a clear error, and a throwing userId fails the save", async () => {
    await closing(async (defer) => {
      const store = await appStore(db, {
        tablename: tableName(),
        clearInterval: 0,
        userId: () => {
          throw new Error("boom");
        },
      });
      defer(() => store.close());
      await assert.rejects(store.set("s", { cookie: {} } as never), {
        code: "ERR_INVALID_SESSION",
        message: /userId function threw/,
      });
      for (const bad of ["", Number.NaN, {}, "\ud800", "x".repeat(256)]) {
        await assert.rejects(store.sessionsOf(bad as never), { code: "ERR_INVALID_SESSION" });
      }
      // Checked before any connection: root's knex is never used.
      assert.throws(() => new KnexMySQLStore({ knex: db.admin, userId: "user" as never }), {
        message: /"userId" must be a function of the session/,
      });
    });
  });
});
