// A silent network partition, staged by a proxy that stops forwarding and keeps every socket
// open: each operation settles within its deadline, `disconnect` fires within seconds (the
// health probe does not queue behind the stuck statements), `connect` fires once the path
// heals, the Express app keeps answering, and close() is bounded.
import assert from "node:assert/strict";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { KnexMySQLStore } from "../mod.ts";
import { appAccount } from "./helpers/app_account.ts";
import { createCounterApp } from "./fixtures/counter_app.ts";
import { closing, type Defer } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { proxyFor, type TcpProxy } from "./fixtures/tcp_proxy.ts";

/** The deadline the stores here use: short, so that the test is; the default is 10 s. */
const QUERY_TIMEOUT = 2_000;
/**
 * The partition holds until what is awaited settles, or for this long: a store without
 * deadlines would wait for the network to heal, which here it never does in time. Not a bound
 * on how fast anything is (that is the deadline's job, shown by ERR_TIMEOUT), only a way for a
 * failure to end.
 */
const HANG = 60_000;

/** `promise`, or a failure naming `what` once HANG ms have passed without it settling. */
function beforeHealing<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: still waiting ${HANG} ms into the partition`)),
      HANG,
    );
  });
  return Promise.race([promise, hung]).finally(() => clearTimeout(timer));
}

describe("a silent partition", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;

  before(async () => {
    db = await createTestDatabase("partition");
    ({ proxy } = await proxyFor(db.url));
  });
  after(async () => {
    await proxy.cut();
    await db.drop();
  });

  /** A store (the app account) through the proxy, warmed up, with the times its events fired at. */
  async function storeThroughProxy(defer: Defer) {
    const app = await appAccount(db, { table: tableName() });
    const store = app.store({
      connection: { ...app.config, port: proxy.port },
      clearInterval: 0,
      queryTimeout: QUERY_TIMEOUT,
    });
    defer(() => store.close());
    const events: { name: string; at: number }[] = [];
    for (const name of ["connect", "disconnect"] as const) {
      store.on(name, () => events.push({ name, at: performance.now() }));
    }
    await store.ready;
    for (let i = 0; i < 10; i++) await store.set(`warm-${i}`, sessionFor({ i }));
    return { store, events };
  }

  /** 30 operations of every kind, each with the time it settled (ms after `start`). */
  function thirtyOperations(store: KnexMySQLStore, start: number) {
    const kinds = [
      (i: number) => store.get(`warm-${i % 10}`),
      (i: number) => store.set(`p-${i}`, sessionFor({ i })),
      (i: number) => store.touch(`warm-${i % 10}`, sessionFor({ i }, 60_000, 7_200_000)),
      (i: number) => store.destroy(`warm-${i % 10}`),
      () => store.length(),
    ];
    return Promise.all(
      Array.from(
        { length: 30 },
        (_, i) =>
          (kinds[i % kinds.length] as (i: number) => Promise<unknown>)(i).then(
            () => ({ ok: true, after: performance.now() - start, code: undefined }),
            (error: { code?: string }) => ({
              ok: false,
              after: performance.now() - start,
              code: error.code,
            }),
          ),
      ),
    );
  }

  it("every operation settles by its deadline, disconnect and connect fire, nothing hangs", async (t) => {
    await closing(async (defer) => {
      const { store, events } = await storeThroughProxy(defer);
      const pausedAt = performance.now();
      proxy.pause();
      defer(() => proxy.resume());
      const disconnected = once(store, "disconnect");
      const outcomes = await beforeHealing(thirtyOperations(store, pausedAt), "operations");
      const latest = Math.max(...outcomes.map((o) => o.after));
      t.diagnostic(
        `all 30 settled within ${Math.round(latest)} ms; codes: ${
          [...new Set(outcomes.map((o) => o.code))].join(", ")
        }`,
      );
      // ERR_TIMEOUT is the deadline's own error: each gave up at its deadline.
      assert.ok(outcomes.every((o) => !o.ok && o.code === "ERR_TIMEOUT"), JSON.stringify(outcomes));
      await beforeHealing(disconnected, "disconnect");
      const disconnect = events.find((e) => e.name === "disconnect")!;
      t.diagnostic(`disconnect ${Math.round(disconnect.at - pausedAt)} ms into the partition`);

      const resumedAt = performance.now();
      proxy.resume();
      await beforeHealing(once(store, "connect"), "connect after healing");
      t.diagnostic(`connect ${Math.round(performance.now() - resumedAt)} ms after healing`);
      await store.set("after", sessionFor({ healed: true }));
      assert.deepEqual((await store.get("after") as unknown as { healed: boolean }).healed, true);
      assert.deepEqual(events.map((e) => e.name), ["connect", "disconnect", "connect"]);
    });
  });

  it("an Express app answers every request during the partition, within the deadline", async () => {
    await closing(async (defer) => {
      const { store } = await storeThroughProxy(defer);
      const app = createCounterApp(store).listen(0, "127.0.0.1");
      defer(() =>
        new Promise((resolve) => {
          app.closeAllConnections();
          app.close(resolve);
        })
      );
      await once(app, "listening");
      const base = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
      const first = await fetch(`${base}/increment`, { method: "POST" });
      const cookie = first.headers.get("set-cookie")?.split(";")[0] ?? "";
      proxy.pause();
      defer(() => proxy.resume());
      const statuses = await beforeHealing(
        Promise.all(
          Array.from(
            { length: 10 },
            () =>
              fetch(`${base}/increment`, { method: "POST", headers: { cookie } }).then(
                (response) => {
                  void response.text();
                  return response.status;
                },
              ),
          ),
        ),
        "requests",
      );
      assert.ok(statuses.every((status) => status >= 500), statuses.join());
    });
  });

  it("a refused port (the server gone): disconnect at the first refusal, not at the deadline", async (t) => {
    await closing(async (defer) => {
      const { store } = await storeThroughProxy(defer);
      await proxy.cut(); // every connection closed, new ones refused
      defer(() => proxy.restore());
      const disconnected = once(store, "disconnect").then(() => "disconnect");
      const cutAt = performance.now();
      const failed = store.get("warm-1").then(() => "resolved", (error) => error.code);
      // The get retries until its deadline; the refusal is news before that.
      assert.equal(
        await beforeHealing(Promise.race([disconnected, failed]), "disconnect"),
        "disconnect",
      );
      t.diagnostic(`disconnect ${Math.round(performance.now() - cutAt)} ms after the cut`);
      assert.notEqual(await beforeHealing(failed, "the get"), "resolved");
    });
  });

  it("close() is bounded while the server is unreachable", async () => {
    let store: KnexMySQLStore | undefined;
    await closing(async (defer) => {
      ({ store } = await storeThroughProxy(defer));
      proxy.pause();
      defer(() => proxy.resume());
      const pending = Array.from({ length: 5 }, (_, i) => store!.get(`warm-${i}`).catch(() => {}));
      await sleep(100);
      await beforeHealing(store.close(), "close()");
      await beforeHealing(Promise.all(pending), "operations pending at close()");
      await assert.rejects(store.get("x"), { code: "ERR_STORE_CLOSED" });
    });
  });
});
