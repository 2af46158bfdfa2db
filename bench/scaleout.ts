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
import { mkdirSync, writeFileSync } from "node:fs";
import process from "node:process";
import { parseArgs } from "node:util";
import knex, { type Knex } from "knex";
import type { SessionData } from "express-session";
import { KnexMySQLStore } from "../src/store.ts";

interface Engine {
  nodePorts: number[];
  routerPort: number;
  readYourWrites: string;
  /** Whether every node takes writes (Galera) or only the one behind the router (GR). */
  writesEverywhere: boolean;
}

const ENGINES: Record<string, Engine> = {
  galera: {
    nodePorts: [3311, 3312, 3313],
    routerPort: 3310,
    readYourWrites: "SET SESSION wsrep_sync_wait = 1",
    writesEverywhere: true,
  },
  gr: {
    nodePorts: [3331, 3332, 3333],
    routerPort: 3330,
    readYourWrites: "SET SESSION group_replication_consistency = 'BEFORE'",
    writesEverywhere: false,
  },
};

const { values } = parseArgs({
  options: {
    engine: { type: "string" },
    seconds: { type: "string", default: "6" },
    workers: { type: "string", default: "24" },
  },
});
const engine = ENGINES[values.engine ?? ""];
if (!engine) {
  console.error("usage: node --import tsx bench/scaleout.ts --engine galera|gr");
  process.exit(2);
}
const SECONDS = Number(values.seconds);
const WORKERS = Number(values.workers);
const SESSIONS_PER_WORKER = 50;
const DATABASE = "kms_scaleout";

function connect(port: number, database: string, consistent: boolean): Knex {
  return knex({
    client: "mysql2",
    connection: `mysql://root@127.0.0.1:${port}/${database}`,
    pool: {
      min: 0,
      max: 12,
      ...(consistent && {
        afterCreate(
          connection: { query: (sql: string, done: (error: Error | null) => void) => void },
          done: (error: Error | null, connection: unknown) => void,
        ) {
          connection.query(engine!.readYourWrites, (error) => done(error, connection));
        },
      }),
    },
  });
}

function session(data: Record<string, unknown>): SessionData {
  return {
    cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.now() + 3_600_000) },
    user: "bench",
    ...data,
  } as unknown as SessionData;
}

/** Where a worker's gets and sets go. */
interface Lane {
  reader: KnexMySQLStore;
  writer: KnexMySQLStore;
}

interface Cell {
  nodes: 1 | 3;
  mix: string;
  readYourWrites: boolean;
  opsPerSecond: number;
  errors: number;
}

async function measure(nodes: 1 | 3, getShare: number, consistent: boolean): Promise<Cell> {
  const instances: Knex[] = [];
  const stores: KnexMySQLStore[] = [];
  const store = (port: number) => {
    const instance = connect(port, DATABASE, consistent);
    instances.push(instance);
    const made = new KnexMySQLStore({ knex: instance, createtable: false, clearInterval: 0 });
    stores.push(made);
    return made;
  };
  const router = store(engine!.routerPort);
  const perNode = nodes === 3 ? engine!.nodePorts.map(store) : [];
  const lanes: Lane[] = nodes === 1
    ? [{ reader: router, writer: router }]
    : perNode.map((local) => ({
      reader: local,
      writer: engine!.writesEverywhere ? local : router,
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
  await Promise.all(stores.map((made) => made.close()));
  await Promise.all(instances.map((instance) => instance.destroy()));
  return {
    nodes,
    mix: getShare > 0.5 ? "read-heavy (90% get)" : "write-heavy (90% set)",
    readYourWrites: consistent,
    opsPerSecond: Math.round(operations / SECONDS),
    errors,
  };
}

async function prepare(): Promise<void> {
  const admin = connect(engine!.routerPort, "", false);
  await admin.raw(`DROP DATABASE IF EXISTS ${DATABASE}`);
  await admin.raw(`CREATE DATABASE ${DATABASE}`);
  await admin.destroy();
  const installerKnex = connect(engine!.routerPort, DATABASE, false);
  const installer = new KnexMySQLStore({ knex: installerKnex, clearInterval: 0 });
  for (let worker = 0; worker < WORKERS; worker++) {
    await Promise.all(Array.from(
      { length: SESSIONS_PER_WORKER },
      (_, i) => installer.set(`w${worker}-${i}`, session({ worker, i })),
    ));
  }
  await installer.close();
  await installerKnex.destroy();
}

await prepare();
const cells: Cell[] = [];
for (const getShare of [0.9, 0.1]) {
  for (const consistent of [false, true]) {
    for (const nodes of [1, 3] as const) {
      const cell = await measure(nodes, getShare, consistent);
      console.error(JSON.stringify(cell));
      cells.push(cell);
    }
  }
}
const cleanup = connect(engine.routerPort, "", false);
await cleanup.raw(`DROP DATABASE IF EXISTS ${DATABASE}`);
await cleanup.destroy();

const setting = values.engine === "gr"
  ? "group_replication_consistency=BEFORE"
  : "wsrep_sync_wait=1";
const lines = [
  `| mix | ${setting} | 1 node (ops/s) | 3 nodes (ops/s) | 3 / 1 |`,
  "|---|---|---:|---:|---:|",
];
for (let i = 0; i < cells.length; i += 2) {
  const [one, three] = [cells[i]!, cells[i + 1]!];
  lines.push(
    `| ${one.mix} | ${one.readYourWrites ? "on" : "off"} | ${one.opsPerSecond} | ` +
      `${three.opsPerSecond} | ${(three.opsPerSecond / one.opsPerSecond).toFixed(2)} |`,
  );
}
console.log(lines.join("\n"));
const stamp = new Date().toISOString().replaceAll(":", "-").replace(".", "-");
mkdirSync(new URL("./results/", import.meta.url), { recursive: true });
writeFileSync(
  new URL(`./results/scaleout-${values.engine}-${stamp}.json`, import.meta.url),
  JSON.stringify({ engine: values.engine, seconds: SECONDS, workers: WORKERS, cells }, null, 2),
);
