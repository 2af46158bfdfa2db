// Soak test: the counter app (an Express 5 app on the store, in a child process) under
// autocannon at 64 connections, each connection incrementing its own session.
//
//   npm run soak              60 s (10 s warm-up)
//   npm run soak -- --quick   10 s (5 s warm-up), for CI
//
// Passes when: no non-2xx reply and no socket error; every session's counter equals the
// increments acknowledged to it; the app's RSS grows less than 10% from the end of the
// warm-up to the end (reported but not judged in quick mode: 10 s cannot tell a leak from a
// heap still settling, and its samples moved by ±10% between runs); afterwards the pool has nothing in use and the server holds no
// connection the pool does not know about, and none at all once the app has closed the store.
// Uses MYSQL_URL (default mysql://root@127.0.0.1:3306/test) and a database of its own.
import autocannon from "autocannon";
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import process from "node:process";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import knex, { type Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { createCounterApp } from "../tests/fixtures/counter_app.ts";

const CONNECTIONS = 64;
const POOL_SIZE = 10;
const MAX_RSS_GROWTH = 0.1;

/** What the app reports about itself at GET /soak/stats. */
interface AppStats {
  rss: number;
  pool: { used: number; free: number; pending: number };
  retries: number;
}

/** Child mode: serve the counter app on the store; report the port on stdout. */
async function serve(url: string): Promise<void> {
  const db = knex({ client: "mysql2", connection: url, pool: { min: 0, max: POOL_SIZE } });
  const store = new KnexMySQLStore({ knex: db });
  await store.ready;
  const app = createCounterApp(store);
  app.get("/soak/stats", (_request, response) => {
    (globalThis as { gc?: () => void }).gc?.(); // started with --expose-gc: measure live memory
    const pool = db.client.pool;
    response.json(
      {
        rss: process.memoryUsage().rss,
        pool: {
          used: pool.numUsed(),
          free: pool.numFree(),
          pending: pool.numPendingAcquires() + pool.numPendingCreates(),
        },
        retries: store.stats().retries,
      } satisfies AppStats,
    );
  });
  const server = app.listen(0, "127.0.0.1", () => {
    console.log(JSON.stringify({ port: (server.address() as { port: number }).port }));
  });
  process.once("SIGTERM", async () => {
    server.closeAllConnections();
    server.close();
    await store.close();
    await db.destroy();
  });
}

async function startApp(url: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(
    process.execPath,
    [...process.execArgv, "--expose-gc", fileURLToPath(import.meta.url), "--serve", url],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const lines = createInterface({ input: child.stdout! });
  const timeout = AbortSignal.timeout(30_000);
  for await (const line of lines) {
    if (timeout.aborted) break;
    const { port } = JSON.parse(line) as { port: number };
    lines.close();
    return { child, base: `http://127.0.0.1:${port}` };
  }
  child.kill();
  throw new Error("the app did not start");
}

async function appStats(base: string): Promise<AppStats> {
  return (await (await fetch(`${base}/soak/stats`)).json()) as AppStats;
}

/** Connections the server holds open to `database`. */
async function serverConnections(admin: Knex, database: string): Promise<number> {
  const [rows] = await admin.raw(
    "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ?",
    [database],
  );
  return Number((rows as { n: number }[])[0]?.n);
}

/** Polls `probe` until `done` holds or `ms` pass; returns the last value. */
async function settle<T>(probe: () => Promise<T>, done: (value: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!done(value) && Date.now() < deadline) {
    await sleep(200);
    value = await probe();
  }
  return value;
}

interface Session {
  cookie: string;
  /** Increment requests sent for this session. */
  sent: number;
  /** Of those, the ones answered (autocannon drops the rest when time is up). */
  answered: number;
  /** Of those, the ones answered with a 2xx. */
  acknowledged: number;
}

async function newSession(base: string): Promise<Session> {
  const response = await fetch(`${base}/increment`, { method: "POST" });
  if (!response.ok) throw new Error(`creating a session: HTTP ${response.status}`);
  await response.body?.cancel();
  return {
    cookie: (response.headers.get("set-cookie") ?? "").split(";")[0]!,
    sent: 1,
    answered: 1,
    acknowledged: 1,
  };
}

async function countOf(base: string, session: Session): Promise<number> {
  const response = await fetch(`${base}/count`, { headers: { cookie: session.cookie } });
  return ((await response.json()) as { count: number }).count;
}

async function soak(quick: boolean): Promise<boolean> {
  const duration = quick ? 10 : 60;
  const warmUp = quick ? 5 : 10;
  const serverUrl = new URL(process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test");
  const database = `kms_soak_${randomBytes(4).toString("hex")}`;
  const admin = knex({
    client: "mysql2",
    connection: serverUrl.toString(),
    pool: { min: 0, max: 1 },
  });
  await admin.raw(`CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4`);
  const appUrl = new URL(serverUrl);
  appUrl.pathname = `/${database}`;
  const { child, base } = await startApp(appUrl.toString());
  const exited = once(child, "exit");
  const checks: [string, boolean][] = [];
  const check = (name: string, ok: boolean) => {
    checks.push([name, ok]);
    console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  };
  try {
    const sessions = await Promise.all(
      Array.from({ length: CONNECTIONS }, () => newSession(base)),
    );
    let nextSession = 0;
    console.log(`soak: ${CONNECTIONS} connections, ${duration} s, one session per connection`);
    const warmUpSample = sleep(warmUp * 1000).then(() => appStats(base));
    const result = await autocannon({
      url: `${base}/increment`,
      method: "POST",
      connections: CONNECTIONS,
      duration,
      setupClient(client) {
        const session = sessions[nextSession++ % sessions.length]!;
        client.setHeaders({ cookie: session.cookie });
        client.on("request", () => session.sent++);
        client.on("response", (status) => {
          session.answered++;
          if (status >= 200 && status < 300) session.acknowledged++;
        });
      },
    });
    const warm = await warmUpSample;
    const end = await appStats(base);
    console.log(
      `${result.requests.total} requests, ${Math.round(result.requests.average)} req/s, ` +
        `latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
        `max ${result.latency.max} ms; ${end.retries} store retries`,
    );
    check(`non-2xx replies: ${result.non2xx}`, result.non2xx === 0);
    check(
      `socket errors ${result.errors}, timeouts ${result.timeouts}`,
      result.errors + result.timeouts === 0,
    );

    const growth = (end.rss - warm.rss) / warm.rss;
    const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
    const memory = `RSS ${mb(warm.rss)} after warm-up, ${mb(end.rss)} at the end: ` +
      `${(growth * 100).toFixed(1)}% growth`;
    if (quick) console.log(`info ${memory} (not judged in quick mode)`);
    else check(memory, growth < MAX_RSS_GROWTH);

    const idle = await settle(() => appStats(base), (s) => s.pool.used + s.pool.pending === 0);
    check(
      `pool after the load: ${idle.pool.used} in use, ${idle.pool.pending} pending, ` +
        `${idle.pool.free} idle`,
      idle.pool.used + idle.pool.pending === 0,
    );
    // autocannon drops the replies of the requests in flight when time is up; the app still
    // serves them (the pool is idle now), so those increments are stored but unacknowledged.
    const counts = await Promise.all(sessions.map((session) => countOf(base, session)));
    const cutOffOf = (session: Session) => session.sent - session.answered;
    const wrong = sessions.filter((session, i) =>
      counts[i] !== session.acknowledged + cutOffOf(session)
    ).length;
    const acknowledged = sessions.reduce((sum, session) => sum + session.acknowledged, 0);
    const cutOff = sessions.reduce((sum, session) => sum + cutOffOf(session), 0);
    check(
      `${wrong} of ${sessions.length} sessions differ from their ${acknowledged} acknowledged ` +
        `increments (+ ${cutOff} cut off by the end of the run)`,
      wrong === 0 && cutOff <= sessions.length,
    );
    const held = await serverConnections(admin, database);
    check(
      `server connections to the database: ${held} (the pool holds ${idle.pool.free})`,
      held <= idle.pool.free,
    );
  } finally {
    child.kill("SIGTERM");
    await Promise.race([exited, sleep(10_000)]);
    child.kill("SIGKILL");
  }
  const left = await settle(() => serverConnections(admin, database), (n) => n === 0);
  check(`server connections after the app closed the store: ${left}`, left === 0);
  await admin.raw(`DROP DATABASE \`${database}\``);
  await admin.destroy();
  return checks.every(([, ok]) => ok);
}

const serveAt = process.argv.indexOf("--serve");
if (serveAt > 0) {
  await serve(process.argv[serveAt + 1]!);
} else {
  const passed = await soak(process.argv.includes("--quick"));
  process.exitCode = passed ? 0 : 1;
}
