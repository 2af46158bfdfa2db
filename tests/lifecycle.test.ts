import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { appAccount, appStore } from "./helpers/app_account.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { expiredSession, sessionFor } from "./helpers/sessions.ts";
import { procedureName } from "../src/sql.ts";

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase("lifecycle");
});
after(() => database.drop());

/** Runs tests/fixtures/exits_when_done.ts as the app account; its exit code and output. */
async function runChild(mode: string, table: string) {
  const app = await appAccount(database, { table });
  const script = fileURLToPath(new URL("./fixtures/exits_when_done.ts", import.meta.url));
  const args = "Deno" in globalThis
    ? ["run", "-A", script, mode, table]
    : ["--import", "tsx", script, mode, table];
  return new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, MYSQL_URL: app.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the child process did not exit within 15 s:\n${output}`));
    }, 15_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe("lifecycle", () => {
  it("ready resolves and connect is emitted once", async () => {
    const store = await appStore(database, { disableDbCleanup: true });
    let connects = 0;
    store.on("connect", () => connects++);
    await store.ready;
    await store.ready;
    await store.get("x");
    assert.equal(connects, 1);
    await store.close();
  });

  it("close is idempotent, leaves a knex it was given open, and later calls fail clearly", async () => {
    const app = await appAccount(database);
    const knex = app.knex();
    const store = app.store({ knex });
    await store.ready;
    await Promise.all([store.close(), store.close()]);
    await store.close();
    const [[row]] = await knex.raw("SELECT 1 AS one");
    assert.equal(row.one, 1);
    await assert.rejects(store.get("x"), { code: "ERR_STORE_CLOSED" });
    await assert.rejects(store.set("x", sessionFor()), { code: "ERR_STORE_CLOSED" });
    await assert.rejects(store.ready, { code: "ERR_STORE_CLOSED" });
  });

  it("a store that made its own knex destroys it on close, and the process exits", async () => {
    const { code, output } = await runChild("own-knex", tableName());
    assert.equal(code, 0, output);
    assert.match(output, /"ok":true/);
  });

  it("with the app's knex destroyed by the app, the store's timers do not keep it alive", async () => {
    const { code, output } = await runChild("user-knex", tableName());
    assert.equal(code, 0, output);
    assert.match(output, /"ok":true/);
  });
});

describe("cleanup", () => {
  it("sweeps expired sessions every clearInterval ms, in batches", async () => {
    const table = tableName();
    const store = await appStore(database, {
      tablename: table,
      clearInterval: 100,
      cleanupBatchSize: 2,
    });
    await store.ready;
    await store.set("live", sessionFor());
    for (let i = 0; i < 5; i++) await store.set(`old${i}`, expiredSession());
    // The counter moves when the sweep's reply arrives, just after the rows go.
    await waitFor(async () => (await count(table)) === 1 && store.stats().sessionsSwept === 5);
    assert.ok(await store.get("live"));
    await store.close();
  });

  it("reports sweep errors to onDbCleanupError and keeps sweeping", async () => {
    const table = tableName();
    const errors: unknown[] = [];
    const store = await appStore(database, {
      tablename: table,
      cleanupInterval: 50,
      maxRetries: 0,
      onDbCleanupError: (error) => errors.push(error),
    });
    store.on("error", () => {});
    await store.ready;
    await database.admin.raw(`DROP PROCEDURE \`${procedureName(table, "clear_expired")}\``);
    await waitFor(() => errors.length >= 2);
    // The app account's EXECUTE went with the procedure: the server says "denied".
    assert.match(String((errors[0] as Error).message), /cleanup failed: execute command denied/);
    await store.close();
    const reported = errors.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(errors.length, reported, "close() stops the sweeps");
  });

  it("disableDbCleanup and cleanupInterval: 0 turn the sweep off", async () => {
    for (const options of [{ disableDbCleanup: true, clearInterval: 50 }, { cleanupInterval: 0 }]) {
      const table = tableName();
      const store = await appStore(database, { tablename: table, ...options });
      await store.ready;
      await store.set("old", expiredSession());
      assert.equal(store.nextDbCleanup, undefined, "no sweep is scheduled");
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await count(table), 1);
      await store.close();
    }
  });
});

async function count(table: string): Promise<number> {
  const [[row]] = await database.admin.raw(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number(row.n);
}

/** Polls `condition`; the timeout only ends a failure (it is no bound on how fast). */
async function waitFor(condition: () => boolean | Promise<boolean>, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
