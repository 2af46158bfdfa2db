// Log out everywhere lasts: destroy and destroyUser leave a marker in the database, so no later
// save, from any process, with or without a memory of the session, brings a destroyed session
// back before it would have expired. The reproduction of the stolen-cookie attack that undid it
// when the guard was each process's memory of the last 10,000 sessions: two app processes on
// one table, an attacker's slow request holding the victim's session, 10,001 new sessions to
// flush that memory, the victim's log out everywhere, then the slow request's save.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { request } from "node:http";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

const APP = fileURLToPath(new URL("./fixtures/accounts_app.ts", import.meta.url));
const FLOOD = 10_001; // one more than the old in-memory guard held

let db: TestDatabase;
let account: AppAccount;
before(async () => {
  db = await createTestDatabase("lasting_logout");
  account = await appAccount(db);
});
after(() => db.drop());

/** An accounts app process as the app account; resolves with its base URL once it serves. */
async function startApp(children: ChildProcess[]): Promise<string> {
  const runtime = "Deno" in globalThis ? ["run", "-A", APP] : ["--import", "tsx", APP];
  const child = spawn(process.execPath, runtime, {
    env: {
      ...process.env,
      KMS_APP_CONNECTION: JSON.stringify(account.config),
      KMS_APP_TABLE: account.table,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let output = "";
  return await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the app did not start:\n${output}`)), 60_000);
    const read = (chunk: Buffer) => {
      output += chunk;
      const url = /Listening on (http:\/\/\S+)/.exec(output)?.[1]?.concat("/");
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    child.stdout.on("data", read);
    child.stderr.on("data", read);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited (${code}):\n${output}`));
    });
  });
}

/** A request with `cookie`; resolves with the status, the JSON body and the session cookie. */
async function call(url: string, method: string, cookie?: string) {
  const response = await fetch(url, { method, headers: cookie ? { cookie } : {} });
  const set = response.headers.getSetCookie()[0]?.split(";")[0];
  return { status: response.status, body: await response.json(), cookie: set ?? cookie };
}

/**
 * A POST /note whose body is held back after its first byte: the app has loaded the session
 * and waits. `finish()` sends the rest and resolves with the reply's status.
 */
function slowNote(base: string, cookie: string, text: string) {
  const url = new URL("note", base);
  const req = request(url, {
    method: "POST",
    headers: { cookie, "content-type": "text/plain", "content-length": Buffer.byteLength(text) },
  });
  const replied = new Promise<number>((resolve, reject) => {
    req.once("response", (response) => {
      response.resume();
      response.once("end", () => resolve(response.statusCode ?? 0));
    });
    req.once("error", reject);
  });
  req.write(text.slice(0, 1));
  return {
    finish: () => {
      req.end(text.slice(1));
      return replied;
    },
  };
}

/** The session id in an express-session cookie value (s:<id>.<signature>). */
function sidOf(cookie: string): string {
  return decodeURIComponent(cookie.split("=")[1] as string).slice(2).split(".")[0] as string;
}

