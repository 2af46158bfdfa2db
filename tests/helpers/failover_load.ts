// HTTP load through a cluster's router while one node is killed: browsers (sessions) send
// increments to the counter app one after another; each acknowledged count is recorded, each
// failure counted, so a test can check that no acknowledged write was lost and say how long the
// app took to recover.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import type { Store } from "express-session";
import { createCounterApp } from "../fixtures/counter_app.ts";
import { type ClusterDatabase, parseSess, select } from "./cluster.ts";

const REQUEST_LIMIT = 20_000;

/** One browser: a session cookie and the counts the app acknowledged, in order. */
interface Client {
  cookie: string;
  sid: string;
  acknowledged: number[];
  /** When the first acknowledgement after the kill came (Infinity while none). */
  firstAckAfterKill: number;
  /** The longest a request took, in ms. */
  slowest: number;
  failures: { at: number; reason: string }[];
}

export interface LoadOutcome {
  clients: Client[];
  killedAt: number;
  acknowledged: number;
  failures: Client["failures"];
  /** ms from the kill until every session had a write acknowledged again. */
  recovery: number;
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
async function drive(base: string, client: Client, stop: () => boolean, killedAt: () => number) {
  while (!stop()) {
    try {
      const started = Date.now();
      const response = await increment(base, client.cookie);
      if (response.ok) {
        client.acknowledged.push(((await response.json()) as { count: number }).count);
        client.slowest = Math.max(client.slowest, Date.now() - started);
        if (started > killedAt() && client.firstAckAfterKill === Infinity) {
          client.firstAckAfterKill = Date.now();
        }
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

/**
 * Serves the counter app on `store`, drives `sessions` browsers for `before` ms, runs `kill`,
 * and goes on for `after` ms more.
 */
export async function loadThroughKill(
  store: Store,
  options: { sessions: number; before: number; after: number; kill: () => Promise<unknown> },
): Promise<LoadOutcome> {
  const http = createCounterApp(store).listen(0, "127.0.0.1");
  try {
    await once(http, "listening");
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const clients: Client[] = await Promise.all(
      Array.from({ length: options.sessions }, async () => {
        const response = await increment(base);
        assert.equal(response.status, 200);
        const cookie = (response.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
        await response.body?.cancel();
        return {
          cookie,
          sid: sidOf(cookie),
          acknowledged: [1],
          firstAckAfterKill: Infinity,
          slowest: 0,
          failures: [],
        };
      }),
    );
    let stopped = false;
    let killedAt = Infinity;
    const load = Promise.all(
      clients.map((client) => drive(base, client, () => stopped, () => killedAt)),
    );
    await sleep(options.before);
    killedAt = Date.now();
    await options.kill();
    await sleep(options.after);
    stopped = true;
    await load;
    return {
      clients,
      killedAt,
      acknowledged: clients.reduce((sum, client) => sum + client.acknowledged.length, 0),
      failures: clients.flatMap((client) => client.failures),
      recovery: Math.max(...clients.map((client) => client.firstAckAfterKill)) - killedAt,
    };
  } finally {
    http.close();
  }
}

/** What happened, in lines for t.diagnostic: counts, failures and their reasons, recovery. */
export function describeOutcome(outcome: LoadOutcome, retries: number): string[] {
  const { clients, failures, killedAt } = outcome;
  const afterKill = (at: number) => (at - killedAt) / 1000;
  const lastFailure = Math.max(0, ...failures.map((failure) => failure.at));
  return [
    `${outcome.acknowledged} increments acknowledged by ${clients.length} sessions; ` +
    `${failures.length} failed${
      failures.length ? `, the last ${afterKill(lastFailure).toFixed(1)} s after the kill` : ""
    }; ${retries} store retries; slowest request ` +
    `${Math.max(...clients.map((client) => client.slowest))} ms`,
    `recovered (every session acknowledged again) ${
      (outcome.recovery / 1000).toFixed(1)
    } s after the kill`,
    ...[...new Set(failures.map((failure) => failure.reason))].map((reason) =>
      `failure: ${reason}`
    ),
  ];
}

/**
 * No acknowledged write was lost: each session's counts only went up (a lost write would make
 * the next increment repeat a count), and every node in `ports` holds at least the last count
 * acknowledged for it.
 */
export async function assertNothingLost(
  db: ClusterDatabase,
  outcome: LoadOutcome,
  ports: readonly number[],
): Promise<void> {
  for (const client of outcome.clients) {
    const increasing = client.acknowledged.every((count, i, all) => i === 0 || count > all[i - 1]!);
    assert.ok(increasing, `session ${client.sid} acknowledged ${client.acknowledged.join(",")}`);
    assert.ok(client.firstAckAfterKill < Infinity, `${client.sid}: no write after the kill`);
  }
  for (const port of ports) {
    const counts = await countsOn(db, port);
    for (const client of outcome.clients) {
      const last = client.acknowledged.at(-1) ?? 0;
      const stored = counts.get(client.sid) ?? 0;
      assert.ok(
        stored >= last,
        `port ${port}: ${client.sid} holds ${stored}, acknowledged ${last}`,
      );
    }
  }
}

/** sid → stored count on the node at `port`. */
export async function countsOn(db: ClusterDatabase, port: number): Promise<Map<string, number>> {
  const rows = await select<{ sid: string; sess: unknown }>(
    db.node(port),
    "SELECT sid, sess FROM sessions",
  );
  return new Map(rows.map((row) => [row.sid, parseSess<{ count: number }>(row.sess).count]));
}
