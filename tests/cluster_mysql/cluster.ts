// The 3-node Group Replication cluster that scripts/gr-cluster.sh runs on loopback, as the
// MySQL cluster suite sees it: member ports, HAProxy's port (always the primary), a database
// per test file, knex instances per member.
import * as cluster from "../helpers/cluster.ts";

export { type ClusterDatabase, parseSess, select } from "../helpers/cluster.ts";

export const GROUP_REPLICATION: cluster.Cluster = {
  engine: "Group Replication",
  script: "gr-cluster.sh",
  nodePorts: [3331, 3332, 3333],
  // Only the member that is ONLINE and PRIMARY passes HAProxy's check.
  routerPort: 3330,
  // A read first waits until the member has applied every transaction the group committed.
  readYourWrites: "SET SESSION group_replication_consistency = 'BEFORE'",
};

/** SQL ports of node1, node2, node3. */
export const NODE_PORTS = GROUP_REPLICATION.nodePorts;
/** HAProxy: every connection goes to the primary. */
export const ROUTER_PORT = GROUP_REPLICATION.routerPort;

/** Runs `scripts/gr-cluster.sh <args>`; rejects with its output when it fails. */
export function clusterScript(...args: string[]): Promise<string> {
  return cluster.clusterScript(GROUP_REPLICATION, ...args);
}

/** A fresh database on the cluster for one test file; call drop() in an `after` hook. */
export function createClusterDatabase(label: string): Promise<cluster.ClusterDatabase> {
  return cluster.createClusterDatabase(GROUP_REPLICATION, label);
}

/** The SQL ports of the current primary and of the two secondaries. */
export async function roles(): Promise<{ primary: number; secondaries: number[] }> {
  const primary = Number((await clusterScript("primary")).trim());
  return { primary, secondaries: NODE_PORTS.filter((port) => port !== primary) };
}
