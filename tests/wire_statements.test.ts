// The store sends no INSERT, UPDATE or DELETE of its own: every statement on its connections,
// read off the wire by a proxy between the store and the server, is a SELECT, a CALL or
// session set-up (SET). The wire, not the server's general log: turning that on is a SET
// GLOBAL, which a test must not do to a shared server.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { expiredSession, sessionFor } from "./helpers/sessions.ts";
import { proxyFor, type TcpProxy } from "./fixtures/tcp_proxy.ts";
import { procedureName } from "../src/sql.ts";

let database: TestDatabase;
let app: AppAccount;
let proxy: TcpProxy;
let url: string;

before(async () => {
  database = await createTestDatabase("wire_statements");
  app = await appAccount(database);
  ({ proxy, url } = await proxyFor(app.url));
});

after(async () => {
  await proxy.cut();
  await database.drop();
});

it("every statement on the store's connections is a SELECT, a CALL or a SET", async (t) => {
  if (app.config.ssl !== undefined) return t.skip("TLS hides the statements from the proxy");
  const statements = proxy.logStatements();
  const store = app.store({ connection: url, cleanupInterval: 0 });
  await store.ready;
  await store.set("a", sessionFor({ n: 1 }));
  await store.set("a", sessionFor({ n: 2 }));
  await store.set("old", expiredSession());
  await store.get("a");
  await store.get("missing");
  await store.touch("a", sessionFor());
  await store.all();
  await store.length();
  await store.clearExpired();
  await store.destroy("a");
  await store.clear();
  await store.close();

  const shown = statements.join("\n");
  assert.ok(
    statements.some((s) => s.startsWith(`CALL \`${procedureName("sessions", "set")}\``)),
    shown,
  );
  assert.ok(statements.some((s) => /^SELECT `sess`/.test(s)), shown);
  for (const statement of statements) {
    const verb = statement.trim().split(/\s+/)[0]!.toUpperCase();
    assert.ok(["SELECT", "CALL", "SET"].includes(verb), `unexpected ${verb}:\n${shown}`);
  }
});
