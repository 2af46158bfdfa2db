// Writes from several nodes: the same session written at once from two nodes (Galera makes one
// of them fail certification with errno 1213; the store resends it, as the server certainly
// rolled it back, until its deadline), and reads on one node right after a write on another
// (wsrep_sync_wait = 1, set per connection by knex's afterCreate).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import {
  assertBatchedWritesFromTwo,
  assertMarkersReplicate,
  marksOnEveryNode,
} from "../helpers/cluster_checks.ts";
import { sessionFor } from "../helpers/sessions.ts";
import { type ClusterDatabase, createClusterDatabase, NODE_PORTS } from "./cluster.ts";

describe("writes from several Galera nodes", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("cluster_writes");
  });
  after(() => db?.drop());

  test("one session written at once from two nodes: no error, the cluster agrees", async (t) => {
    const stores = [NODE_PORTS[0], NODE_PORTS[1]].map((port) =>
      new KnexMySQLStore({ knex: db.connect(port), clearInterval: 0 })
    );
    const [first, second] = stores as [KnexMySQLStore, KnexMySQLStore];
    try {
      await Promise.all(stores.map((store) => store.ready));
      const rounds = 150;
      for (let round = 1; round <= rounds; round++) {
        // Both calls must succeed: a lost certification race is retried, not reported.
        await Promise.all([
          first.set("contested", sessionFor({ writer: "node1", round })),
          second.set("contested", sessionFor({ writer: "node2", round })),
        ]);
        const marks = await marksOnEveryNode(db, "contested");
        assert.equal(marks[0]?.round, round);
        assert.ok(marks[0]?.writer === "node1" || marks[0]?.writer === "node2");
        assert.deepEqual(marks.slice(1), [marks[0], marks[0]], `round ${round}`);
      }
      const retries = first.stats().retries + second.stats().retries;
      t.diagnostic(`${rounds} rounds of 2 concurrent writes: ${retries} retries absorbed`);
      assert.ok(retries > 0, "no write conflict happened: the test did not test anything");

      // Writes one after the other, alternating nodes: the last acknowledged one wins everywhere.
      for (let round = 1; round <= 20; round++) {
        const writer = round % 2 ? "node1" : "node2";
        await (round % 2 ? first : second).set("contested", sessionFor({ writer, round }));
        assert.deepEqual(
          (await marksOnEveryNode(db, "contested")).map((mark) => [mark?.writer, mark?.round]),
          Array(3).fill([writer, round]),
        );
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test("300 + 300 concurrent writes to one session from two nodes: 0 errors, 5 runs in a row", async (t) => {
    const stores = [NODE_PORTS[0], NODE_PORTS[1]].map((port) =>
      new KnexMySQLStore({ knex: db.connect(port), clearInterval: 0 })
    );
    try {
      await Promise.all(stores.map((store) => store.ready));
      for (let run = 1; run <= 5; run++) {
        const outcomes = await Promise.allSettled(
          stores.flatMap((store, node) =>
            Array.from(
              { length: 300 },
              (_, i) =>
                store.set("hot", sessionFor({ writer: `node${node + 1}`, round: run * 1000 + i })),
            )
          ),
        );
        const failed = outcomes.filter((outcome) => outcome.status === "rejected");
        const retries = stores.reduce((sum, store) => sum + store.stats().retries, 0);
        t.diagnostic(`run ${run}: ${failed.length} errors; ${retries} resends so far`);
        // Each conflict was rolled back, so it is resent until its deadline, not 3 times.
        assert.deepEqual(
          failed.map((outcome) => String((outcome as PromiseRejectedResult).reason)),
          [],
        );
        const marks = await marksOnEveryNode(db, "hot");
        assert.deepEqual(marks.slice(1), [marks[0], marks[0]], `run ${run}: the nodes disagree`);
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  for (
    const [kind, writes] of [["touch", "touches"], ["set", "saves"], [
      "destroy",
      "destroys",
    ]] as const
  ) {
    test(`batched ${writes} of the same sessions from two nodes: 0 errors, every node agrees`, async (t) => {
      const ports = [NODE_PORTS[0], NODE_PORTS[1]] as const;
      const { batches, retries } = await assertBatchedWritesFromTwo(db, ports, kind);
      t.diagnostic(`${batches} batches; ${retries} ${writes} resent after a conflict`);
    });
  }

  test("a user logged out everywhere from one node is logged out on every node", async () => {
    const stores = NODE_PORTS.map((port) =>
      new KnexMySQLStore({
        knex: db.connect(port),
        tablename: "by_user",
        clearInterval: 0,
        userId: (session) => (session as unknown as { user?: string }).user,
      })
    );
    try {
      await Promise.all(stores.map((store) => store.ready));
      // One session per node for the user, plus one of another user.
      for (const [i, store] of stores.entries()) {
        await store.set(`device-${i}`, sessionFor({ user: "hana" }));
      }
      await stores[0]!.set("other", sessionFor({ user: "ivo" }));
      for (const store of stores) assert.equal(await store.countOf("hana"), 3);
      assert.equal(await stores[1]!.destroyUser("hana", { except: "device-1" }), 2);
      for (const [i, store] of stores.entries()) {
        assert.deepEqual(
          (await store.sessionsOf("hana")).map((s) => s.id),
          ["device-1"],
          `node${i + 1}`,
        );
        assert.equal(await store.countOf("ivo"), 1);
      }
      // A save from node1 of a session it had written before the log-out does not bring it back.
      await stores[0]!.set("device-0", sessionFor({ user: "hana" }));
      for (const store of stores) assert.equal(await store.get("device-0"), null);
      // The markers replicate: ended on node2, saved late on node3 by a store that never read it.
      await assertMarkersReplicate(db, stores[1]!, stores[2]!);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test("read-your-writes across nodes with wsrep_sync_wait = 1", async (t) => {
    const writer = new KnexMySQLStore({ knex: db.connect(NODE_PORTS[0]), clearInterval: 0 });
    const reader = new KnexMySQLStore({ knex: db.connect(NODE_PORTS[1]), clearInterval: 0 });
    // The control: same reads on node3 without the setting.
    const unsynced = new KnexMySQLStore({
      knex: db.connect(NODE_PORTS[2], false),
      clearInterval: 0,
    });
    try {
      await Promise.all([writer.ready, reader.ready, unsynced.ready]);
      const writes = 500;
      let misses = 0;
      let unsyncedMisses = 0;
      for (let i = 0; i < writes; i++) {
        const sid = `ryw-${i % 50}`;
        await writer.set(sid, sessionFor({ i }));
        const [synced, control] = await Promise.all([reader.get(sid), unsynced.get(sid)]);
        if ((synced as { i?: number } | null)?.i !== i) misses++;
        if ((control as { i?: number } | null)?.i !== i) unsyncedMisses++;
      }
      t.diagnostic(
        `${writes} writes on node1, read at once on node2 (wsrep_sync_wait=1): ${misses} stale; ` +
          `on node3 (wsrep_sync_wait=0): ${unsyncedMisses} stale`,
      );
      assert.equal(misses, 0);
    } finally {
      await Promise.all([writer.close(), reader.close(), unsynced.close()]);
    }
  });
});
