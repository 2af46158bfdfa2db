// The 3-node Galera Cluster that scripts/cluster.sh runs on loopback, as the Galera suite sees
// it: node ports, HAProxy's port, a database per test file, knex instances per node.
import * as cluster from "../helpers/cluster.ts";

export { type ClusterDatabase, select } from "../helpers/cluster.ts";

const GALERA: cluster.Cluster = {
  engine: "Galera",
  script: "cluster.sh",
  nodePorts: [3311, 3312, 3313],
  // Every connection goes to the first Synced node.
  routerPort: 3310,
  // Reads wait until the node has applied every write the cluster committed before them.
  readYourWrites: "SET SESSION wsrep_sync_wait = 1",
};

/** SQL ports of node1, node2, node3. */
export const NODE_PORTS = GALERA.nodePorts;
/** HAProxy: every connection goes to the first Synced node. */
export const HAPROXY_PORT = GALERA.routerPort;

/** Runs `scripts/cluster.sh <args>`; rejects with its output when it fails. */
export function clusterScript(...args: string[]): Promise<string> {
  return cluster.clusterScript(GALERA, ...args);
}

/** A fresh database on the cluster for one test file; call drop() in an `after` hook. */
export function createClusterDatabase(label: string): Promise<cluster.ClusterDatabase> {
  return cluster.createClusterDatabase(GALERA, label);
}
