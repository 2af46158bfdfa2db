// Bad input gets a clear error through the callback or the promise; the process survives, no
// rejection goes unhandled, and nothing already stored changes.
import assert from "node:assert/strict";
import process from "node:process";
import { after, afterEach, before, beforeEach, describe, it } from "node:test";
import { KnexMySQLStore, type SessionStoreError } from "../mod.ts";
import { appStore } from "./helpers/app_account.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { asStored, sessionFor, viaCallback } from "./helpers/sessions.ts";

let database: TestDatabase;
let store: KnexMySQLStore;
const kept = sessionFor({ precious: "data" });
const rejections: unknown[] = [];
const onRejection = (reason: unknown) => rejections.push(reason);

before(async () => {
  database = await createTestDatabase("bad_input");
  store = await appStore(database, { disableDbCleanup: true });
  await store.ready;
  process.on("unhandledRejection", onRejection);
});
after(async () => {
  process.off("unhandledRejection", onRejection);
  await store.close();
  await database.drop();
});
beforeEach(() => store.set("kept", kept));
afterEach(async () => {
  assert.deepEqual(await store.get("kept"), asStored(kept), "a stored session changed");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(rejections, []);
});

describe("session ids", () => {
  const badSids: [string, unknown][] = [
    ["a number", 42],
    ["undefined", undefined],
    ["null", null],
    ["an object", { toString: () => "kept" }],
    ["an empty string", ""],
    ["256 characters", "k".repeat(256)],
    ["256 emoji", "😀".repeat(256)],
    ["a lone surrogate", "kept\uD800"],
  ];
  for (const [label, sid] of badSids) {
    it(`${label} is refused by every method, through promise and callback`, async () => {
      const calls: [string, () => Promise<unknown>][] = [
        ["get", () => store.get(sid as string)],
        ["set", () => store.set(sid as string, sessionFor())],
        ["touch", () => store.touch(sid as string, sessionFor())],
        ["destroy", () => store.destroy(sid as string)],
      ];
      for (const [method, call] of calls) {
        await assert.rejects(
          call(),
          { name: "SessionStoreError", code: "ERR_INVALID_SID" },
          method,
        );
      }
      const outcome = await viaCallback((cb) => store.get(sid as string, cb));
      assert.equal((outcome.error as SessionStoreError).code, "ERR_INVALID_SID");
      assert.equal(outcome.calls, 1);
    });
  }
});

describe("sessions", () => {
  it("a circular session is refused and the stored one is kept", async () => {
    const circular = sessionFor() as unknown as Record<string, unknown>;
    circular.self = circular;
    await assert.rejects(store.set("kept", circular as never), {
      code: "ERR_INVALID_SESSION",
      message: /cannot be stored as JSON/,
    });
  });

  it("a BigInt in a session is refused", async () => {
    await assert.rejects(store.set("kept", sessionFor({ big: 10n }) as never), {
      code: "ERR_INVALID_SESSION",
      message: /BigInt/,
    });
  });

  it("something that is not a session object is refused", async () => {
    for (const value of [null, "text", 1, [1, 2]]) {
      await assert.rejects(store.set("kept", value as never), { code: "ERR_INVALID_SESSION" });
      await assert.rejects(store.touch("kept", value as never), { code: "ERR_INVALID_SESSION" });
    }
  });

  it("a session over max_allowed_packet is refused before it reaches the server", async () => {
    const [[row]] = await database.admin.raw("SELECT @@max_allowed_packet AS max");
    const huge = sessionFor({ blob: "x".repeat(Number(row.max)) });
    const outcome = await viaCallback((cb) => store.set("kept", huge, cb));
    assert.equal((outcome.error as SessionStoreError).code, "ERR_SESSION_TOO_LARGE");
    assert.match((outcome.error as Error).message, /max_allowed_packet/);
    // The connection was not dropped: the store goes on working.
    const big = sessionFor({ blob: "é".repeat(1_000_000) });
    await store.set("big", big);
    assert.deepEqual(await store.get("big"), asStored(big));
  });
});

describe("a database that is down", () => {
  it("fails every method cleanly and emits disconnect", async () => {
    const down = new KnexMySQLStore({
      connection: "mysql://root@127.0.0.1:1/test",
      disableDbCleanup: true,
      maxRetries: 0,
    });
    // Each failed connection attempt is the operation's error and, once, `disconnect`: the
    // store's own knex does not also log a line per attempt.
    const warnings: string[] = [];
    down.on("warning", (message: string) => warnings.push(message));
    const disconnected = new Promise<void>((resolve) => down.once("disconnect", resolve));
    await assert.rejects(down.ready, { code: "ERR_DATABASE", message: /ECONNREFUSED/ });
    await disconnected;
    const outcome = await viaCallback((cb) => down.get("kept", cb));
    assert.equal((outcome.error as SessionStoreError).code, "ERR_DATABASE");
    await assert.rejects(down.set("kept", sessionFor()), { code: "ERR_DATABASE" });
    await assert.rejects(down.length(), { code: "ERR_DATABASE" });
    await down.close();
    assert.deepEqual(warnings, []);
  });
});
