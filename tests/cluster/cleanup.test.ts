// Cleanup with many app instances on one Galera Cluster: GET_LOCK is node-local there, so the
// store cannot elect one sweeper. What must hold instead: every expired row is deleted exactly
// once (no sweep repeats another's work), live sessions stay, and the sweepers' collisions end
// quietly (no error reaches onDbCleanupError).
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import { sessionFor } from "../helpers/sessions.ts";
import { type ClusterDatabase, createClusterDatabase, NODE_PORTS, select } from "./cluster.ts";

const INSTANCES = 9;
const EXPIRED = 50_000;
const LIVE = 100;
const BATCH = 500;
const INTERVAL = 1_500;
const RUN = 7_000;

/** CALLs the nodes executed for their own clients (replicated writes are not counted). */
async function callsExecuted(db: ClusterDatabase): Promise<number> {
  const counts = await Promise.all(NODE_PORTS.map(async (port) => {
    const [row] = await select<{ Value: string }>(
      db.node(port),
      "SHOW GLOBAL STATUS LIKE 'Com_call_procedure'",
    );
    return Number(row?.Value ?? 0);
  }));
  return counts.reduce((sum, count) => sum + count, 0);
}

describe("cleanup with many instances on a Galera Cluster", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("cluster_cleanup");
  });
  after(() => db?.drop());

  test(`${INSTANCES} instances on 3 nodes sweep ${EXPIRED} expired sessions`, async (t) => {
    const installer = new KnexMySQLStore({ knex: db.connect(NODE_PORTS[0]), clearInterval: 0 });
    await installer.ready;
    for (let i = 0; i < LIVE; i++) await installer.set(`live-${i}`, sessionFor({ i }, 3_600_000));
    // The expired rows are set up in one statement (the sequence engine counts for us).
    await db.node(NODE_PORTS[0]).raw(
      "INSERT INTO sessions (sid, sess, expired) " +
        "SELECT CONCAT('expired-', seq), '{}', UTC_TIMESTAMP() - INTERVAL 1 HOUR " +
        `FROM seq_1_to_${EXPIRED}`,
    );
    await installer.close();

    const errors: unknown[] = [];
    const callsBefore = await callsExecuted(db);
    const stores = Array.from({ length: INSTANCES }, (_, index) =>
      new KnexMySQLStore({
        knex: db.connect(NODE_PORTS[index % NODE_PORTS.length]!),
        clearInterval: INTERVAL,
        cleanupBatchSize: BATCH,
        onDbCleanupError: (error) => errors.push(error),
      }));
    try {
      await Promise.all(stores.map((store) => store.ready));
      await sleep(RUN);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
    const calls = (await callsExecuted(db)) - callsBefore;

    const stats = stores.map((store) => store.stats());
    const swept = stats.reduce((sum, s) => sum + s.sessionsSwept, 0);
    const conflicts = stats.reduce((sum, s) => sum + s.sweepConflicts, 0);
    const retries = stats.reduce((sum, s) => sum + s.retries, 0);
    t.diagnostic(
      `${swept} swept by ${calls} CALLs (${EXPIRED / BATCH} full batches needed), ` +
        `${conflicts} sweeps yielded to another instance, ${retries} retries, ` +
        `${errors.length} errors`,
    );
    assert.deepEqual(errors, []);
    assert.equal(swept, EXPIRED, "every expired session is counted once");
    // Colliding sweeps yield (the other instance finishes the work) rather than retry.
    assert.equal(retries, 0, "colliding sweeps were retried");
    for (const port of NODE_PORTS) {
      const [row] = await select<{ left: number; live: number }>(
        db.node(port),
        "SELECT COUNT(*) AS `left`, SUM(sid LIKE 'live-%') AS live FROM sessions",
      );
      assert.deepEqual([Number(row?.left), Number(row?.live)], [LIVE, LIVE], `port ${port}`);
    }
  });
});
