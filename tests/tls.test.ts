// TLS as production has it, on a MariaDB of our own that requires it (scripts/ensure-mariadb-tls.sh:
// a CA made by openssl, require_secure_transport=ON, port 3308): the least-privilege account
// works over verified TLS through a URL and a config, by the store and the CLI; every refusal
// (no TLS, an unknown CA, an expired certificate, a host name the certificate does not hold) is
// ERR_CONFIG at once, naming its fix. MySQL's 3159 (TLS required) is checked on MySQL 9.7.
import assert from "node:assert/strict";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import knex, { type Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { connectionConfigOf } from "../src/connection_url.ts";
import { cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import { tableName } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { watched } from "./helpers/setup_error.ts";
import {
  ensureTlsMariadb,
  readTlsFile,
  tlsFile,
  tlsMariadbUrl,
  withServerCertificate,
} from "./helpers/tls.ts";

const DATABASE = `kms_tls_${tableName("").slice(1)}`;
const USER = `kms_tls_app_${tableName("").slice(1)}`;
const PASSWORD = `pw-${tableName("").slice(1)}!@%`;
const TABLE = "sessions";

let admin: Knex | undefined;
/** Why the suite cannot run here, when it cannot (no root to start the instance, say). */
let unavailable: string | undefined;

/** The TLS instance's URL for `user`, with `parameters` as its query string. */
function urlOf(parameters: Record<string, string>, user = USER, password = PASSWORD): string {
  const url = new URL(tlsMariadbUrl(DATABASE));
  url.username = encodeURIComponent(user);
  url.password = encodeURIComponent(password);
  url.search = new URLSearchParams(parameters).toString();
  return url.toString();
}

const VERIFIED = () => ({ "ssl-ca": tlsFile("ca.pem") });

before(async () => {
  try {
    await ensureTlsMariadb();
  } catch (error) {
    // CI runs it; elsewhere a missing instance is said, not failed (it needs root and Debian).
    if (process.env.CI) throw error;
    unavailable = `the TLS MariaDB could not start: ${(error as Error).message.split("\n")[0]}`;
    return;
  }
  admin = knex({
    client: "mysql2",
    connection: connectionConfigOf(`${tlsMariadbUrl()}?ssl-ca=${tlsFile("ca.pem")}`, "url"),
    pool: { min: 2, max: 4 }, // idle connections to spare while the certificate is swapped
  });
  await admin.raw(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4`);
  await admin.raw("CREATE USER ?@'%' IDENTIFIED BY ?", [USER, PASSWORD]);
  // The schema by the installer (root), the grants by our own CLI, over TLS.
  const installUrl = `${tlsMariadbUrl(DATABASE)}?ssl-ca=${tlsFile("ca.pem")}`;
  const install = await cli(["install", "--table", TABLE, "--url", installUrl]);
  assert.equal(install.code, 0, install.stderr);
  const grant = await cli(["grant", `${USER}@%`, "--table", TABLE, "--apply", "--url", installUrl]);
  assert.equal(grant.code, 0, grant.stderr);
  await admin.raw("FLUSH PRIVILEGES");
});

after(async () => {
  if (!admin) return;
  await admin.raw(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
  await admin.raw("DROP USER IF EXISTS ?@'%'", [USER]);
  await admin.destroy();
});

/** A store as the app account works end to end on `connection`. */
async function assertWorks(connection: string | Record<string, unknown>) {
  await closing(async (defer) => {
    const store = new KnexMySQLStore({ connection, tablename: TABLE, createtable: false });
    defer(() => store.close());
    await store.ready;
    // A fresh id each time: a destroyed one stays destroyed until it would have expired.
    const sid = `over-tls-${tableName("").slice(1)}`;
    await store.set(sid, sessionFor({ who: "app" }));
    assert.equal(((await store.get(sid)) as unknown as { who: string }).who, "app");
    assert.equal(await store.destroy(sid), true);
  });
}

/** `ready` rejects at once with ERR_CONFIG matching `fix`; no disconnect, reported once. */
async function assertRefused(connection: string | Record<string, unknown>, fix: RegExp) {
  await closing(async (defer) => {
    const started = Date.now();
    const store = watched({ connection, tablename: TABLE, createtable: false });
    defer(() => store.store.close());
    await assert.rejects(store.store.ready, (error: { code: string; message: string }) => {
      assert.equal(error.code, "ERR_CONFIG", error.message);
      assert.match(error.message, fix);
      assert.ok(!error.message.includes(PASSWORD), error.message);
      return true;
    });
    assert.ok(Date.now() - started < 2_000, `ready took ${Date.now() - started} ms`);
    await assert.rejects(store.store.get("any"), { code: "ERR_CONFIG" });
    assert.deepEqual(store.changes, []);
    assert.equal(store.errors.length, 1);
  });
}

describe("MariaDB requiring TLS, as the least-privilege account", () => {
  it("verified TLS works: the URL's ssl-ca, a config's ssl.ca, VERIFY_IDENTITY, and the CLI", async (t) => {
    if (unavailable) return t.skip(unavailable);
    await assertWorks(urlOf(VERIFIED()));
    await assertWorks(urlOf({ ...VERIFIED(), "ssl-mode": "VERIFY_IDENTITY" }));
    await assertWorks({
      ...connectionConfigOf(urlOf({}), "url"),
      ssl: { ca: await readTlsFile("ca.pem"), verifyIdentity: true },
    });
    const status = await cli(["status", "--table", TABLE, "--url", urlOf(VERIFIED())]);
    assert.equal(status.code, 0, status.stderr);
    // The session really travels encrypted.
    const [rows] = await (admin as Knex).raw("SHOW SESSION STATUS LIKE 'Ssl_version'");
    assert.match((rows as { Value: string }[])[0]!.Value, /^TLSv1\.[23]$/);
  });

  it("a plain login is refused (MariaDB says 1045): ERR_CONFIG naming TLS among the fixes", async (t) => {
    if (unavailable) return t.skip(unavailable);
    await assertRefused(
      urlOf({}),
      /refused the login of 'kms_tls_app_\w+' at 127\.0\.0\.1:\d+.*requires TLS.*\?ssl-ca=/,
    );
  });

  it("a certificate signed by a CA the connection does not trust: refused, naming ssl-ca", async (t) => {
    if (unavailable) return t.skip(unavailable);
    await assertRefused(
      urlOf({ "ssl-ca": tlsFile("other-ca.pem") }),
      /not signed by a CA the connection trusts.*\?ssl-ca=/,
    );
    // Node's public CAs do not hold ours either.
    await assertRefused(
      urlOf({ "ssl-mode": "VERIFY_CA" }),
      /not signed by a CA the connection trusts/,
    );
    // The CLI says the same.
    const status = await cli(["status", "--url", urlOf({ "ssl-ca": tlsFile("other-ca.pem") })]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /not signed by a CA the connection trusts/);
    // The fix is printed whole: the CLI's net for secrets leaves file paths and modes alone.
    assert.match(status.stderr, /`\?ssl-ca=\/path\/to\/ca\.pem` in a mysql:\/\/ URL/);
    assert.doesNotMatch(status.stderr, /check the host and port/);
  });

  it("an expired server certificate: refused, naming renewal", async (t) => {
    if (unavailable) return t.skip(unavailable);
    await withServerCertificate(admin as Knex, "expired", () =>
      // Node reports it as expired; Deno as unverifiable.
      assertRefused(urlOf(VERIFIED()), /out of its validity period|not signed by a CA/));
    await assertWorks(urlOf(VERIFIED())); // and the valid one serves again
  });

  it("a host name the certificate does not hold: refused with VERIFY_IDENTITY, naming VERIFY_CA", async (t) => {
    if (unavailable) return t.skip(unavailable);
    // The certificate holds localhost and 127.0.0.1; the machine's own name is not among them.
    const { hostname } = await import("node:os");
    const url = new URL(urlOf({ ...VERIFIED(), "ssl-mode": "VERIFY_IDENTITY" }));
    url.hostname = hostname();
    if (["localhost", "127.0.0.1"].includes(url.hostname)) return t.skip("no other host name");
    const { lookup } = await import("node:dns/promises");
    if (!(await lookup(url.hostname).catch(() => undefined))) {
      return t.skip(`${url.hostname} does not resolve`);
    }
    await assertRefused(url.toString(), /not issued for the host name.*VERIFY_CA/);
  });
});

describe("MySQL requiring TLS (require_secure_transport)", () => {
  it("a plain login is refused with 3159: ERR_CONFIG naming TLS", async (t) => {
    const url = process.env.MYSQL_URL;
    if (!url) return t.skip("MYSQL_URL is not set");
    const root = knex({ client: "mysql2", connection: connectionConfigOf(url, "MYSQL_URL") });
    try {
      const [[row]] = await root.raw("SELECT VERSION() AS version");
      if (/MariaDB/i.test(row.version)) return t.skip("MariaDB has no 3159 (it says 1045)");
      await root.raw("SET GLOBAL require_secure_transport = ON");
      try {
        const plain = new URL(url);
        plain.search = "";
        await assertRefused(plain.toString(), /without TLS .*requires secure transport.*\?ssl-ca=/);
      } finally {
        await root.raw("SET GLOBAL require_secure_transport = OFF");
      }
    } finally {
      await root.destroy();
    }
  });
});
