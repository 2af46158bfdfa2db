// knex's client "mariadb" (MariaDB Connector/Node) as an app gives it to the store: the app
// account our `grant` makes, with a password. Its refused logins are configuration errors naming
// the mariadb driver's own settings, and each fix named works. (The whole store under this
// client: CI runs test:core with KNEX_CLIENT=mariadb on both servers.)
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import knex from "knex";
import { connectionConfigOf } from "../src/connection_url.ts";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { serverFacts } from "./helpers/server.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { assertSetupError, watched } from "./helpers/setup_error.ts";
import { MYSQL_CA } from "./helpers/tls.ts";

let db: TestDatabase;
let app: AppAccount;
let kind: "mysql" | "mariadb";
/** Whether MYSQL_URL asks for TLS: the plain-TCP cases then do not apply. */
let overTls: boolean;
let scratch: string;

before(async () => {
  db = await createTestDatabase("mariadb_client");
  app = await appAccount(db);
  kind = (await serverFacts(db.admin)).kind;
  overTls = connectionConfigOf(db.url, "MYSQL_URL").ssl !== undefined;
  scratch = await mkdtemp(join(tmpdir(), "kms-mariadb-client-"));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
  await db?.drop();
});

/** The app account's login as the mariadb driver takes it, plus `extra`. */
function login(extra: Record<string, unknown> = {}, password = app.password) {
  const { host, port, database, ssl } = connectionConfigOf(db.url, "MYSQL_URL");
  const tls = typeof ssl === "object" && ssl !== null
    ? { ssl: { ...ssl, checkServerIdentity: () => undefined } }
    : {};
  return { host, port, database, user: app.name, password, ...tls, ...extra };
}

/** A store on a mariadb-client knex logged in with `connection`. */
function storeOn(connection: Record<string, unknown>) {
  const instance = knex({ client: "mariadb", connection, pool: { min: 0, max: 2 } });
  const watchedStore = watched({ knex: instance, tablename: app.table, createtable: false });
  return { ...watchedStore, instance };
}

let logins = 0;

/** A store on `connection` works end to end: ready, set, get, touch, destroy. */
async function assertWorks(connection: Record<string, unknown>) {
  await db.admin.raw("FLUSH PRIVILEGES"); // the full password exchange, as after a restart
  await closing(async (defer) => {
    const { store, instance } = storeOn(connection);
    defer(() => instance.destroy());
    defer(() => store.close());
    await store.ready;
    // A new id each time: a destroyed id stays destroyed (its marker) until it would expire.
    const id = `via-mariadb-${++logins}`;
    const session = sessionFor({ who: "mariadb" });
    await store.set(id, session);
    assert.equal(((await store.get(id)) as unknown as { who: string }).who, "mariadb");
    await store.touch(id, session);
    assert.equal(await store.countOf?.("nobody"), 0);
    await store.destroy(id);
    assert.equal(await store.get(id), null);
  });
}

/** The store's start-up on `connection` fails with ERR_CONFIG matching `fix`, per the contract. */
async function assertRefused(connection: Record<string, unknown>, fix: RegExp) {
  await db.admin.raw("FLUSH PRIVILEGES");
  await closing(async (defer) => {
    const watchedStore = storeOn(connection);
    defer(() => watchedStore.instance.destroy());
    defer(() => watchedStore.store.close());
    const error = await assertSetupError(watchedStore, "ERR_CONFIG", fix);
    assert.ok(!error.message.includes(app.password), "never the password");
  });
}

describe("knex's mariadb client", () => {
  it("the store accepts it and runs every operation as the app account", async () => {
    await assertWorks(login(kind === "mysql" && !overTls ? { allowPublicKeyRetrieval: true } : {}));
  });

  it("a wrong password: ERR_CONFIG naming the account and the server", async () => {
    const transport = kind === "mysql" && !overTls ? { allowPublicKeyRetrieval: true } : {};
    await assertRefused(
      login(transport, "wrong-Secret-42"),
      new RegExp(`refused the login of '${app.name}' at 127\\.0\\.0\\.1:\\d+ .*password`),
    );
  });

  it("MySQL over plain TCP: the key exchange refused, the mariadb driver's three fixes named, and each works", async (t) => {
    if (kind !== "mysql" || overTls) return t.skip("caching_sha2_password over plain TCP");
    const error = await (async () => {
      let refused: Error | undefined;
      await assertRefused(login(), /without TLS.*caching_sha2_password/);
      // The three fixes, best first, in the mariadb driver's own option names.
      await closing(async (defer) => {
        const { store, instance } = storeOn(login());
        defer(() => instance.destroy());
        defer(() => store.close());
        refused = await store.ready.then(() => undefined, (e: Error) => e);
      });
      return refused!;
    })();
    const order = ["ssl: { ca:", "cachingRsaPublicKey:", "allowPublicKeyRetrieval: true"].map((
      fix,
    ) => error.message.indexOf(fix));
    assert.ok(order.every((at) => at > 0), error.message);
    assert.deepEqual(order, [...order].sort((a, b) => a - b), "best first");
    assert.doesNotMatch(error.message, /serverPublicKey|\?server-public-key-path/, "mysql2's");

    const [rows] = await db.admin.raw("SHOW STATUS LIKE 'Caching_sha2_password_rsa_public_key'");
    const key = (rows as { Value: string }[])[0]!.Value;
    const keyFile = join(scratch, "public_key.pem");
    await writeFile(keyFile, key);
    await t.test("ssl: { ca } (the CA only: its certificate names no host)", () =>
      assertWorks(
        login({ ssl: { ca: readFileSync(MYSQL_CA), checkServerIdentity: () => undefined } }),
      ));
    await t.test("cachingRsaPublicKey: a path", () =>
      assertWorks(login({ cachingRsaPublicKey: keyFile })));
    await t.test("cachingRsaPublicKey: the key", () =>
      assertWorks(login({ cachingRsaPublicKey: key })));
    await t.test("allowPublicKeyRetrieval", () =>
      assertWorks(login({ allowPublicKeyRetrieval: true })));
  });

  it("MySQL's auto-generated certificate: the driver's host-name check and an untrusted chain are refused, each naming its fix", async (t) => {
    if (kind !== "mysql") return t.skip("MySQL makes its own certificates");
    // The mariadb driver checks the host name by default; this certificate names no host.
    await assertRefused(
      login({ ssl: { ca: readFileSync(MYSQL_CA) } }),
      /not issued for the host name.*checkServerIdentity: \(\) => undefined/,
    );
    // Node's public CAs do not include the server's own.
    await assertRefused(
      login({ ssl: { rejectUnauthorized: true } }),
      /not signed by a CA the connection trusts.*ssl: \{ ca: readFileSync/,
    );
  });

  it("TLS asked of a server without TLS: refused, naming the server's missing certificate", async (t) => {
    const [rows] = await db.admin.raw("SHOW VARIABLES LIKE 'have_ssl'");
    const have = (rows as { Value: string }[])[0]?.Value;
    // MySQL 8.4+ dropped have_ssl: it always has TLS.
    if (have === undefined || have === "YES") return t.skip("this server has TLS");
    await assertRefused(login({ ssl: true }), /asks for TLS but the server .* offers none/);
  });
});
