// Faults against real servers: the database unreachable at start-up (through a TCP proxy that
// cuts and restores the path), connections killed mid-operation, and a server killed and
// restarted under load (a scratch MariaDB this file starts on its own port and data directory).
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import knex, { type Knex } from "knex";
import { createCounterApp } from "./fixtures/counter_app.ts";
import { startTcpProxy } from "./fixtures/tcp_proxy.ts";
import { KnexMySQLStore, SessionStoreError } from "../mod.ts";
import { appAccount } from "./helpers/app_account.ts";
import { cli } from "./helpers/cli.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

/** An operation that takes longer than this has hung. */
const OPERATION_LIMIT = 15_000;

const unhandled: unknown[] = [];
const recordUnhandled = (reason: unknown) => unhandled.push(reason);

class HungError extends Error {}

/** `work`'s outcome, or a HungError when it does not settle within `ms`. */
async function within<T>(work: Promise<T>, ms = OPERATION_LIMIT): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HungError(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function waitFor(emitter: KnexMySQLStore, event: string, ms = OPERATION_LIMIT): Promise<unknown> {
  return within(once(emitter, event), ms);
}

/** A failure the store may report during a fault: its own error with code ERR_DATABASE. */
function assertCleanFailure(error: unknown): void {
  if (error instanceof HungError) throw error;
  assert.ok(error instanceof SessionStoreError, `not a SessionStoreError: ${String(error)}`);
  assert.equal(error.code, "ERR_DATABASE");
}

/** What one load worker saw: writes of 1, 2, 3, … to its own session. */
interface WorkerLog {
  sid: string;
  lastAcknowledged: number;
  lastAttempted: number;
  failures: number;
  /** How many of the failures were reads (the rest were writes). */
  readFailures: number;
  /** When the last failure happened (ms since the epoch), 0 for none. */
  lastFailureAt: number;
}

/**
 * `workers` loops each writing an increasing number to its own session and reading it back,
 * until `stop()`; every failure must be a clean one and every operation must settle.
 */
function runLoad(store: KnexMySQLStore, workers: number, stop: () => boolean) {
  return Promise.all(Array.from({ length: workers }, async (_, index) => {
    const log: WorkerLog = {
      sid: `load-${index}`,
      lastAcknowledged: 0,
      lastAttempted: 0,
      failures: 0,
      readFailures: 0,
      lastFailureAt: 0,
    };
    while (!stop()) {
      const n = log.lastAttempted + 1;
      log.lastAttempted = n;
      let reading = false;
      try {
        await within(store.set(log.sid, sessionFor({ n })));
        log.lastAcknowledged = n;
        reading = true;
        const read = await within(store.get(log.sid));
        assert.ok((read as unknown as { n: number }).n >= n, "a read missed an acknowledged write");
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assertCleanFailure(error);
        log.failures++;
        if (reading) log.readFailures++;
        log.lastFailureAt = Date.now();
        await sleep(10);
      }
    }
    return log;
  }));
}

/** Every acknowledged write is stored: each session holds its last acknowledged n or later. */
async function assertNothingLost(store: KnexMySQLStore, logs: WorkerLog[]): Promise<void> {
  for (const log of logs) {
    const stored = (await store.get(log.sid)) as { n: number } | null;
    assert.ok(stored, `session ${log.sid} is gone`);
    assert.ok(
      stored.n >= log.lastAcknowledged && stored.n <= log.lastAttempted,
      `${log.sid}: stored ${stored.n}, acknowledged ${log.lastAcknowledged}, ` +
        `attempted ${log.lastAttempted}`,
    );
  }
}

/** Ids of the connections to `database` other than the caller's own, optionally by statement. */
async function storeConnections(admin: Knex, database: string, info = "%"): Promise<number[]> {
  const [rows] = await admin.raw(
    "SELECT ID AS id FROM information_schema.PROCESSLIST " +
      "WHERE DB = ? AND ID <> CONNECTION_ID() AND COALESCE(INFO, '') LIKE ?",
    [database, info],
  );
  return (rows as { id: number }[]).map((row) => Number(row.id));
}

async function pollFor<T>(probe: () => Promise<T[]>, ms = 5_000): Promise<T[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found.length > 0) return found;
    if (Date.now() > deadline) throw new Error(`nothing found within ${ms} ms`);
    await sleep(20);
  }
}

/**
 * A throwaway MariaDB server on a free loopback port with its own data directory, to kill and
 * restart without touching the shared one.
 */
class ScratchServer {
  readonly #dir: string;
  readonly #port: number;
  #process: ReturnType<typeof spawn> | undefined;
  readonly #killOnExit = () => this.#process?.kill("SIGKILL");

  private constructor(dir: string, port: number) {
    this.#dir = dir;
    this.#port = port;
  }

  /** Why the test cannot run here (no MariaDB server binaries), or false. */
  static unavailableReason(): string | false {
    const found = spawnSync("mariadb-install-db", ["--help"], { stdio: "ignore" });
    return found.error ? "mariadb-install-db is not installed (MariaDB server binaries)" : false;
  }

