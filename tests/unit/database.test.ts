// The knex seam: src/database.ts against a fake knex 3 Client (acquire, release, validate, the
// tarn pool's counters, the driver), so that what it relies on is pinned without a server: a
// knex release that moves these internals fails here (and in the packaging test's knex runs)
// before users see it. No database: the fake answers when the test says so.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Knex } from "knex";
import { Database } from "../../src/database.ts";
import { neverSent } from "../../src/driver_replies.ts";
import type { Coalescing } from "../../src/statement_batches.ts";

type Callback = (error: Error | null, result?: unknown) => void;

/** A driver connection whose statements wait until the test answers them. */
class FakeConnection {
  readonly sent: { sql: string; values: unknown[]; reply: Callback }[] = [];
  destroyed = false;
  valid = true;
  readonly stream = { destroyed: false, destroy: () => (this.stream.destroyed = true) };
  execute(sql: string, values: unknown[], reply: Callback): void {
    this.sent.push({ sql, values, reply });
  }
  query(sql: string, values: unknown[], reply: Callback): void {
    this.sent.push({ sql, values, reply });
  }
  destroy(): void {
    this.destroyed = true;
  }
  on(): void {}
  /** Answers the oldest unanswered statement. */
  answer(result: unknown = [[{ ok: 1 }], {}], error: Error | null = null): void {
    const next = this.sent.shift();
    assert.ok(next, "no statement to answer");
    next.reply(error, result);
  }
}

/** knex 3's Client as Database uses it, with a tarn-like pool of `max` connections. */
class FakeClient {
  readonly connections: FakeConnection[] = [];
  readonly released: FakeConnection[] = [];
  acquires = 0;
  pendingCreates = 0;
  /** What the next acquire does: give a connection (default), fail, or hang. */
  next: "connect" | Error | "hang" = "connect";
  readonly pool: Record<string, unknown>;
  readonly #free: FakeConnection[] = [];
  #used = 0;

  constructor(readonly max: number) {
    this.pool = {
      max,
      numUsed: () => this.#used,
      numFree: () => this.#free.length,
      numPendingCreates: () => this.pendingCreates,
      numPendingAcquires: () => 0,
    };
  }

  acquireConnection(): Promise<FakeConnection> {
    this.acquires++;
    const next = this.next;
    if (next instanceof Error) return Promise.reject(next);
    if (next === "hang") return new Promise(() => {});
    const connection = this.#free.pop() ?? new FakeConnection();
    if (!this.connections.includes(connection)) this.connections.push(connection);
    this.#used++;
    return Promise.resolve(connection);
  }

  releaseConnection(connection: FakeConnection): void {
    this.#used--;
    this.released.push(connection);
    if (connection.valid && !connection.destroyed) this.#free.push(connection);
  }

  validateConnection(connection: FakeConnection): boolean {
    return connection.valid && !connection.destroyed;
  }
}

function database(
  client: FakeClient,
  options: Partial<ConstructorParameters<typeof Database>[1]> = {},
) {
  return new Database({ client } as unknown as Knex, {
    timeout: 10_000,
    maxWaiting: 100,
    slowAfter: 60_000,
    onSlow: () => {},
    ...options,
  });
}

/** Statements of one kind that may go out together: their values joined, each answered alike. */
const together: Coalescing = {
  max: 64,
  combine: (values) => ({ sql: "SELECT many", values: values.flat() }),
  split: (result, values) => values.map(() => result),
  onBatch: () => {},
};

/** `count` combinable statements, each with its number as its value. */
const combinable = (db: Database, count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => db.execute("SELECT 1", [from + i], undefined, together));

