// The knex internals src/database.ts relies on (the Client's acquireConnection,
// releaseConnection and validateConnection, tarn's pool counters, the driver and connection
// settings a probe opens its own connection with), on the oldest and the newest knex 3.x the
// peer range takes, against the real server. tests/unit/database.test.ts runs Database against
// a fake client that behaves as these do; this is where a knex release that moves them fails.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, it } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../../mod.ts";
import { Database } from "../../src/database.ts";
import { createTestDatabase, tableName, type TestDatabase } from "../helpers/database.ts";
import { sessionFor } from "../helpers/sessions.ts";
import { installedVersion } from "./helpers.ts";

const require = createRequire(import.meta.url);

/** The knex packages installed side by side: `knex` (the newest) and its range's floor. */
const KNEX_PACKAGES = ["knex-oldest", "knex"];

/** A connection as knex's mysql2 client hands it out: a mysql2 connection. */
interface Connection {
  threadId: number;
  once(event: "error" | "end", listener: () => void): void;
}

/**
 * Kills `connection` on the server and resolves once its driver has taken the loss in (the turn
 * after it reported it: mysql2 marks the connection after emitting the event).
 */
async function kill(connection: Connection): Promise<void> {
  const gone = new Promise<void>((resolve) => {
    connection.once("error", resolve);
    connection.once("end", resolve);
  });
  await database.admin.raw(`KILL CONNECTION ${connection.threadId}`);
  await gone;
  await new Promise((resolve) => setImmediate(resolve));
}

/** What Database reads off knex.client, typed as the test checks it. */
interface Client {
  acquireConnection(): Promise<Connection>;
  releaseConnection(connection: Connection): Promise<unknown>;
  validateConnection(connection: Connection): unknown;
  pool: {
    max: number;
    numUsed(): number;
    numFree(): number;
    numPendingCreates(): number;
    numPendingAcquires(): number;
  };
  driver: { createConnection(settings: unknown): unknown };
  connectionSettings: unknown;
}

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase("knex_versions");
});
after(() => database?.drop());

for (const name of KNEX_PACKAGES) {
  const version = installedVersion(name);
  describe(`knex ${version} (${name})`, () => {
    const createKnex = require(name) as (config: Knex.Config) => Knex;
    let knex: Knex;
    let client: Client;
    before(() => {
      knex = createKnex({ client: "mysql2", connection: database.url, pool: { min: 0, max: 1 } });
      client = knex.client as unknown as Client;
    });
    after(() => knex?.destroy());

    it("lends, validates and takes back connections; a killed one validates as false", async () => {
      const connection = await client.acquireConnection();
      assert.equal(client.validateConnection(connection), true);
      await kill(connection);
      assert.equal(client.validateConnection(connection), false);
      await client.releaseConnection(connection);
      // The pool replaces it: the next borrow is a live connection.
      const next = await client.acquireConnection();
      assert.notEqual(next.threadId, connection.threadId);
      assert.equal(client.validateConnection(next), true);
      await client.releaseConnection(next);
    });

    it("counts a full pool as Database reads it: in use, free, being created, waiting", async () => {
      const held = await client.acquireConnection();
      const { pool } = client;
      assert.deepEqual(
        [pool.max, pool.numUsed(), pool.numFree(), pool.numPendingCreates()],
        [1, 1, 0, 0],
      );
      const waiting = client.acquireConnection();
      assert.equal(pool.numPendingAcquires(), 1);
      await client.releaseConnection(held);
      await client.releaseConnection(await waiting);
      assert.deepEqual([pool.numUsed(), pool.numFree(), pool.numPendingAcquires()], [0, 1, 0]);
    });

    it("a store on it: statements run, a full pool is ERR_POOL_TIMEOUT, a killed connection is replaced", async () => {
      const store = new KnexMySQLStore({
        knex,
        tablename: tableName(),
        disableDbCleanup: true,
        queryTimeout: 500,
        maxRetries: 0,
      });
      try {
        await store.ready;
        await store.set("a", sessionFor({ n: 1 }));
        assert.deepEqual((await store.get("a") as unknown as { n: number }).n, 1);

        const held = await client.acquireConnection();
        try {
          await assert.rejects(store.get("a"), (error: { code: string; message: string }) => {
            assert.equal(error.code, "ERR_POOL_TIMEOUT", error.message);
            assert.match(error.message, /all 1 are in use/);
            return true;
          });
        } finally {
          await kill(held);
          await client.releaseConnection(held);
        }
        assert.deepEqual((await store.get("a") as unknown as { n: number }).n, 1);
      } finally {
        await store.close();
      }
    });

    it("a probe opens its own connection with the driver and the connection settings", async () => {
      assert.equal(typeof client.driver.createConnection, "function");
      assert.ok(client.connectionSettings);
      const db = new Database(knex, {
        timeout: 5_000,
        maxWaiting: 10,
        slowAfter: 60_000,
        onSlow: () => {},
      });
      // The pool's only connection is held: the probe must not need it.
      const held = await client.acquireConnection();
      try {
        await db.probe(5_000);
      } finally {
        await client.releaseConnection(held);
        await db.close();
      }
    });
  });
}