  static async create(): Promise<ScratchServer> {
    const dir = await mkdtemp(join(tmpdir(), "kms-scratch-"));
    const server = new ScratchServer(dir, await freePort());
    try {
      const install = spawnSync("mariadb-install-db", [
        "--no-defaults",
        ...server.#userOption(),
        `--datadir=${dir}/data`,
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
      ], { encoding: "utf8" });
      if (install.status !== 0) throw new Error(`mariadb-install-db failed: ${install.stderr}`);
      await server.start();
      const admin = server.#connect();
      await admin.raw("CREATE DATABASE test CHARACTER SET utf8mb4");
      await admin.raw("CREATE USER app@'%' IDENTIFIED BY 'app-password'");
      await admin.destroy();
      return server;
    } catch (error) {
      await server.destroy();
      throw error;
    }
  }

  url(database: string): string {
    return `mysql://root@127.0.0.1:${this.#port}/${database}`;
  }

  /** The schema installed and an app account granted, by our own CLI; the account's URL. */
  async appAccountUrl(database: string): Promise<string> {
    const root = this.url(database);
    for (const argv of [["install"], ["grant", "app@%", "--apply"]]) {
      const run = await cli([...argv, "--url", root]);
      assert.equal(run.code, 0, run.stderr);
    }
    return `mysql://app:app-password@127.0.0.1:${this.#port}/${database}`;
  }

  /** Starts the server on its data directory and waits until it answers. */
  async start(): Promise<void> {
    const child = spawn(mariadbd(), [
      "--no-defaults",
      ...this.#userOption(),
      `--datadir=${this.#dir}/data`,
      `--socket=${this.#dir}/mariadbd.sock`,
      `--pid-file=${this.#dir}/mariadbd.pid`,
      `--port=${this.#port}`,
      "--bind-address=127.0.0.1",
      "--skip-name-resolve",
      "--innodb-buffer-pool-size=32M",
      "--performance-schema=OFF",
    ], { stdio: "ignore" });
    this.#process = child;
    // Should this process end without destroy() (a failed assertion), take the server along.
    process.once("exit", this.#killOnExit);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mariadbd exited with ${child.exitCode}`);
      const probe = this.#connect();
      const answered = await probe.raw("SELECT 1").then(() => true, () => false);
      await probe.destroy();
      if (answered) return;
      if (Date.now() > deadline) throw new Error("the scratch MariaDB did not start in 30 s");
      await sleep(100);
    }
  }

  /** kill -9, as in a crash; resolves once the process is gone. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    process.off("exit", this.#killOnExit);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, "exit");
    child.kill("SIGKILL");
    await exited;
  }

  async destroy(): Promise<void> {
    await this.kill();
    await rm(this.#dir, { recursive: true, force: true });
  }

  #connect(): Knex {
    return knex({
      client: "mysql2",
      connection: this.url(""),
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 2_000,
    });
  }

  /** mariadbd refuses to run as root without --user; the mysql account owns the files. */
  #userOption(): string[] {
    if (process.getuid?.() !== 0) return [];
    spawnSync("chown", ["-R", "mysql:mysql", this.#dir]);
    return ["--user=mysql"];
  }
}

function mariadbd(): string {
  const inSbin = spawnSync("/usr/sbin/mariadbd", ["--version"], { stdio: "ignore" });
  return inSbin.error ? "mariadbd" : "/usr/sbin/mariadbd";
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe("faults", () => {
  let db: TestDatabase;

  before(async () => {
    process.on("unhandledRejection", recordUnhandled);
    db = await createTestDatabase("faults");
  });

  after(async () => {
    process.off("unhandledRejection", recordUnhandled);
    await db?.drop();
    assert.deepEqual(unhandled, [], "unhandled rejections during the fault tests");
  });

  test("database unreachable at start-up: the app serves 503s, then recovers by itself", async () => {
    const app = await appAccount(db, { table: tableName() });
    const server = new URL(db.url);
    const proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port) });
    await proxy.cut();
    const store = app.store({ connection: { ...app.config, port: proxy.port }, clearInterval: 0 });
    const disconnected = waitFor(store, "disconnect");
    const http = createCounterApp(store).listen(0, "127.0.0.1");
    try {
      await once(http, "listening");
      await disconnected;
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const refused = await fetch(`${base}/increment`, { method: "POST" });
      assert.equal(refused.status, 503);
      await assert.rejects(within(store.get("any")), { code: "ERR_DATABASE" });

      const connected = waitFor(store, "connect");
      await proxy.restore();
      await connected;
      const first = await fetch(`${base}/increment`, { method: "POST" });
      assert.equal(first.status, 200);
      assert.deepEqual(await first.json(), { count: 1 });
      const cookie = first.headers.get("set-cookie")?.split(";")[0] ?? "";
      const second = await fetch(`${base}/increment`, { method: "POST", headers: { cookie } });
      assert.deepEqual(await second.json(), { count: 2 });
    } finally {
      http.close();
      await store.close();
      await proxy.cut();
    }
  });

