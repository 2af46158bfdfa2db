// Cleanup with many app instances on one Group Replication cluster. In single-primary mode
// every instance writes through HAProxy to the primary (a secondary refuses writes), where
// colliding sweeps wait on row locks instead of failing certification. What must hold: every
// expired row is deleted exactly once, live sessions stay on every member, and no error reaches
// onDbCleanupError.
import { after, before, describe, test } from "node:test";
import { assertSweptOnce, describeSweep, sweepWithInstances } from "../helpers/cluster_checks.ts";
import { type ClusterDatabase, createClusterDatabase, ROUTER_PORT } from "./cluster.ts";

describe("cleanup with many instances on a Group Replication cluster", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("gr_cleanup");
  });
  after(() => db?.drop());

  test("9 instances through HAProxy sweep 50000 expired sessions", async (t) => {
    const outcome = await sweepWithInstances(db, Array(9).fill(ROUTER_PORT));
    t.diagnostic(describeSweep(outcome));
    assertSweptOnce(outcome);
  });
});
