// What code written for connect-session-knex v5 or express-mysql-session relies on, kept:
// clear() and destroy() say what they deleted, close() and clearExpired() take callbacks,
// store.options (with knex) and nextDbCleanup exist, a cookie change reaches the stored
// session as MemoryStore keeps it, and the events are typed.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import express from "express";
import session, { MemoryStore, type Store } from "express-session";
import type { KnexMySQLStoreOptions } from "../mod.ts";
import { appAccount, appStore } from "./helpers/app_account.ts";
import { withClock } from "./helpers/clock.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

let db: TestDatabase;

before(async () => {
  db = await createTestDatabase("drop_in");
});
after(() => db.drop());

/** A store as the app account, on a table of its own. */
function open(options: KnexMySQLStoreOptions = {}) {
  return appStore(db, { tablename: tableName(), clearInterval: 0, ...options });
}

describe("return values and members", () => {
  it("clear() resolves how many sessions went; destroy() whether one did", async () => {
    await closing(async (defer) => {
      const store = await open();
      defer(() => store.close());
      assert.equal(await store.clear(), 0);
      for (const sid of ["a", "b", "c"]) await store.set(sid, sessionFor({}));
      assert.equal(await store.destroy("a"), true);
      assert.equal(await store.destroy("a"), false);
      assert.equal(await store.clear(), 2);
      assert.equal(await store.clear(), 0);
      const viaCallback = await new Promise((resolve, reject) =>
        store.clear((error, deleted) => (error ? reject(error) : resolve(deleted)))
      );
      assert.equal(viaCallback, 0);
    });
  });

  it("close(cb) and clearExpired(cb) call back like every other method", async () => {
    const store = await open();
    await store.set("gone", sessionFor({}, -60_000));
    const swept = await new Promise((resolve, reject) =>
      store.clearExpired((error, deleted) => (error ? reject(error) : resolve(deleted)))
    );
    assert.equal(swept, 1);
    const closed = await new Promise((resolve) => store.close((error) => resolve(error ?? "ok")));
    assert.equal(closed, "ok");
    const again = await new Promise((resolve) => store.close((error) => resolve(error ?? "ok")));
    assert.equal(again, "ok", "close is idempotent, with a callback too");
  });

  it("store.options shows the options in effect, with knex and without key material", async () => {
    const key = randomBytes(32).toString("base64");
    await closing(async (defer) => {
      const app = await appAccount(db, { table: tableName() });
      const knex = app.knex();
      const store = app.store({
        knex,
        clearInterval: 0,
        encryption: { keys: [key] },
        touchAfter: 5_000,
      });
      await store.ready;
      defer(() => store.close());
      const { options } = store;
      assert.equal(options.knex, knex);
      assert.equal(options.tableName, app.table);
      assert.equal(options.sidFieldName, "sid");
      assert.equal(options.createTable, false);
      assert.equal(options.cleanupInterval, 0);
      assert.equal(options.touchAfter, 5_000);
      assert.equal(options.queryTimeout, 10_000);
      assert.equal(options.encrypted, true);
      assert.ok(Object.isFrozen(options));
      assert.ok(!JSON.stringify({ ...options, knex: undefined }).includes(key.slice(0, 16)));
    });
    // A store that made its own knex shows it, and code that destroys it (as
    // connect-session-knex v5's own tests do) ends the store's connections.
    const own = await open();
    await own.ready;
    await own.options.knex.destroy();
    await own.close();
  });

  it("nextDbCleanup is when the next sweep starts, and undefined without sweeps", async () => {
    await closing(async (defer) => {
      // Pinned: the clock the schedule reads, and its jitter (0.25: 5% early).
      const now = Date.UTC(2030, 0, 1);
      const sweeping = await withClock({ now: () => now, random: () => 0.25 }, async () => {
        const store = await open({ clearInterval: 60_000 });
        defer(() => store.close());
        await store.ready;
        return store;
      });
      assert.deepEqual(sweeping.nextDbCleanup, new Date(now + 57_000));
      const idle = await open({ disableDbCleanup: true });
      defer(() => idle.close());
      await idle.ready;
      assert.equal(idle.nextDbCleanup, undefined);
      await sweeping.close();
      assert.equal(sweeping.nextDbCleanup, undefined);
    });
  });
});

