// Checks both cluster suites run: the schema as each node holds it, stores starting at once,
// and sweepers of many app instances on one cluster.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { KnexMySQLStore } from "../../mod.ts";
import { PROCEDURES } from "../../src/sql.ts";
import { sessionFor } from "./sessions.ts";
import { type ClusterDatabase, parseSess, select } from "./cluster.ts";

/** The table's comment (its schema stamp) and its procedures, as the node at `port` has them. */
export async function schemaOn(db: ClusterDatabase, port: number, table: string) {
  const node = db.node(port);
  const [tableRow] = await select<{ comment: string }>(
    node,
    "SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES " +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  const procedures = await select<{ name: string }>(
    node,
    "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES " +
      "WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME LIKE ? ORDER BY name",
    [`${table}\\_%`],
  );
  return { comment: tableRow?.comment, procedures: procedures.map((row) => row.name) };
}

/**
 * Eight stores, connected round-robin to `storePorts`, start at the same moment on a table none
 * of them has (with its owner column and index), `rounds` times on fresh tables: all become
 * ready, each writes, each counts every write, and every node holds the same procedures. On a
 * cluster, one node's DDL aborts statements of another node's check (Galera reports a deadlock),
 * which the start-up runs again: resolves to how many times it did.
 */
export async function assertEightStartAtOnce(
  db: ClusterDatabase,
  storePorts: readonly number[],
  rounds: number,
): Promise<number> {
  let resent = 0;
  for (let round = 0; round < rounds; round++) {
    const table = `crowd_${round}`;
    const stores = Array.from({ length: 8 }, (_, index) =>
      new KnexMySQLStore({
        knex: db.connect(storePorts[index % storePorts.length]!),
        tablename: table,
        clearInterval: 0,
        userId: (session) => (session as { user?: string }).user,
      }));
    for (const store of stores) {
      store.on("retry", ({ operation }) => {
        if (operation === "start-up") resent++;
      });
    }
    try {
      await Promise.all(stores.map((store) => store.ready));
      await Promise.all(
        stores.map((store, index) => store.set(`s${index}`, sessionFor({ user: `u${index}` }))),
      );
      for (const [index, store] of stores.entries()) {
        assert.equal(await store.length(), 8, `round ${round}, store ${index}`);
      }
      const schemas = await Promise.all(
        db.cluster.nodePorts.map((port) => schemaOn(db, port, table)),
      );
      for (const schema of schemas) assert.deepEqual(schema, schemas[0]);
      assert.equal(schemas[0]?.procedures.length, PROCEDURES.length);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  }
  return resent;
}

export interface SweepOutcome {
  expired: number;
  batch: number;
  swept: number;
  /** CALLs the nodes executed for their own clients (replicated writes are not counted). */
  calls: number;
  conflicts: number;
  retries: number;
  errors: unknown[];
  /** Per node: rows left, and live rows among them. */
  left: [number, number][];
}

async function callsExecuted(db: ClusterDatabase): Promise<number> {
  const counts = await Promise.all(db.cluster.nodePorts.map(async (port) => {
    const [row] = await select<{ Value: string }>(
      db.node(port),
      "SHOW GLOBAL STATUS LIKE 'Com_call_procedure'",
    );
    return Number(row?.Value ?? 0);
  }));
  return counts.reduce((sum, count) => sum + count, 0);
}

/** "SELECT n" for n = 1..10^digits, in plain SQL both servers run (no sequence engine). */
function numbers(digits: number): string {
  const digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 " +
    "UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 " +
    "UNION ALL SELECT 8 UNION ALL SELECT 9)";
  const places = Array.from({ length: digits }, (_, i) => `d${i}.d * ${10 ** i}`);
  const from = Array.from({ length: digits }, (_, i) => `${digit} AS d${i}`);
  return `SELECT 1 + ${places.join(" + ")} AS n FROM ${from.join(", ")}`;
}

/**
 * `instancePorts.length` app instances (one per entry) sweep 50,000 expired sessions beside
 * 100 live ones, in batches of 500 every 1.5 s, until all are swept (2 minutes at most).
 */
export async function sweepWithInstances(
  db: ClusterDatabase,
  instancePorts: readonly number[],
): Promise<SweepOutcome> {
  const expired = 50_000;
  const live = 100;
  const batch = 500;
  const installer = new KnexMySQLStore({
    knex: db.connect(db.cluster.routerPort),
    clearInterval: 0,
  });
  await installer.ready;
  for (let i = 0; i < live; i++) await installer.set(`live-${i}`, sessionFor({ i }, 3_600_000));
  await installer.close();
  await db.node(db.cluster.routerPort).raw(
    "INSERT INTO sessions (sid, sess, expired) " +
      "SELECT CONCAT('expired-', n), '{}', UTC_TIMESTAMP() - INTERVAL 1 HOUR " +
      `FROM (${numbers(5)}) AS numbers WHERE n <= ${expired}`,
  );

  const errors: unknown[] = [];
  const callsBefore = await callsExecuted(db);
  const stores = instancePorts.map((port) =>
    new KnexMySQLStore({
      knex: db.connect(port),
      clearInterval: 1_500,
      cleanupBatchSize: batch,
      onDbCleanupError: (error) => errors.push(error),
    })
  );
  try {
    await Promise.all(stores.map((store) => store.ready));
    // Until every expired row is swept (a bounded wait), then two more sweep intervals in
    // which nothing may be swept twice.
    const swept = () => stores.reduce((sum, store) => sum + store.stats().sessionsSwept, 0);
    for (let waited = 0; swept() < expired && waited < 120_000; waited += 250) await sleep(250);
    await sleep(3_000);
  } finally {
    await Promise.all(stores.map((store) => store.close()));
  }
  const calls = (await callsExecuted(db)) - callsBefore;
  const stats = stores.map((store) => store.stats());
  const left = await Promise.all(db.cluster.nodePorts.map(async (port) => {
    const [row] = await select<{ left: number; live: number }>(
      db.node(port),
      "SELECT COUNT(*) AS `left`, SUM(sid LIKE 'live-%') AS live FROM sessions",
    );
    return [Number(row?.left), Number(row?.live)] as [number, number];
  }));
  return {
    expired,
    batch,
    swept: stats.reduce((sum, s) => sum + s.sessionsSwept, 0),
    calls,
    conflicts: stats.reduce((sum, s) => sum + s.sweepConflicts, 0),
    retries: stats.reduce((sum, s) => sum + s.retries, 0),
    errors,
    left,
  };
}

/** Every expired row deleted once, live rows kept on every node, no error, no resend. */
export function assertSweptOnce(outcome: SweepOutcome): void {
  assert.deepEqual(outcome.errors, []);
  assert.equal(outcome.swept, outcome.expired, "every expired session is counted once");
  // Colliding sweeps yield (the other instance finishes the work) rather than retry.
  assert.equal(outcome.retries, 0, "colliding sweeps were retried");
  for (const [i, counts] of outcome.left.entries()) {
    assert.deepEqual(counts, [100, 100], `node${i + 1}`);
  }
}

/** The sweep in one line for t.diagnostic. */
export function describeSweep(outcome: SweepOutcome): string {
  return `${outcome.swept} swept by ${outcome.calls} CALLs (${
    outcome.expired / outcome.batch
  } full batches needed), ${outcome.conflicts} sweeps yielded to another instance, ` +
    `${outcome.retries} retries, ${outcome.errors.length} errors`;
}

/** Who wrote a session, in which round: what the write tests store. */
export interface Mark {
  writer: string;
  round: number;
}

/** The stored mark of `sid` as each node sees it (reads wait for the node to catch up). */
export async function marksOnEveryNode(
  db: ClusterDatabase,
  sid: string,
): Promise<(Mark | undefined)[]> {
  return await Promise.all(db.cluster.nodePorts.map(async (port) => {
    const [row] = await select<{ sess: unknown }>(
      db.node(port),
      "SELECT sess FROM sessions WHERE sid = ?",
      [sid],
    );
    return row && parseSess<Mark>(row.sess);
  }));
}

/**
 * Log out everywhere through `destroyer` (a store with `userId` reading `user`), then a late
 * save and touch of the ended sessions
 * through `late`, another app instance that never read them: the markers reached every node,
 * and no node gives the sessions back.
 */
export async function assertMarkersReplicate(
  db: ClusterDatabase,
  destroyer: KnexMySQLStore,
  late: KnexMySQLStore,
): Promise<void> {
  for (const sid of ["marked-1", "marked-2"]) {
    await destroyer.set(sid, sessionFor({ user: "zoe", writer: "before" }));
  }
  assert.equal(await destroyer.destroyUser("zoe"), 2);
  await late.set("marked-1", sessionFor({ user: "zoe", writer: "late" }));
  await late.touch("marked-2", sessionFor({ user: "zoe" }, 60_000, 3_600_000));
  assert.equal(await late.get("marked-1"), null);
  assert.equal(await late.countOf("zoe"), 0);
  for (const port of db.cluster.nodePorts) {
    const rows = await select<{ sid: string; destroyed: number; user_id: string | null }>(
      db.node(port),
      `SELECT sid, destroyed, user_id FROM \`${destroyer.tableName}\` ` +
        "WHERE sid IN ('marked-1', 'marked-2') ORDER BY sid",
    );
    assert.deepEqual(
      rows.map((row) => [row.sid, Number(row.destroyed), row.user_id]),
      [["marked-1", 1, null], ["marked-2", 1, null]],
      `node on port ${port}`,
    );
  }
}

/**
 * Two stores on two members write (`kind`: touch, save or destroy) the same 40 sessions, 300
 * writes each per run, 5 runs, on pools of 3 connections so that the writes go out in batches. On
 * a cluster, two batches writing the same rows conflict (Galera: a certification failure, 1213;
 * Group Replication multi-primary: 3101); each write of a batch the server rolled back is sent
 * again, so none fails. Touches and saves: every node ends with every session at the last run's
 * expiry (saves: and the last run's data). Destroys (the sessions saved again before each run):
 * each run ends each session exactly once across both members (40 answered true), and every node
 * ends with 40 markers. Resolves to the batches sent and the writes resent.
 */
export async function assertBatchedWritesFromTwo(
  db: ClusterDatabase,
  ports: readonly [number, number],
  kind: "touch" | "set" | "destroy",
): Promise<{ batches: number; retries: number }> {
  const tablename = { touch: "touched", set: "saved", destroy: "ended" }[kind];
  const stores = ports.map((port) =>
    new KnexMySQLStore({ knex: db.connect(port, true, 3), tablename, clearInterval: 0 })
  );
  const sids = Array.from({ length: 40 }, (_, i) => `${tablename}-${i}`);
  const hour = 3_600_000;
  const write = (store: KnexMySQLStore, sid: string, run: number) =>
    kind === "destroy"
      ? store.destroy(sid)
      : store[kind](sid, sessionFor({ sid, run }, 60_000, run * hour));
  try {
    await Promise.all(stores.map((store) => store.ready));
    for (let run = 1; run <= 5; run++) {
      if (run === 1 || kind === "destroy") {
        // A fresh session each (a destroyed id's marker is replaced by root: a save keeps it).
        await db.node(ports[0]).raw(`DELETE FROM ${tablename}`);
        for (const sid of sids) await stores[0]!.set(sid, sessionFor({ sid }));
      }
      const outcomes = await Promise.allSettled(
        stores.flatMap((store, node) =>
          Array.from(
            { length: 300 },
            (_, i) => write(store, sids[(i * 7 + node * 13) % sids.length]!, run),
          )
        ),
      );
      const failed = outcomes.filter((outcome) => outcome.status === "rejected");
      assert.deepEqual(
        failed.map((outcome) => String((outcome as PromiseRejectedResult).reason)),
        [],
        `run ${run}`,
      );
      if (kind === "destroy") {
        const ended = outcomes.filter((outcome) => (outcome as { value?: unknown }).value === true);
        assert.equal(ended.length, sids.length, `run ${run}: each session ended once`);
      }
    }
    const seen: string[] = [];
    for (const port of db.cluster.nodePorts) {
      const rows = await select<{ sid: string; sess: unknown; left_s: number; destroyed: number }>(
        db.node(port),
        "SELECT sid, sess, destroyed, TIMESTAMPDIFF(SECOND, UTC_TIMESTAMP(), expired) AS left_s " +
          `FROM ${tablename} ORDER BY sid`,
      );
      assert.equal(rows.length, sids.length);
      for (const row of rows) {
        assert.equal(Number(row.destroyed), kind === "destroy" ? 1 : 0, `node ${port}`);
        // A marker keeps its session's expiry.
        if (kind === "destroy") continue;
        assert.ok(Number(row.left_s) > 5 * 3_600 - 120, `node ${port}: ${row.left_s} s left`);
      }
      const data = rows.map(({ sid, sess }) => {
        const session = typeof sess === "string" ? JSON.parse(sess) : sess;
        return `${sid}:${(session as { run?: number }).run ?? "-"}`;
      });
      if (kind === "set") assert.ok(data.every((item) => item.endsWith(":5")), data.join(" "));
      seen.push(data.join(" "));
    }
    assert.deepEqual(seen.slice(1), [seen[0], seen[0]], "the nodes disagree");
    const batches = stores.reduce((sum, store) => sum + store.stats()[`${kind}Batches`], 0);
    assert.ok(batches > 0, `no ${kind} went out with others: the test did not test batches`);
    return { batches, retries: stores.reduce((sum, store) => sum + store.stats().retries, 0) };
  } finally {
    await Promise.all(stores.map((store) => store.close()));
  }
}
