// The 3-node Group Replication cluster that scripts/gr-cluster.sh runs on loopback, as the
// MySQL cluster suite sees it: member ports, HAProxy's port (always the primary), a database
// per test file, knex instances per member.
import { setTimeout as sleep } from "node:timers/promises";
import mysql from "mysql2/promise";
import * as cluster from "../helpers/cluster.ts";

export { type ClusterDatabase, select } from "../helpers/cluster.ts";

const GROUP_REPLICATION: cluster.Cluster = {
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

/**
 * A fresh database on the cluster for one test file, once HAProxy has settled on the primary
 * (an earlier file may have moved it); call drop() in an `after` hook.
 */
export async function createClusterDatabase(label: string): Promise<cluster.ClusterDatabase> {
  await routerOnPrimary();
  return await cluster.createClusterDatabase(GROUP_REPLICATION, label);
}

/** The SQL ports of the current primary and of the two secondaries. */
export async function roles(): Promise<{ primary: number; secondaries: number[] }> {
  const primary = Number((await clusterScript("primary")).trim());
  return { primary, secondaries: NODE_PORTS.filter((port) => port !== primary) };
}

/** Whether a new connection through HAProxy reaches a writable member. */
async function routerWritable(): Promise<boolean> {
  const connection = await mysql.createConnection(cluster.urlFor(ROUTER_PORT, ""))
    .catch(() => undefined);
  if (!connection) return false;
  try {
    const [rows] = await connection.query("SELECT @@super_read_only AS readOnly");
    return (rows as { readOnly?: number }[])[0]?.readOnly === 0;
  } finally {
    await connection.end();
  }
}

/**
 * Waits (30 s at most) until HAProxy sends new connections only to a writable member: after a
 * change of primary its check needs a few seconds to follow. Six connections in a row (HAProxy
 * takes its healthy servers in turn, three at most) must all reach one.
 */
export async function routerOnPrimary(): Promise<void> {
  for (let waited = 0, inARow = 0; waited < 30_000; waited += 250) {
    inARow = (await routerWritable()) ? inARow + 1 : 0;
    if (inARow === 6) return;
    await sleep(250);
  }
  throw new Error("HAProxy still sends connections to a read-only member after 30 s");
}
