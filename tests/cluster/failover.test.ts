// kill -9 of the node an app is using, under HTTP load through HAProxy: requests go on after
// the failover, no acknowledged session write is lost on any node, and the killed node rejoins
// (after mariadbd --wsrep-recover, by IST) with the same data as the others.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import { createCounterApp } from "../fixtures/counter_app.ts";
import {
  type ClusterDatabase,
  clusterScript,
  createClusterDatabase,
  HAPROXY_PORT,
  NODE_PORTS,
  parseSess,
  select,
} from "./cluster.ts";

const SESSIONS = 16;
const REQUEST_LIMIT = 20_000;

/** One browser: a session cookie and the counts the app acknowledged, in order. */
interface Client {
  cookie: string;
  sid: string;
  acknowledged: number[];
  /** How many of `acknowledged` came after the kill. */
  acknowledgedAfterKill: number;
  /** The longest a request took, in ms. */
  slowest: number;
  failures: { at: number; reason: string }[];
}

async function increment(base: string, cookie?: string): Promise<Response> {
  return await fetch(`${base}/increment`, {
    method: "POST",
    headers: cookie ? { cookie } : {},
    signal: AbortSignal.timeout(REQUEST_LIMIT),
  });
}

/** The session id inside express-session's signed cookie `connect.sid=s%3A<sid>.<signature>`. */
function sidOf(cookie: string): string {
  const value = decodeURIComponent(cookie.slice(cookie.indexOf("=") + 1));
  return value.slice(2, value.lastIndexOf("."));
}

/** Each client sends increments one after another until `stop()`. */
async function drive(
  base: string,
  client: Client,
  stop: () => boolean,
  killed: () => boolean,
): Promise<void> {
  while (!stop()) {
    try {
      const started = Date.now();
      const response = await increment(base, client.cookie);
      if (response.ok) {
        client.acknowledged.push(((await response.json()) as { count: number }).count);
        client.slowest = Math.max(client.slowest, Date.now() - started);
        if (killed()) client.acknowledgedAfterKill++;
      } else {
        client.failures.push({ at: Date.now(), reason: `HTTP ${response.status}` });
        await response.body?.cancel();
        await sleep(50);
      }
    } catch (error) {
      client.failures.push({ at: Date.now(), reason: String(error) });
      await sleep(50);
    }
  }
}

/** sid → stored count on the node at `port`. */
async function countsOn(db: ClusterDatabase, port: number): Promise<Map<string, number>> {
  const rows = await select<{ sid: string; sess: unknown }>(
    db.node(port),
    "SELECT sid, sess FROM sessions",
  );
  return new Map(rows.map((row) => [row.sid, parseSess<{ count: number }>(row.sess).count]));
}

describe("failover through HAProxy", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("cluster_failover");
  });
  after(async () => {
    await clusterScript("start"); // whatever happened, leave three nodes running
    await db?.drop();
  });

  test("kill -9 of the active node under load: nothing acknowledged is lost", async (t) => {
    const viaHaproxy = db.connect(HAPROXY_PORT);
    const [active] = await select<{ node: string }>(viaHaproxy, "SELECT @@wsrep_node_name AS node");
    assert.equal(active?.node, "node1", "HAProxy should send connections to node1 first");
    const store = new KnexMySQLStore({ knex: viaHaproxy, clearInterval: 0 });
    const http = createCounterApp(store).listen(0, "127.0.0.1");
    try {
      await once(http, "listening");
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      const clients: Client[] = await Promise.all(
        Array.from({ length: SESSIONS }, async () => {
          const response = await increment(base);
          assert.equal(response.status, 200);
          const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
          return {
            cookie,
            sid: sidOf(cookie),
            acknowledged: [1],
            acknowledgedAfterKill: 0,
            slowest: 0,
            failures: [],
          };
        }),
      );
      let stopped = false;
      let killedAt = Infinity;
      const load = Promise.all(
        clients.map((client) => drive(base, client, () => stopped, () => Date.now() > killedAt)),
      );
      await sleep(2_000);
      killedAt = Date.now();
      await clusterScript("kill", "1");
      await sleep(12_000);
      stopped = true;
      await load;

      const acknowledged = clients.reduce((sum, client) => sum + client.acknowledged.length, 0);
      const failures = clients.flatMap((client) => client.failures);
      const lastFailure = Math.max(0, ...failures.map((failure) => failure.at));
      const afterKill = (at: number) => Math.round((at - killedAt) / 100) / 10;
      t.diagnostic(
        `${acknowledged} increments acknowledged by ${SESSIONS} sessions; ${failures.length} ` +
          `failed${
            failures.length ? `, the last ${afterKill(lastFailure)} s after the kill` : ""
          }` +
          `; ${store.stats().retries} store retries; slowest request ` +
          `${Math.max(...clients.map((client) => client.slowest))} ms`,
      );
      for (const reason of new Set(failures.map((failure) => failure.reason))) {
        t.diagnostic(`failure: ${reason}`);
      }
      // Requests went on after the failover, for every session; the last 5 s had no failure.
      for (const client of clients) assert.ok(client.acknowledgedAfterKill > 0, client.sid);
      assert.ok(lastFailure < killedAt + 7_000, `a request failed ${afterKill(lastFailure)} s in`);
      for (const client of clients) {
        // A lost acknowledged write would make the next increment repeat a count.
        const increasing = client.acknowledged.every((count, i, all) =>
          i === 0 || count > all[i - 1]!
        );
        assert.ok(
          increasing,
          `session ${client.sid} acknowledged ${client.acknowledged.join(",")}`,
        );
      }

      const survivors = await Promise.all(NODE_PORTS.slice(1).map((port) => countsOn(db, port)));
      for (const client of clients) {
        const last = client.acknowledged.at(-1) ?? 0;
        for (const [i, counts] of survivors.entries()) {
          const stored = counts.get(client.sid) ?? 0;
          assert.ok(
            stored >= last,
            `node${i + 2}: ${client.sid} holds ${stored}, acknowledged ${last}`,
          );
        }
      }

      const rejoinStart = Date.now();
      assert.match(await clusterScript("start-node", "1"), /rejoining from/);
      t.diagnostic(`node1 rejoined and was Synced in ${(Date.now() - rejoinStart) / 1000} s`);
      assert.match(await clusterScript("status"), /node1: .*state Synced cluster_size 3/);
      const rejoined = await countsOn(db, NODE_PORTS[0]);
      assert.deepEqual(rejoined, survivors[0], "node1 differs from node2 after rejoining");
      assert.deepEqual(survivors[1], survivors[0], "node3 differs from node2");
    } finally {
      http.close();
      await store.close();
    }
  });
});
