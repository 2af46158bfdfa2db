// Writes on a Group Replication cluster: one session written at once by two app instances
// through HAProxy; reads on a secondary right after a write on the primary, with
// group_replication_consistency = BEFORE (read-your-writes) and without it (counted); a planned
// primary switch under writes (the demoted primary refuses with errno 1290, the store resends on
// a fresh connection); certification conflicts in multi-primary mode (errno 3101, resent).
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore, type RetryEvent } from "../../mod.ts";
import {
  assertBatchedWritesFromTwo,
  assertMarkersReplicate,
  marksOnEveryNode,
} from "../helpers/cluster_checks.ts";
import { sessionFor } from "../helpers/sessions.ts";
import {
  type ClusterDatabase,
  createClusterDatabase,
  NODE_PORTS,
  roles,
  ROUTER_PORT,
  routerOnPrimary,
  select,
} from "./cluster.ts";

describe("writes on a Group Replication cluster", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("gr_writes");
  });
  after(() => db?.drop());

  /** `count` writes of `sid` from each store at once; the rejected ones' reasons. */
  async function concurrentWrites(stores: KnexMySQLStore[], sid: string, count: number) {
    const outcomes = await Promise.allSettled(
      stores.flatMap((store, writer) =>
        Array.from(
          { length: count },
          (_, round) => store.set(sid, sessionFor({ writer: `app${writer + 1}`, round })),
        )
      ),
    );
    return outcomes.flatMap((outcome) =>
      outcome.status === "rejected" ? [String(outcome.reason)] : []
    );
  }

  test("300 + 300 concurrent writes to one session through HAProxy: 0 errors", async () => {
    const stores = [1, 2].map(() =>
      new KnexMySQLStore({ knex: db.connect(ROUTER_PORT), clearInterval: 0 })
    );
    try {
      await Promise.all(stores.map((store) => store.ready));
      for (let run = 1; run <= 3; run++) {
        assert.deepEqual(await concurrentWrites(stores, "hot", 300), [], `run ${run}`);
        const marks = await marksOnEveryNode(db, "hot");
        assert.ok(marks[0]);
        assert.deepEqual(marks.slice(1), [marks[0], marks[0]], `run ${run}: the members disagree`);
      }
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  test("read-your-writes on a secondary with group_replication_consistency = BEFORE", async (t) => {
    const { secondaries } = await roles();
    const writer = new KnexMySQLStore({ knex: db.connect(ROUTER_PORT), clearInterval: 0 });
    const reader = new KnexMySQLStore({
      knex: db.connect(secondaries[0]!),
      createtable: false,
      clearInterval: 0,
    });
    // The control: the same reads on the other secondary with the default, EVENTUAL.
    const eventual = new KnexMySQLStore({
      knex: db.connect(secondaries[1]!, false),
      createtable: false,
      clearInterval: 0,
    });
    try {
      await writer.ready;
      const writes = 300;
      let stale = 0;
      let eventualStale = 0;
      for (let i = 0; i < writes; i++) {
        const sid = `ryw-${i % 30}`;
        await writer.set(sid, sessionFor({ i }));
        const [consistent, control] = await Promise.all([reader.get(sid), eventual.get(sid)]);
        if ((consistent as { i?: number } | null)?.i !== i) stale++;
        if ((control as { i?: number } | null)?.i !== i) eventualStale++;
      }
      t.diagnostic(
        `${writes} writes on the primary, read at once on secondaries: ${stale} stale with ` +
          `BEFORE, ${eventualStale} stale with EVENTUAL`,
      );
      assert.equal(stale, 0);
    } finally {
      await Promise.all([writer.close(), reader.close(), eventual.close()]);
    }
  });

  /** Writes from `stores` (16 sessions, one after another each) until `stop()`; the failures. */
  async function writeUntil(stores: KnexMySQLStore[], stop: () => boolean) {
    const failures: string[] = [];
    let acknowledged = 0;
    await Promise.all(Array.from({ length: 16 }, async (_, i) => {
      const store = stores[i % stores.length]!;
      for (let round = 0; !stop(); round++) {
        try {
          await store.set(`switch-${i}`, sessionFor({ writer: `s${i}`, round }));
          acknowledged++;
        } catch (error) {
          failures.push(String(error));
        }
      }
    }));
    return { failures, acknowledged };
  }

  test("a planned primary switch under writes: 0 failed writes", async (t) => {
    const store = new KnexMySQLStore({ knex: db.connect(ROUTER_PORT), clearInterval: 0 });
    const admin = db.node(ROUTER_PORT);
    try {
      await store.ready;
      const { primary, secondaries } = await roles();
      const [next] = await select<{ id: string }>(
        admin,
        "SELECT MEMBER_ID AS id FROM performance_schema.replication_group_members " +
          "WHERE MEMBER_PORT = ?",
        [secondaries[0]],
      );
      let stopped = false;
      const load = writeUntil([store], () => stopped);
      await sleep(1_000);
      await admin.raw("SELECT group_replication_set_as_primary(?)", [next!.id]);
      await sleep(4_000);
      stopped = true;
      const { failures, acknowledged } = await load;
      t.diagnostic(
        `primary ${primary} → ${secondaries[0]}: ${acknowledged} writes acknowledged, ` +
          `${failures.length} failed, ${store.stats().retries} resent`,
      );
      assert.deepEqual(failures, []);
      assert.equal((await roles()).primary, secondaries[0]);
      await routerOnPrimary();
    } finally {
      await store.close();
    }
  });

  test("multi-primary mode: conflicting writes, batched touches, saves and destroys on two members (errno 3101) are resent", async (t) => {
    const admin = db.node(ROUTER_PORT);
    const { primary } = await roles();
    // The owners' table is installed on the primary first: DDL from two members at once in
    // multi-primary mode is not safe.
    for (const tablename of ["by_user", "touched", "saved", "ended"]) {
      const installer = new KnexMySQLStore({
        knex: db.connect(ROUTER_PORT),
        tablename,
        clearInterval: 0,
      });
      await installer.ready;
      await installer.close();
    }
    await admin.raw("SELECT group_replication_switch_to_multi_primary_mode()");
    const stores = NODE_PORTS.slice(0, 2).map((port) =>
      new KnexMySQLStore({ knex: db.connect(port), clearInterval: 0 })
    );
    const errnos = new Map<unknown, number>();
    for (const store of stores) {
      store.on("retry", (event: RetryEvent) => {
        const errno = (event.error as { errno?: number }).errno;
        errnos.set(errno, (errnos.get(errno) ?? 0) + 1);
      });
    }
    try {
      await Promise.all(stores.map((store) => store.ready));
      assert.deepEqual(await concurrentWrites(stores, "contested", 300), []);
      const marks = await marksOnEveryNode(db, "contested");
      assert.deepEqual(marks.slice(1), [marks[0], marks[0]], "the members disagree");
      t.diagnostic(`resent after errno: ${JSON.stringify([...errnos])}`);
      assert.ok(errnos.get(3101), "no certification conflict happened: nothing was tested");
      // Touches, saves and destroys of the same sessions from both members, in batches: each
      // conflict resent.
      for (
        const [kind, writes] of [["touch", "touches"], ["set", "saves"], [
          "destroy",
          "destroys",
        ]] as const
      ) {
        const written = await assertBatchedWritesFromTwo(db, [NODE_PORTS[0], NODE_PORTS[1]], kind);
        t.diagnostic(`${written.batches} ${kind} batches; ${written.retries} ${writes} resent`);
      }
      // A log out everywhere on one member, a late save on the other: the markers hold.
      const owners = NODE_PORTS.slice(0, 2).map((port) =>
        new KnexMySQLStore({
          knex: db.connect(port),
          tablename: "by_user",
          createtable: false,
          clearInterval: 0,
          userId: (session) => (session as unknown as { user?: string }).user,
        })
      );
      stores.push(...owners);
      await Promise.all(owners.map((store) => store.ready));
      await assertMarkersReplicate(db, owners[0]!, owners[1]!);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
      const [member] = await select<{ id: string }>(
        admin,
        "SELECT MEMBER_ID AS id FROM performance_schema.replication_group_members " +
          "WHERE MEMBER_PORT = ?",
        [primary],
      );
      await admin.raw("SELECT group_replication_switch_to_single_primary_mode(?)", [member!.id]);
      await routerOnPrimary();
    }
  });
});