  test("KILL CONNECTION of a write waiting on a lock: an unknown outcome, said so, not sent again", async (t) => {
    const store = (await appAccount(db, { table: tableName() })).store({ clearInterval: 0 });
    const admin = db.connect({ pool: { min: 1, max: 2 } }); // root: the lock, and KILL
    let trx: Knex.Transaction | undefined;
    try {
      await store.set("locked", sessionFor({ n: 0 }));
      trx = await admin.transaction();
      await trx.raw(`SELECT * FROM \`${store.tableName}\` WHERE sid = 'locked' FOR UPDATE`);
      const write = store.set("locked", sessionFor({ n: 1 })).then(() => "acknowledged", (e) => e);
      // The process list shows the statement the procedure is running, not the CALL: the
      // set procedure's INSERT … ON DUPLICATE KEY UPDATE.
      const [victim] = await pollFor(() => storeConnections(admin, db.name, "INSERT%"));
      await admin.raw(`KILL CONNECTION ${victim}`);
      await sleep(100);
      await trx.commit();
      trx = undefined;
      const outcome = await within(write);
      t.diagnostic(`outcome: ${outcome}; retries: ${store.stats().retries}`);
      // The connection died with the write on it: the store cannot know whether the server
      // applied it, so it says so and does not send it again (a late copy could undo a later
      // write). Here the server had not: the statement was still waiting for the lock.
      assertCleanFailure(outcome);
      assert.match(
        String(outcome),
        /may or may not have applied the write, and it was not sent again/,
      );
      assert.equal(store.stats().retries, 0);
      assert.equal(((await store.get("locked")) as { n: number } | null)?.n, 0);
      await store.set("locked", sessionFor({ n: 2 }));
      assert.equal(((await store.get("locked")) as { n: number } | null)?.n, 2);
    } finally {
      await trx?.rollback(); // a failure before the commit must not leave the row locked
      await store.close();
      await admin.destroy();
    }
  });

  test("KILL CONNECTION of the store's connections under load: no hang, nothing lost", async (t) => {
    const store = (await appAccount(db, { table: tableName() })).store({ clearInterval: 0 });
    const killer = db.connect({ pool: { min: 1, max: 1 } }); // root, for KILL
    try {
      await store.ready;
      let stopped = false;
      const load = runLoad(store, 8, () => stopped);
      let kills = 0;
      const deadline = Date.now() + 3_000;
      while (Date.now() < deadline) {
        for (const id of await storeConnections(killer, db.name)) {
          await killer.raw(`KILL CONNECTION ${id}`).catch(() => {}); // it may be gone already
          kills++;
        }
        await sleep(50);
      }
      stopped = true;
      const logs = await load;
      const acknowledged = logs.reduce((sum, log) => sum + log.lastAcknowledged, 0);
      const failures = logs.reduce((sum, log) => sum + log.failures, 0);
      t.diagnostic(
        `${kills} kills; ${acknowledged} writes acknowledged, ${failures} failed; ` +
          `${store.stats().retries} retries`,
      );
      assert.ok(kills > 10, `only ${kills} connections were killed`);
      assert.ok(acknowledged > 50, `only ${acknowledged} writes went through`);
      // A read changes nothing: one cut off by a KILL is sent again, and the app never sees it.
      assert.deepEqual(logs.map((log) => log.readFailures), logs.map(() => 0));
      assert.ok(store.stats().retries > 0, "no statement was sent again");
      await assertNothingLost(store, logs);
    } finally {
      await store.close();
      await killer.destroy();
    }
  });

  const scratchUnavailable = ScratchServer.unavailableReason();
  test(
    "server killed and restarted under load: disconnect, connect, nothing acknowledged lost",
    { skip: scratchUnavailable },
    async (t) => {
      const server = await ScratchServer.create();
      // An app account, as on the shared server: after the restart it logs in afresh.
      const store = new KnexMySQLStore({
        connection: await server.appAccountUrl("test"),
        createtable: false,
        clearInterval: 0,
      });
      try {
        await store.ready;
        const disconnected = waitFor(store, "disconnect", 20_000);
        let stopped = false;
        const load = runLoad(store, 8, () => stopped);
        await sleep(1_500);
        await server.kill();
        await disconnected;
        await sleep(500);
        const connected = waitFor(store, "connect", 20_000);
        await server.start();
        const serverBackAt = Date.now();
        await connected;
        const connectedAt = Date.now();
        await sleep(2_000);
        stopped = true;
        const logs = await load;
        await assertNothingLost(store, logs);
        const acknowledged = logs.reduce((sum, log) => sum + log.lastAcknowledged, 0);
        const failures = logs.reduce((sum, log) => sum + log.failures, 0);
        t.diagnostic(
          `${acknowledged} writes acknowledged, ${failures} failed during the outage; ` +
            `${store.stats().retries} retries; \`connect\` ${
              connectedAt - serverBackAt
            } ms after ` +
            "the server was back",
        );
        assert.ok(acknowledged > 50, `only ${acknowledged} writes went through`);
        const lastFailure = Math.max(...logs.map((log) => log.lastFailureAt));
        assert.ok(lastFailure < connectedAt, "an operation failed after `connect`");
      } finally {
        await store.close();
        await server.destroy();
      }
    },
  );
});
