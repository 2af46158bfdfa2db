// Cleanup with many app instances on one Galera Cluster: GET_LOCK is node-local there, so the
// store cannot elect one sweeper. What must hold instead: every expired row is deleted exactly
// once (no sweep repeats another's work), live sessions stay, and the sweepers' collisions end
// quietly (no error reaches onDbCleanupError).
import { after, before, describe, test } from "node:test";
import { assertSweptOnce, describeSweep, sweepWithInstances } from "../helpers/cluster_checks.ts";
import { type ClusterDatabase, createClusterDatabase, NODE_PORTS } from "./cluster.ts";

describe("cleanup with many instances on a Galera Cluster", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("cluster_cleanup");
  });
  after(() => db?.drop());

  test("9 instances on 3 nodes sweep 50000 expired sessions", async (t) => {
    const outcome = await sweepWithInstances(db, [...NODE_PORTS, ...NODE_PORTS, ...NODE_PORTS]);
    t.diagnostic(describeSweep(outcome));
    assertSweptOnce(outcome);
  });
});