describe("a destroyed session stays destroyed", () => {
  it("the stolen-cookie attack through two app processes leaves the victim logged out", async () => {
    const children: ChildProcess[] = [];
    await closing(async (defer) => {
      defer(() => children.forEach((child) => child.kill("SIGKILL")));
      const [a, b] = await Promise.all([startApp(children), startApp(children)]);

      // The victim logs in on two devices; the attacker holds a copy of the first cookie.
      const stolen = (await call(`${a}login?user=victim`, "POST")).cookie as string;
      const phone = (await call(`${b}login?user=victim`, "POST")).cookie as string;
      assert.equal((await call(`${a}me`, "GET", stolen)).body.user, "victim");

      // A request on instance A loads the victim's session, then waits for its body.
      const note = slowNote(a, stolen, "attacker was here");
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      // Enough new sessions on A to push the victim's out of any per-process memory.
      for (let sent = 0; sent < FLOOD;) {
        const batch = Math.min(32, FLOOD - sent);
        await Promise.all(Array.from({ length: batch }, () => call(`${a}visit`, "GET")));
        sent += batch;
      }

      // The victim logs out everywhere else, on instance B.
      assert.equal((await call(`${b}logout-everywhere`, "POST", phone)).body.ended, 1);
      // The attacker's request completes: its save must not bring the session back.
      assert.equal(await note.finish(), 200);
      for (const app of [a, b]) assert.equal((await call(`${app}me`, "GET", stolen)).status, 401);
      assert.equal((await call(`${b}me`, "GET", phone)).body.user, "victim");
      const rows = await db.admin(account.table).where({ sid: sidOf(stolen) })
        .select("destroyed", "user_id");
      assert.deepEqual(rows.map((row) => [Number(row.destroyed), row.user_id]), [[1, null]]);
    });
  });

  it("a save or touch of a destroyed id by a store that never read it writes nothing", async () => {
    await closing(async (defer) => {
      const first = account.store({ userId: (session) => (session as { user?: string }).user });
      defer(() => first.close());
      await first.set("gone-id", sessionFor({ user: "ann", secret: "s1" }));
      assert.equal(await first.destroyUser("ann"), 1);
      // Another process: a store with no memory of the session.
      const other = account.store({ userId: (session) => (session as { user?: string }).user });
      defer(() => other.close());
      await other.set("gone-id", sessionFor({ user: "ann", secret: "s2" }));
      await other.touch("gone-id", sessionFor({ user: "ann" }, 60_000, 3_600_000));
      assert.equal(await other.get("gone-id"), null);
      assert.equal(await first.get("gone-id"), null);
      assert.equal(await other.countOf("ann"), 0);
      const listed = (await other.all()) as unknown as { id: string }[];
      assert.ok(!listed.some((session) => session.id === "gone-id"));
      const [row] = await db.admin(account.table).where({ sid: "gone-id" })
        .select("sess", "user_id", "destroyed");
      assert.equal(Number(row.destroyed), 1);
      assert.equal(row.user_id, null);
      assert.doesNotMatch(JSON.stringify(row.sess), /s1|s2|ann/); // no session data in a marker
      // destroy() leaves one too, and says whether a session was there.
      await other.set("another", sessionFor({ secret: "x" }));
      assert.equal(await other.destroy("another"), true);
      assert.equal(await other.destroy("another"), false);
      await first.set("another", sessionFor({ secret: "y" }));
      assert.equal(await first.get("another"), null);
      // status counts markers apart from live sessions.
      const status = await cli(["status", "--table", account.table, "--url", db.url]);
      assert.match(status.stdout, /sessions: +\d+ live, \d+ expired, [2-9]\d* destroyed \(markers/);
    });
  });

  it("markers go with the expired rows, and the id may be used again after that", async () => {
    await closing(async (defer) => {
      const store = account.store();
      defer(() => store.close());
      await store.set("short", sessionFor({ secret: "z" }, 1_000));
      await store.destroy("short");
      await new Promise((resolve) => setTimeout(resolve, 2_100)); // past its expiry second
      await store.clearExpired();
      const rows = await db.admin(account.table).where({ sid: "short" });
      assert.equal(rows.length, 0);
      await store.set("short", sessionFor({ secret: "again" }));
      assert.equal(((await store.get("short")) as { secret?: string } | null)?.secret, "again");
    });
  });

  it("clear() removes sessions and markers alike: a reset", async () => {
    await closing(async (defer) => {
      const store = account.store();
      defer(() => store.close());
      await store.set("kept", sessionFor({}));
      await store.set("ended", sessionFor({}));
      await store.destroy("ended");
      await store.clear();
      assert.equal((await db.admin(account.table).count({ n: "*" }))[0]?.n, 0);
    });
  });
});
