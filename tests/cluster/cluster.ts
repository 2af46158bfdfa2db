// The 3-node Galera Cluster that scripts/cluster.sh runs on loopback, as the cluster tests see
// it: node ports, HAProxy's port, a database per test file, knex instances per node.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import knex, { type Knex } from "knex";

/** SQL ports of node1, node2, node3. */
export const NODE_PORTS = [3311, 3312, 3313] as const;
/** HAProxy: every connection goes to the first Synced node. */
export const HAPROXY_PORT = 3310;

const run = promisify(execFile);
const CLUSTER_SCRIPT = fileURLToPath(new URL("../../scripts/cluster.sh", import.meta.url));

/** Runs `scripts/cluster.sh <args>`; rejects with its output when it fails. */
export async function clusterScript(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run("bash", [CLUSTER_SCRIPT, ...args], { timeout: 180_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`cluster.sh ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

function urlFor(port: number, database: string): string {
  return `mysql://root@127.0.0.1:${port}/${database}`;
}

/**
 * A knex instance on one port. With `syncWait` (the default) every pooled connection sets
 * wsrep_sync_wait = 1 when it is created, so its reads see every write the cluster committed
 * before they started: read-your-writes across nodes.
 */
function clusterKnex(port: number, database: string, syncWait = true): Knex {
  return knex({
    client: "mysql2",
    connection: urlFor(port, database),
    pool: {
      min: 0,
      max: 10,
      ...(syncWait && {
        afterCreate(
          connection: { query: (sql: string, done: (error: Error | null) => void) => void },
          done: (error: Error | null, connection: unknown) => void,
        ) {
          connection.query("SET SESSION wsrep_sync_wait = 1", (error) => done(error, connection));
        },
      }),
    },
  });
}

export interface ClusterDatabase {
  name: string;
  /** A new knex instance on `port` (sync wait on unless told), destroyed by drop(). */
  connect(port: number, syncWait?: boolean): Knex;
  /** The test's own knex instance on `port` (sync wait on), to check what the node holds. */
  node(port: number): Knex;
  /** Drops the database and destroys every knex instance made by connect(). */
  drop(): Promise<void>;
}

/** A fresh database on the cluster for one test file; call drop() in an `after` hook. */
export async function createClusterDatabase(label: string): Promise<ClusterDatabase> {
  const name = `kms_${label}_${randomBytes(4).toString("hex")}`;
  const instances: Knex[] = [];
  const connect = (port: number, syncWait = true) => {
    const instance = clusterKnex(port, name, syncWait);
    instances.push(instance);
    return instance;
  };
  const admin = clusterKnex(NODE_PORTS[0], "");
  try {
    await admin.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await admin.destroy();
  }
  const nodes = new Map<number, Knex>();
  const node = (port: number) => {
    if (!nodes.has(port)) nodes.set(port, connect(port));
    return nodes.get(port)!;
  };
  return {
    name,
    connect,
    node,
    async drop() {
      const dropper = clusterKnex(HAPROXY_PORT, "");
      try {
        await dropper.raw(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await Promise.all([dropper, ...instances].map((instance) => instance.destroy()));
      }
    },
  };
}

/** The rows of a SELECT through knex.raw on mysql2. */
export async function select<Row>(db: Knex, sql: string, values: unknown[] = []): Promise<Row[]> {
  const [rows] = await db.raw(sql, values as Knex.RawBinding[]);
  return rows as Row[];
}

/** A session's data from a stored `sess` value (MariaDB returns it as a string). */
export function parseSess<T>(sess: unknown): T {
  return (typeof sess === "string" ? JSON.parse(sess) : sess) as T;
}
