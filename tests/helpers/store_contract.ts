// The behaviour every KnexMySQLStore must show, whatever account it runs as. Run by
// tests/store.test.ts (the app account our own `grant` makes, see helpers/app_account.ts) and
// tests/privileges.test.ts (an account granted by a schema owner, not root, with the default
// createtable).
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import type { Knex } from "knex";
import process from "node:process";
import { type KnexMySQLStore, SessionStoreError } from "../../mod.ts";
import { asStored, expiredSession, sessionFor, viaCallback } from "./sessions.ts";

export interface ContractContext {
  /**
   * A new store on the schema. Each test gets its own, as a fresh process would: a store
   * remembers the sessions it has seen, and saves those only while they exist (see
   * tests/store.test.ts), so ids reused after clear() would not be re-created.
   */
  open(): KnexMySQLStore;
  /** A knex instance with full rights (root) on the same database, to look at the rows. */
  admin: Knex;
  table: string;
}

async function storedExpiry(context: ContractContext, sid: string): Promise<string | undefined> {
  const [rows] = await context.admin.raw(
    `SELECT CAST(expired AS CHAR) AS expired FROM \`${context.table}\` WHERE sid = ?`,
    [sid],
  );
  return rows[0]?.expired;
}

function utcSeconds(date: Date): string {
  return date.toISOString().slice(0, 19).replace("T", " ");
}

