// `npm run bench`: store level, HTTP level, scale and sweep, memory, on the server of MYSQL_URL
// or --url (MariaDB or MySQL); prints its tables (Markdown) and writes them, with the results
// as JSON (every round of every measurement, the summaries and the targets), to bench/results/.
// See --help.
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname } from "node:path";
import process from "node:process";
import { createBenchDatabase, root, serverKind } from "./database.ts";
import { runHttpLevel } from "./http-level.ts";
import { HELP, parseOptions } from "./options.ts";
import { Payload } from "./payload.ts";
import { note } from "./progress.ts";
import { report } from "./report.ts";
import { runScale } from "./scale.ts";
import { runStoreLevel } from "./store-level.ts";
import { evaluateTargets, type Measurement, summarizeRun } from "./summary.ts";

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  if (options === "help") return console.log(HELP);
  // Results keep the options but the server's URL: it may hold a password.
  const { mysqlUrl: _, ...shown } = options;
  const db = await createBenchDatabase(options.mysqlUrl);
  note(`database ${db.name}; options ${JSON.stringify(shown)}`);
  const payload = new Payload(options.payload);
  const cpus = os.cpus();
  const machine = {
    cpu: `${cpus.length} x ${cpus[0]?.model ?? "unknown"}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    server: db.version,
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
  const raw = { store: [] as Measurement[], http: [] as Measurement[], scale: [] as Measurement[] };
  const phase = (name: string) => (options.phases as string[]).includes(name);
  let memory: Record<string, number> = {};
  let scaled: Awaited<ReturnType<typeof runScale>> | undefined;
  try {
    if (phase("store")) raw.store = await runStoreLevel(db, options, payload);
    if (phase("http")) ({ http: raw.http, memory } = await runHttpLevel(options, db.url));
    if (phase("scale") && options.adapters.includes("ours")) {
      scaled = await runScale(db, options, payload);
      raw.scale = scaled.scale;
    }
  } finally {
    await db.drop();
  }
  const summary = summarizeRun(raw, memory, scaled?.sweep);
  const date = new Date().toISOString();
  const results = {
    date,
    machine,
    options: shown,
    targets: evaluateTargets(summary, options),
    summary: { ...summary, bufferPool: scaled?.bufferPool },
    raw: { ...raw, memory },
  };
  // e.g. full-mariadb-2026-11-27T09-52-36-288Z.json
  const name = `${options.quick ? "quick" : "full"}-${serverKind(db.version)}-${date}`;
  const out = options.out ?? `${root}bench/results/${name.replace(/[:.]/g, "-")}.json`;
  const markdown = out.replace(/(\.json)?$/, ".md");
  const tables = report(results);
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(markdown, tables);
  console.log(`${tables}\nresults: ${out}, ${markdown}`);
  const failures = [...raw.store, ...raw.http, ...raw.scale, ...(scaled ? [scaled.sweep] : [])]
    .reduce((sum, m) => sum + m.errors + m.wrong, 0);
  if (failures > 0) {
    console.error(`${failures} errors or wrong results: see the tables above`);
    process.exitCode = 1;
  }
}

main().catch((error) => {
  console.error(error instanceof TypeError ? error.message : error);
  process.exitCode = 1;
});
