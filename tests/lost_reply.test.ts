// A reply lost after the commit must never let an older write undo a newer acknowledged one.
// A proxy lets a `set` reach the server and swallows the server's answer; meanwhile a logout
// (`destroy`) or a newer `set` of the same session is acknowledged on another connection;
// then the first connection resets, as a network finally does. A store that sent the first
// `set` again would bring the logged-out session back, or put the older data back.
import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import type { KnexMySQLStore } from "../mod.ts";
import { appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { proxyFor, type TcpProxy } from "./fixtures/tcp_proxy.ts";

const TRIALS = Number(process.env.LOST_REPLY_TRIALS ?? 500);

describe("a reply lost after the commit", () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let store: KnexMySQLStore;
  let tls: boolean;
  /** The proxy finds the statement whose reply it holds by its bytes, which TLS hides. */
  const OVER_TLS = "the proxy cannot see which statement to hold over TLS";

  before(async () => {
    db = await createTestDatabase("lost_reply");
    const app = await appAccount(db, { table: tableName() });
    tls = app.config.ssl !== undefined;
    let url: string;
    ({ proxy, url } = await proxyFor(app.url));
    store = app.store({ connection: url, clearInterval: 0 });
    store.on("warning", () => {});
    await store.ready;
  });
  after(async () => {
    await store?.close();
    await proxy?.cut();
    await db?.drop();
  });

  /**
   * Sends `set(sid, {n: 1})` with its reply held back, runs `then` (acknowledged on another
   * connection), resets the held connection, and returns what became of the first set.
   */
  async function withLostReply(sid: string, then: () => Promise<unknown>) {
    const held = proxy.holdReplyTo(sid);
    const first = store.set(sid, sessionFor({ n: 1 })).then(() => "acknowledged", (e) => e);
    await held.answered; // the server ran (and committed) it; its answer is swallowed
    await then();
    held.reset();
    return await first;
  }

  it(`an acknowledged destroy is never undone (${TRIALS} trials)`, async (t) => {
    if (tls) return t.skip(OVER_TLS);
    let failedFirstWrites = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const sid = `logout-${trial}-${Math.random().toString(36).slice(2)}`;
      const first = await withLostReply(sid, () => store.destroy(sid));
      if (first !== "acknowledged") failedFirstWrites++;
      assert.equal(await store.get(sid), null, `trial ${trial}: the logged-out session is back`);
    }
    // Each first write's connection reset after it was sent: none can be acknowledged.
    assert.equal(failedFirstWrites, TRIALS);
  });

  it(`an acknowledged set is never replaced by an older one (${TRIALS} trials)`, async (t) => {
    if (tls) return t.skip(OVER_TLS);
    for (let trial = 0; trial < TRIALS; trial++) {
      const sid = `newer-${trial}-${Math.random().toString(36).slice(2)}`;
      const first = await withLostReply(sid, () => store.set(sid, sessionFor({ n: 2 })));
      assert.notEqual(first, "acknowledged");
      assert.match(String((first as Error).message), /may or may not have applied the write/);
      const stored = await store.get(sid) as unknown as { n: number } | null;
      assert.equal(stored?.n, 2, `trial ${trial}: the older write came back`);
    }
  });
});