export function storeContract(
  label: string,
  setup: () => Promise<ContractContext>,
  teardown: () => Promise<void>,
): void {
  describe(`Store contract (${label})`, () => {
    let context: ContractContext;
    let store: KnexMySQLStore;
    before(async () => {
      context = await setup();
    });
    after(teardown);
    beforeEach(async () => {
      store = context.open();
      await store.ready;
      await store.clear();
    });
    afterEach(() => store.close());

    it("get of a missing session gives null", async () => {
      assert.equal(await store.get("missing"), null);
    });

    it("set then get returns the session as JSON stored it", async () => {
      const session = sessionFor({ user: { id: 7, name: "Ada" }, list: [1, 2, 3] });
      await store.set("s1", session);
      assert.deepEqual(await store.get("s1"), asStored(session));
    });

    it("set on an existing id replaces data and expiry", async () => {
      await store.set("s1", sessionFor({ n: 1 }, 60_000));
      const later = sessionFor({ n: 2 }, 3_600_000);
      await store.set("s1", later);
      assert.deepEqual(await store.get("s1"), asStored(later));
      const expires = (later.cookie as unknown as { expires: Date }).expires;
      assert.equal(await storedExpiry(context, "s1"), utcSeconds(expires));
    });

    it("an expired session reads as null and is not counted", async () => {
      await store.set("old", expiredSession({ n: 1 }));
      await store.set("new", sessionFor({ n: 2 }));
      assert.equal(await store.get("old"), null);
      assert.equal(await store.length(), 1);
      assert.deepEqual((await store.all()).map((s) => s.id), ["new"]);
    });

    it("destroy deletes the session; destroying a missing one is no error", async () => {
      await store.set("s1", sessionFor());
      await store.destroy("s1");
      assert.equal(await store.get("s1"), null);
      await store.destroy("never-was");
    });

    it("touch pushes back the expiry without changing the data", async () => {
      await store.set("s1", sessionFor({ n: 1 }, 60_000));
      const touched = sessionFor({ n: 99 }, 60_000, 7_200_000);
      await store.touch("s1", touched);
      const expires = (touched.cookie as unknown as { expires: Date }).expires;
      assert.equal(await storedExpiry(context, "s1"), utcSeconds(expires));
      assert.equal((await store.get("s1") as unknown as { n: number }).n, 1);
    });

    it("touch does not bring an expired session back", async () => {
      await store.set("old", expiredSession());
      await store.touch("old", sessionFor({}, 3_600_000));
      assert.equal(await store.get("old"), null);
    });

    it("all returns every live session with its id", async () => {
      await store.set("a", sessionFor({ n: 1 }));
      await store.set("b", sessionFor({ n: 2, id: "stored-id-is-replaced" }));
      const all = await store.all();
      const byId = new Map(all.map((session) => [session.id, session]));
      assert.equal(all.length, 2);
      assert.equal((byId.get("a") as unknown as { n: number }).n, 1);
      assert.equal((byId.get("b") as unknown as { n: number }).n, 2);
    });

    it("length counts live sessions and clear deletes them all", async () => {
      for (const sid of ["a", "b", "c"]) await store.set(sid, sessionFor());
      assert.equal(await store.length(), 3);
      await store.clear();
      assert.equal(await store.length(), 0);
    });

    it("clearExpired deletes expired sessions only and says how many", async () => {
      await store.set("live", sessionFor());
      for (const sid of ["x1", "x2", "x3"]) await store.set(sid, expiredSession());
      assert.equal(await store.clearExpired(), 3);
      const [rows] = await context.admin.raw(`SELECT sid FROM \`${context.table}\``);
      assert.deepEqual(rows.map((row: { sid: string }) => row.sid), ["live"]);
    });

    it("ids that differ only in case or trailing space are different sessions", async () => {
      await store.set("Abc", sessionFor({ v: "upper" }));
      await store.set("abc", sessionFor({ v: "lower" }));
      await store.set("abc ", sessionFor({ v: "space" }));
      const values = await Promise.all(["Abc", "abc", "abc "].map((sid) => store.get(sid)));
      assert.deepEqual(values.map((s) => (s as unknown as { v: string }).v), [
        "upper",
        "lower",
        "space",
      ]);
    });

    it("a 255-character id works and is not truncated into another", async () => {
      const long = "x".repeat(254) + "1";
      const other = "x".repeat(254) + "2";
      await store.set(long, sessionFor({ v: 1 }));
      await store.set(other, sessionFor({ v: 2 }));
      assert.equal((await store.get(long) as unknown as { v: number }).v, 1);
      assert.equal((await store.get(other) as unknown as { v: number }).v, 2);
      const emoji = "😀".repeat(255);
      await store.set(emoji, sessionFor({ v: 3 }));
      assert.equal((await store.get(emoji) as unknown as { v: number }).v, 3);
    });

    it("unicode, emoji, U+2028 and quotes round-trip exactly", async () => {
      const text = "Zoë 😀 \u2028\u2029 'single' \"double\" \\ back ` tick \0 nul 漢字";
      const session = sessionFor({ text, [text]: text });
      await store.set(`sid-${text}`, session);
      assert.deepEqual(await store.get(`sid-${text}`), asStored(session));
    });

    it("__proto__ keys in stored data do not reach any prototype", async () => {
      await store.set("p", sessionFor({}));
      await context.admin.raw(
        `UPDATE \`${context.table}\` SET sess = ? WHERE sid = 'p'`,
        [
          '{"cookie":{"originalMaxAge":60000},"__proto__":{"polluted":true},' +
          '"nested":{"__proto__":{"polluted":true}}}',
        ],
      );
      const session = await store.get("p") as unknown as Record<string, unknown>;
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.getPrototypeOf(session), Object.prototype);
      assert.equal(session.polluted, undefined);
      assert.deepEqual(Object.getOwnPropertyDescriptor(session, "__proto__")?.value, {
        polluted: true,
      });
    });

    it("every method calls its callback once, asynchronously, and returns nothing", async () => {
      await store.set("s1", sessionFor({ n: 1 }));
      const outcomes = await Promise.all([
        viaCallback((cb) => store.get("s1", cb)),
        viaCallback((cb) => store.set("s2", sessionFor(), cb)),
        viaCallback((cb) => store.touch("s1", sessionFor(), cb)),
        viaCallback((cb) => store.all(cb)),
      ]);
      for (const outcome of outcomes) {
        assert.equal(outcome.error, null);
        assert.equal(outcome.calls, 1);
        assert.equal(outcome.calledSynchronously, false);
        assert.equal(outcome.returned, undefined);
      }
      assert.equal((outcomes[0]!.value as unknown as { n: number }).n, 1);
      // length() after the writes above have landed: 2 sessions.
      const length = await viaCallback((cb) => store.length(cb));
      assert.deepEqual([length.error, length.value, length.calls, length.calledSynchronously], [
        null,
        2,
        1,
        false,
      ]);
      const destroyed = await viaCallback((cb) => store.destroy("s2", cb));
      assert.deepEqual([destroyed.error, destroyed.calls], [null, 1]);
      const cleared = await viaCallback((cb) => store.clear(cb));
      assert.deepEqual([cleared.error, cleared.calls], [null, 1]);
      assert.equal(await store.length(), 0);
    });

    it("an error reaches the callback once and is not also a rejection", async () => {
      const rejections: unknown[] = [];
      const onRejection = (reason: unknown) => rejections.push(reason);
      process.on("unhandledRejection", onRejection);
      try {
        const outcome = await viaCallback((cb) => store.get("", cb));
        assert.ok(outcome.error instanceof SessionStoreError);
        assert.equal((outcome.error as SessionStoreError).code, "ERR_INVALID_SID");
        assert.equal(outcome.calls, 1);
        assert.equal(outcome.calledSynchronously, false);
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.deepEqual(rejections, []);
      } finally {
        process.off("unhandledRejection", onRejection);
      }
    });

    it("without a callback every method returns a promise", async () => {
      const results = [
        store.set("s1", sessionFor()),
        store.get("s1"),
        store.touch("s1", sessionFor()),
        store.all(),
        store.length(),
        store.destroy("s1"),
        store.clear(),
      ];
      for (const result of results) assert.ok(result instanceof Promise);
      await Promise.all(results);
    });
  });
}