/** Lets promise callbacks and a setImmediate turn run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe("Database on knex's pool", () => {
  // The deadline check rests on an unref'd timer (a store never keeps a process alive); in an
  // app, the statement's socket does. Here nothing does, so the test holds the loop open.
  let keepAlive: ReturnType<typeof setInterval>;
  before(() => {
    keepAlive = setInterval(() => {}, 1_000);
  });
  after(() => clearInterval(keepAlive));

  it("runs a prepared statement and gives the first result set's rows", async () => {
    const client = new FakeClient(2);
    const db = database(client);
    const rows = db.execute<{ n: number }>("SELECT ?", [1]);
    await settle();
    const [connection] = client.connections;
    assert.deepEqual(connection!.sent.map((s) => [s.sql, s.values]), [["SELECT ?", [1]]]);
    connection!.answer([{ n: 1 }]);
    assert.deepEqual(await rows, [{ n: 1 }]);
    await settle();
    assert.deepEqual(client.released, [connection], "returned to the pool on the next turn");
  });

  it("hands a finished connection to the next waiting statement without a second borrow", async () => {
    const client = new FakeClient(1);
    const db = database(client);
    const first = db.execute("SELECT 1", []);
    const second = db.execute("SELECT 2", []);
    await settle();
    assert.equal(client.acquires, 1);
    const [connection] = client.connections;
    connection!.answer();
    await first;
    await settle();
    assert.equal(connection!.sent[0]?.sql, "SELECT 2");
    connection!.answer();
    await second;
    assert.equal(client.acquires, 1);
  });

  it("refuses statements beyond maxWaiting at once, as never sent", async () => {
    const client = new FakeClient(1);
    const db = database(client, { maxWaiting: 2 });
    const running = db.execute("SELECT 0", []);
    const waiting = [db.execute("SELECT 1", []), db.execute("SELECT 2", [])];
    await settle();
    await assert.rejects(db.execute("SELECT 3", []), (error: { code: string }) => {
      assert.equal(error.code, "ERR_QUEUE_FULL");
      assert.ok(neverSent(error));
      return true;
    });
    const [connection] = client.connections;
    for (let i = 0; i < 3; i++) {
      connection!.answer();
      await settle();
    }
    await Promise.all([running, ...waiting]);
  });

  it("a statement past its deadline on the wire: ERR_TIMEOUT, its connection closed and returned", async () => {
    const client = new FakeClient(1);
    const db = database(client, { timeout: 120 });
    const stuck = db.execute("SELECT SLEEP(9)", []);
    await assert.rejects(stuck, {
      code: "ERR_TIMEOUT",
      message: /no reply from the server within 1\d\d ms/,
    });
    const [connection] = client.connections;
    assert.equal(connection!.destroyed, true);
    assert.equal(
      connection!.stream.destroyed,
      true,
      "the socket goes too: a dead peer ignores a polite end",
    );
    assert.ok(client.released.includes(connection!));
    assert.equal(neverSent(await stuck.catch((e) => e)), false);
    connection!.answer(); // a late reply: ignored
  });

  it("waiting past the deadline: ERR_POOL_TIMEOUT when the pool is busy, ERR_TIMEOUT when connecting hangs", async () => {
    const busy = new FakeClient(1);
    const db = database(busy, { timeout: 150 });
    const holder = db.execute("SELECT 1", [], 10_000); // holds the only connection meanwhile
    await settle();
    await assert.rejects(db.execute("SELECT 2", []), (error: { code: string; message: string }) => {
      assert.equal(error.code, "ERR_POOL_TIMEOUT");
      assert.match(error.message, /all 1 are in use/);
      assert.ok(neverSent(error));
      return true;
    });
    busy.connections[0]!.answer();
    await holder;
    const connecting = new FakeClient(4);
    connecting.next = "hang";
    connecting.pendingCreates = 1;
    await assert.rejects(database(connecting, { timeout: 150 }).execute("SELECT 1", []), {
      code: "ERR_TIMEOUT",
      message: /no connection to the server within/,
    });
  });

  it("a failed borrow is never sent, and the next waiting statement still gets a connection", async () => {
    const client = new FakeClient(1);
    const db = database(client);
    const refused = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
    const holder = db.execute("SELECT 0", []);
    await settle();
    client.next = refused;
    const [connection] = client.connections;
    connection!.valid = false; // dies: it must not serve the next statement
    const waiting = db.execute("SELECT 1", []);
    connection!.answer();
    await holder;
    const error = await waiting.catch((e) => e);
    assert.equal(error, refused);
    assert.ok(neverSent(error));
    assert.ok(client.released.includes(connection!), "the dead connection went back to the pool");
  });

  it("close(): waiting statements fail, those under way finish, idle connections go back", async () => {
    const client = new FakeClient(1);
    const db = database(client);
    const underWay = db.execute("SELECT 1", []);
    const waiting = db.execute("SELECT 2", []);
    await settle();
    const closing = db.close();
    await assert.rejects(waiting, { code: "ERR_STORE_CLOSED" });
    client.connections[0]!.answer([{ n: 1 }]);
    assert.deepEqual(await underWay, [{ n: 1 }]);
    await closing;
    assert.equal(client.released.length, 1);
    await assert.rejects(db.execute("SELECT 3", []), { code: "ERR_STORE_CLOSED" });
  });

  it("under more than twice the pool's statements, four connections carry them and the rest go back", async () => {
    const client = new FakeClient(10);
    const db = database(client);
    const first = combinable(db, 30);
    await settle();
    // A load that begins borrows what the pool has: one connection took the waiting ones along.
    assert.equal(client.connections.length, 10);
    assert.equal(client.connections[0]!.sent[0]?.values.length, 21);
    const more = combinable(db, 20, 30); // 50 outstanding: they wait
    await settle();
    const [, ...single] = client.connections;
    // Each of the next six to finish goes back to the pool while four others carry statements.
    for (const connection of single.slice(0, 6)) connection.answer();
    assert.equal(client.released.length, 6);
    assert.ok(single.slice(0, 6).every((connection) => connection.sent.length === 0));
    // The next to finish takes the twenty waiting, as one statement.
    single[6]!.answer();
    assert.deepEqual(single[6]!.sent[0]?.values, Array.from({ length: 20 }, (_, i) => 30 + i));
    for (const connection of [client.connections[0]!, ...single.slice(6)]) {
      while (connection.sent.length > 0) connection.answer();
    }
    await Promise.all([...first, ...more]);
  });

  it("under heavy load, more waiting than four statements take borrows more connections", async () => {
    const client = new FakeClient(10);
    const db = database(client, { maxWaiting: 1_000 });
    const first = combinable(db, 30);
    await settle();
    const more = combinable(db, 20, 30);
    await settle();
    for (const connection of client.connections.slice(1, 7)) connection.answer();
    assert.equal(client.acquires, 10, "four carry statements, twenty wait");
    const most = combinable(db, 300, 50); // more than 4 x 64 waiting
    await settle();
    assert.equal(client.acquires, 16, "the pool's six free connections are borrowed again");
    while (client.connections.some((connection) => connection.sent.length > 0)) {
      for (const connection of client.connections) if (connection.sent.length) connection.answer();
      await settle();
    }
    await Promise.all([...first, ...more, ...most]);
  });

  it("under a lighter load, a finished connection takes the waiting statements along", async () => {
    const client = new FakeClient(10);
    const db = database(client);
    const first = combinable(db, 12);
    await settle();
    assert.equal(client.connections.length, 10, "it uses every connection it can borrow");
    const more = combinable(db, 5, 12); // 17 outstanding, fewer than twice the pool
    await settle();
    const second = client.connections[1]!;
    second.answer();
    assert.equal(client.released.length, 0);
    assert.deepEqual(second.sent[0]?.values, [12, 13, 14, 15, 16]);
    for (const connection of client.connections) {
      while (connection.sent.length > 0) connection.answer();
    }
    await Promise.all([...first, ...more]);
  });

  it("reports a statement outstanding longer than slowAfter, once", async () => {
    const client = new FakeClient(1);
    let slow = 0;
    let report = () => {};
    const reported = new Promise<void>((resolve) => (report = resolve));
    const db = database(client, {
      slowAfter: 60,
      onSlow: () => {
        slow++;
        report();
      },
    });
    const query = db.execute("SELECT 1", []);
    await reported;
    await sleep(250); // more deadline checks: none reports it again
    assert.equal(slow, 1);
    client.connections[0]!.answer();
    await query;
  });
});