describe("a cookie change without a data change", () => {
  /** The cookie's maxAge (originalMaxAge) each request of a browser sees, on `store`. */
  async function maxAgesSeen(store: Store): Promise<(number | null)[]> {
    const app = express();
    app.use(session({
      store,
      secret: "drop-in secret",
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60_000 },
    }));
    app.get("/login", (req, res) => {
      (req.session as unknown as { user: string }).user = "alice";
      res.json(req.session.cookie.originalMaxAge);
    });
    // "Remember me": only the cookie changes, so express-session touches instead of saving.
    app.get("/remember", (req, res) => {
      req.session.cookie.maxAge = 30 * 86_400_000;
      res.json(req.session.cookie.originalMaxAge);
    });
    app.get("/", (req, res) => res.json(req.session.cookie.originalMaxAge));
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      let cookie = "";
      const seen: (number | null)[] = [];
      for (const path of ["/login", "/", "/remember", "/", "/"]) {
        const response = await fetch(base + path, { headers: { cookie } });
        cookie = response.headers.get("set-cookie")?.split(";")[0] ?? cookie;
        seen.push(await response.json() as number | null);
      }
      return seen;
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }

  it("reaches the stored session, as with MemoryStore", async () => {
    await closing(async (defer) => {
      const store = await open();
      defer(() => store.close());
      const ours = await maxAgesSeen(store);
      const memory = await maxAgesSeen(new MemoryStore());
      const rounded = (values: (number | null)[]) =>
        values.map((value) => (value === null ? null : Math.round(value / 1_000)));
      assert.deepEqual(rounded(ours), rounded(memory));
      assert.deepEqual(rounded(ours), [60, 60, 2_592_000, 2_592_000, 2_592_000]);
    });
  });

  it("a plain touch still writes only the expiry", async () => {
    await closing(async (defer) => {
      const store = await open();
      defer(() => store.close());
      const session = sessionFor({ v: 1 }, 60_000);
      await store.set("t", session);
      const stored = await store.get("t");
      // The same cookie settings, a later expiry: a touch, which leaves `sess` as it was.
      await db.admin.raw(`UPDATE \`${store.tableName}\` SET sess = JSON_SET(sess, '$.v', 2)`);
      await store.touch(
        "t",
        {
          ...stored,
          cookie: { ...stored!.cookie, expires: new Date(Date.now() + 120_000) },
        } as never,
      );
      assert.equal((await store.get("t") as unknown as { v: number }).v, 2);
    });
  });
});

describe("typed events", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const prelude = `import { KnexMySQLStore, type RetryEvent, type SessionStoreError } from "MOD";
declare const store: KnexMySQLStore;
`;
  const right = `
store.on("connect", () => {});
store.once("disconnect", () => {});
store.on("warning", (message: string) => message.length);
store.on("retry", (event: RetryEvent) => event.attempt);
store.on("unreadable", (event) => event.reason satisfies "malformed" | "unknown-key" | "tampered" | "plaintext");
store.on("error", (error: SessionStoreError) => error.code);
store.off("warning", (message) => message.trim());
`;
  const wrong: Record<string, string> = {
    "a misspelt event": `store.on("disconect", () => {});`,
    "a wrong payload type for retry": `store.on("retry", (event: number) => event);`,
    "a wrong payload type for warning": `store.once("warning", (message: Error) => message);`,
  };

  /**
   * tsc's errors in each of `files` (name to code), compiled at once against the package's own
   * sources: one compiler run (seconds) for every case.
   */
  function typeErrors(files: Record<string, string>): Map<string, string[]> {
    const dir = mkdtempSync(join(tmpdir(), "kms-events-"));
    try {
      const names = Object.keys(files).map((_, index) => `case${index}.ts`);
      Object.values(files).forEach((code, index) =>
        writeFileSync(join(dir, names[index]!), prelude.replace("MOD", join(root, "mod.ts")) + code)
      );
      writeFileSync(
        join(dir, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            noEmit: true,
            module: "nodenext",
            target: "es2024",
            allowImportingTsExtensions: true,
            skipLibCheck: true,
            types: ["node"],
            typeRoots: [join(root, "node_modules/@types")],
          },
          files: names,
        }),
      );
      const tsc = spawnSync(process.execPath, [
        join(root, "node_modules/typescript/bin/tsc"),
        "-p",
        dir,
        "--pretty",
        "false",
      ], { encoding: "utf8", cwd: root });
      const lines = (tsc.stdout + tsc.stderr).split("\n");
      return new Map(
        Object.keys(files).map((label, index) => [
          label,
          lines.filter((line) => line.includes(`${names[index]}(`) && / error TS/.test(line)),
        ]),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it("right names and payloads type-check; a wrong name or payload does not", () => {
    const errors = typeErrors({ right, ...wrong });
    assert.deepEqual(errors.get("right"), [], "the right uses type-check");
    for (const label of Object.keys(wrong)) {
      assert.notEqual(errors.get(label)?.length ?? 0, 0, `${label} type-checked: ${wrong[label]}`);
    }
  });
});
