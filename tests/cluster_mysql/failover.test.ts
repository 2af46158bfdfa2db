// kill -9 of the primary under HTTP load through HAProxy: the group elects a new primary,
// HAProxy's check finds it, requests go on; failed requests are counted and the time to recover
// printed; no acknowledged session write is lost on either surviving member; the killed member
// restarts and rejoins (distributed recovery) with the same data as the others.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import {
  assertNothingLost,
  countsOn,
  describeOutcome,
  loadThroughKill,
} from "../helpers/failover_load.ts";
import {
  type ClusterDatabase,
  clusterScript,
  createClusterDatabase,
  NODE_PORTS,
  roles,
  ROUTER_PORT,
} from "./cluster.ts";

describe("failover of the primary through HAProxy", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("gr_failover");
  });
  after(async () => {
    await clusterScript("start"); // whatever happened, leave three members running
    await db?.drop();
  });

  test("kill -9 of the primary under load: nothing acknowledged is lost", async (t) => {
    const store = new KnexMySQLStore({ knex: db.connect(ROUTER_PORT), clearInterval: 0 });
    try {
      await store.ready;
      const { primary, secondaries } = await roles();
      const killed = NODE_PORTS.indexOf(primary as never) + 1;
      const outcome = await loadThroughKill(store, {
        sessions: 16,
        before: 2_000,
        after: 15_000,
        kill: () => clusterScript("kill", String(killed)),
      });
      t.diagnostic(`killed node${killed} (port ${primary}), the primary`);
      for (const line of describeOutcome(outcome, store.stats().retries)) t.diagnostic(line);
      t.diagnostic(`new primary: port ${(await roles()).primary}`);
      await assertNothingLost(db, outcome, secondaries);

      const survivors = await Promise.all(secondaries.map((port) => countsOn(db, port)));
      assert.deepEqual(survivors[1], survivors[0], "the surviving members differ");
      const rejoinStart = Date.now();
      await clusterScript("start-node", String(killed));
      t.diagnostic(`node${killed} rejoined, ONLINE in ${(Date.now() - rejoinStart) / 1000} s`);
      assert.match(await clusterScript("status"), new RegExp(`node${killed}: .* ONLINE SECONDARY`));
      assert.deepEqual(await countsOn(db, primary), survivors[0], "the rejoined member differs");
    } finally {
      await store.close();
    }
  });
});
