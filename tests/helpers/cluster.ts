// A 3-node cluster on loopback as the cluster suites see it (Galera through scripts/cluster.sh,
// Group Replication through scripts/gr-cluster.sh): its script, node ports, the router's port,
// the setting that gives read-your-writes across nodes, a database per test file, knex instances
// per port.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import knex, { type Knex } from "knex";
import { everyConnectionRuns } from "./database.ts";

export interface Cluster {
  /** The engine's name, for test titles. */
  engine: string;
  /** The script in scripts/ that runs it. */
  script: string;
  /** SQL ports of node1, node2, node3. */
  nodePorts: readonly [number, number, number];
  /** HAProxy's port: connections reach the node that takes writes. */
  routerPort: number;
  /** What each connection runs first so that its reads see every write committed before. */
  readYourWrites: string;
}

const run = promisify(execFile);

/** Runs `scripts/<script> <args>`; rejects with its output when it fails. */
export async function clusterScript(cluster: Cluster, ...args: string[]): Promise<string> {
  const path = fileURLToPath(new URL(`../../scripts/${cluster.script}`, import.meta.url));
  try {
    const { stdout } = await run("bash", [path, ...args], { timeout: 180_000 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${cluster.script} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

export function urlFor(port: number, database: string): string {
  return `mysql://root@127.0.0.1:${port}/${database}`;
}

/**
 * A knex instance on one port, of at most `connections`. With `consistent` (the default) every
 * pooled connection runs the cluster's read-your-writes setting when it is created.
 */
function clusterKnex(
  cluster: Cluster,
  port: number,
  database: string,
  consistent = true,
  connections = 10,
): Knex {
  return knex({
    client: "mysql2",
    connection: urlFor(port, database),
    ...(consistent
      ? everyConnectionRuns(cluster.readYourWrites, connections)
      : { pool: { min: 0, max: connections } }),
  });
}

export interface ClusterDatabase {
  name: string;
  cluster: Cluster;
  /**
   * A new knex instance on `port` (read-your-writes on unless told; a pool of 10 unless told),
   * destroyed by drop().
   */
  connect(port: number, consistent?: boolean, connections?: number): Knex;
  /** The test's own knex instance on `port` (read-your-writes on), to check what it holds. */
  node(port: number): Knex;
  /** Drops the database and destroys every knex instance made by connect(). */
  drop(): Promise<void>;
}

/** A fresh database on the cluster for one test file; call drop() in an `after` hook. */
export async function createClusterDatabase(
  cluster: Cluster,
  label: string,
): Promise<ClusterDatabase> {
  const name = `kms_${label}_${randomBytes(4).toString("hex")}`;
  const instances: Knex[] = [];
  const connect = (port: number, consistent = true, connections = 10) => {
    const instance = clusterKnex(cluster, port, name, consistent, connections);
    instances.push(instance);
    return instance;
  };
  const admin = clusterKnex(cluster, cluster.routerPort, "");
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
    cluster,
    connect,
    node,
    async drop() {
      const dropper = clusterKnex(cluster, cluster.routerPort, "");
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
