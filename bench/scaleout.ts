// Scale-out: session operations per second on 1 node against 3 nodes of a cluster, for a
// read-heavy mix (90% get, 10% set) and a write-heavy one (10% get, 90% set), with and without
// the engine's read-your-writes setting. Start the cluster first (scripts/cluster.sh start or
// scripts/gr-cluster.sh start), then:
//
//   node --import tsx bench/scaleout.ts --engine galera|gr [--seconds 6] [--workers 24]
//
// 1 node: every operation goes through HAProxy to one node. 3 nodes: Galera takes reads and
// writes on every node (each worker keeps to one node, as an app instance would); Group
// Replication takes writes only on the primary (through HAProxy) and reads on all three
// members. Prints a markdown table; writes the raw figures to bench/results/.
import type { SessionData } from "express-session";
import knex, { type Knex } from "knex";
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import { KnexMySQLStore } from "../mod.ts";

const ENGINES = {
  galera: {
    nodePorts: [3311, 3312, 3313],
    routerPort: 3310,
    readYourWrites: "SET SESSION wsrep_sync_wait = 1",
    setting: "wsrep_sync_wait=1",
    /** Every node takes writes (Galera), or only the one behind the router (GR). */
    writesEverywhere: true,
  },
  gr: {
    nodePorts: [3331, 3332, 3333],
    routerPort: 3330,
    readYourWrites: "SET SESSION group_replication_consistency = 'BEFORE'",
    setting: "group_replication_consistency=BEFORE",
    writesEverywhere: false,
  },
};

const [seconds, workers] = [{ type: "string", default: "6" }, {
  type: "string",
  default: "24",
}] as const;
const { values } = parseArgs({ options: { engine: { type: "string" }, seconds, workers } });
const engine = ENGINES[values.engine as keyof typeof ENGINES];
if (!engine) {
  console.error("usage: node --import tsx bench/scaleout.ts --engine galera|gr");
  process.exit(2);
}
const SECONDS = Number(values.seconds);
const WORKERS = Number(values.workers);
const SESSIONS_PER_WORKER = 50;
const DATABASE = "kms_scaleout";

function connect(port: number, database: string, consistent = false): Knex {
  type Connection = { query(sql: string, done: (error: Error | null) => void): void };
  const afterCreate = (connection: Connection, done: (e: Error | null, c: unknown) => void) =>
    connection.query(engine.readYourWrites, (error) => done(error, connection));
  return knex({
    client: "mysql2",
    connection: `mysql://root@127.0.0.1:${port}/${database}`,
    pool: { min: 0, max: 12, ...(consistent && { afterCreate }) },
  });
}

function session(data: Record<string, unknown>): SessionData {
  const cookie = { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) };
  return { cookie, user: "bench", ...data } as unknown as SessionData;
}

async function measure(nodes: 1 | 3, getShare: number, consistent: boolean) {
  const opened: { instance: Knex; made: KnexMySQLStore }[] = [];
  const store = (port: number) => {
    const instance = connect(port, DATABASE, consistent);
    const made = new KnexMySQLStore({ knex: instance, createtable: false, clearInterval: 0 });
    opened.push({ instance, made });
    return made;
  };
  const router = store(engine.routerPort);
  // Where each worker's gets and sets go.
  const lanes = nodes === 1
    ? [{ reader: router, writer: router }]
    : engine.nodePorts.map(store).map((local) => ({
      reader: local,
      writer: engine.writesEverywhere ? local : router,
    }));
  let operations = 0;
  let errors = 0;
  const until = performance.now() + SECONDS * 1000;
  await Promise.all(Array.from({ length: WORKERS }, async (_, worker) => {
    const lane = lanes[worker % lanes.length]!;
    for (let i = 0; performance.now() < until; i++) {
      const sid = `w${worker}-${i % SESSIONS_PER_WORKER}`;
      try {
        if (Math.random() < getShare) await lane.reader.get(sid);
        else await lane.writer.set(sid, session({ worker, i }));
        operations++;
      } catch {
        errors++;
      }
    }
  }));
  await Promise.all(opened.map(({ made }) => made.close()));
  await Promise.all(opened.map(({ instance }) => instance.destroy()));
  const mix = getShare > 0.5 ? "read-heavy (90% get)" : "write-heavy (90% set)";
  const opsPerSecond = Math.round(operations / SECONDS);
  return { nodes, mix, readYourWrites: consistent, opsPerSecond, errors };
}

const admin = connect(engine.routerPort, "");
await admin.raw(`DROP DATABASE IF EXISTS ${DATABASE}`);
await admin.raw(`CREATE DATABASE ${DATABASE}`);
const installerKnex = connect(engine.routerPort, DATABASE);
const installer = new KnexMySQLStore({ knex: installerKnex, clearInterval: 0 });
for (let worker = 0; worker < WORKERS; worker++) {
  const sessions = Array.from({ length: SESSIONS_PER_WORKER }, (_, i) => session({ worker, i }));
  await Promise.all(sessions.map((data, i) => installer.set(`w${worker}-${i}`, data)));
}
await installer.close().then(() => installerKnex.destroy());

const cells = [];
for (const getShare of [0.9, 0.1]) {
  for (const consistent of [false, true]) {
    for (const nodes of [1, 3] as const) {
      cells.push(await measure(nodes, getShare, consistent));
      console.error(JSON.stringify(cells.at(-1)));
    }
  }
}
await admin.raw(`DROP DATABASE IF EXISTS ${DATABASE}`);
await admin.destroy();

console.log(`| mix | ${engine.setting} | 1 node (ops/s) | 3 nodes (ops/s) | 3 / 1 |`);
console.log("|---|---|---:|---:|---:|");
for (let i = 0; i < cells.length; i += 2) {
  const [one, three] = [cells[i]!, cells[i + 1]!];
  const ratio = (three.opsPerSecond / one.opsPerSecond).toFixed(2);
  const setting = one.readYourWrites ? "on" : "off";
  console.log(
    `| ${one.mix} | ${setting} | ${one.opsPerSecond} | ${three.opsPerSecond} | ${ratio} |`,
  );
}
const stamp = new Date().toISOString().replaceAll(":", "-").replace(".", "-");
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/scaleout-${values.engine}-${stamp}.json`, import.meta.url),
  JSON.stringify({ engine: values.engine, seconds: SECONDS, workers: WORKERS, cells }, null, 2),
);
