// `backfill` gives sessions saved without an owner (before schema 2, or by a store without the
// userId option) their owner from their data, plain or encrypted, and a second run has nothing
// left to do; sessionsOf and destroyUser then find them.
// Root (--url db.url): backfill is an operator's command, run with rights on the table.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { KnexMySQLStore } from "../mod.ts";
import { cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase("cli_backfill");
});
after(() => db.drop());

const KEYS = [randomBytes(32).toString("base64"), randomBytes(32).toString("base64")];

for (const encrypted of [false, true]) {
  describe(`backfill${encrypted ? ", encrypted sessions" : ""}`, () => {
    it("gives each session its owner once, and the user lookups find them", async () => {
      const table = tableName("bf");
      const encryption = encrypted ? { encryption: { keys: KEYS } } : {};
      await closing(async (defer) => {
        // Saved without owners: a store that had no userId option.
        const before = new KnexMySQLStore({
          knex: db.admin,
          tablename: table,
          clearInterval: 0,
          ...encryption,
        });
        defer(() => before.close());
        for (let i = 0; i < 7; i++) {
          await before.set(`s${i}`, sessionFor({ passport: { user: i < 5 ? "kim" : 42 } }));
        }
        await before.set("anonymous", sessionFor({}));
        const env = encrypted ? { BACKFILL_KEYS: KEYS.join(",") } : {};
        const args = [
          "backfill",
          "--table",
          table,
          "--user-path",
          "passport.user",
          "--batch-size",
          "3",
          "--url",
          db.url,
        ];
        const first = await cli([...args, ...(encrypted ? ["--keys-env", "BACKFILL_KEYS"] : [])], {
          env,
        });
        assert.equal(first.code, 0, first.stderr);
        assert.match(first.stdout, /7 session\(s\) given their owner, of 8 without one/);
        const again = await cli([...args, ...(encrypted ? ["--keys-env", "BACKFILL_KEYS"] : [])], {
          env,
        });
        assert.match(again.stdout, /0 session\(s\) given their owner, of 1 without one/);

        const after = new KnexMySQLStore({
          knex: db.admin,
          tablename: table,
          clearInterval: 0,
          userId: (session) =>
            (session as unknown as { passport?: { user?: string } }).passport?.user,
          ...encryption,
        });
        defer(() => after.close());
        assert.equal(await after.countOf("kim"), 5);
        assert.equal(await after.countOf(42), 2);
        assert.equal(await after.destroyUser("kim"), 5);
        assert.equal(await after.length(), 3);
        if (encrypted) {
          const [rows] = await db.admin.raw(
            `SELECT user_id FROM \`${table}\` WHERE user_id IS NOT NULL`,
          );
          for (const row of rows as { user_id: string }[]) assert.notEqual(row.user_id, "42");
        }
      });
    });
  });
}

describe("backfill's edge cases", () => {
  it("skips a user id too long for the column, and says so", async () => {
    const table = tableName("bf_long");
    await closing(async (defer) => {
      const store = new KnexMySQLStore({ knex: db.admin, tablename: table, clearInterval: 0 });
      defer(() => store.close());
      await store.set("long", sessionFor({ user: "x".repeat(300) }));
      await store.set("short", sessionFor({ user: "lee" }));
      const run = await cli(["backfill", "--table", table, "--user-path", "user", "--url", db.url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(
        run.stdout,
        /1 session\(s\) given their owner, of 2 without one; 1 with a user id over 255 characters skipped/,
      );
      assert.equal((run.stdout.match(/100%/g) ?? []).length, 1, "the last progress line once");
    });
  });

  it("fails when sessions cannot be read: wrong keys, or none for encrypted sessions", async () => {
    const table = tableName("bf_keys");
    await closing(async (defer) => {
      const store = new KnexMySQLStore({
        knex: db.admin,
        tablename: table,
        clearInterval: 0,
        encryption: { keys: [KEYS[0]!] },
      });
      defer(() => store.close());
      await store.set("sealed", sessionFor({ user: "mo" }));
      const args = ["backfill", "--table", table, "--user-path", "user", "--url", db.url];
      const wrong = await cli([...args, "--keys-env", "K"], { env: { K: KEYS[1]! } });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /1 session\(s\) could not be read: are the keys in --keys-env/);
      const none = await cli(args);
      assert.match(none.stderr, /they are encrypted: give the store's keys with --keys-env/);
    });
  });
});

describe("backfill's mistakes", () => {
  it("names what is missing", async () => {
    const noPath = await cli(["backfill", "--url", db.url]);
    assert.equal(noPath.code, 2);
    assert.match(noPath.stderr, /--user-path is required/);
    const noKeys = await cli([
      "backfill",
      "--user-path",
      "u",
      "--keys-env",
      "NOPE",
      "--url",
      db.url,
    ], { env: {} });
    assert.match(noKeys.stderr, /the environment variable NOPE is not set/);
  });
});
