// Logins as production has them: a password account, MySQL 8.4/9's caching_sha2_password, TLS.
// Every way a login is refused is a configuration error (ERR_CONFIG, once, `ready` rejects at
// once, no `disconnect`, no resend), naming the account and the server, never the password,
// and the fix that fits; the CLI says the same. Each documented fix then works.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { KnexMySQLStore } from "../mod.ts";
import { connectionConfigOf } from "../src/connection_url.ts";
import { cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { serverFacts } from "./helpers/server.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { assertSetupError, watched } from "./helpers/setup_error.ts";
import { MYSQL_CA } from "./helpers/tls.ts";

const TLS_PARAMETERS = ["ssl", "ssl-mode", "ssl-ca", "ssl-cert", "ssl-key"];

/** The installed mysql2's version: 3.26 is the first that refuses to fetch the RSA key. */
const mysql2Version = (createRequire(import.meta.url)("mysql2/package.json") as {
  version: string;
}).version;
const refusesKeyRetrieval = (() => {
  const [major, minor] = mysql2Version.split(".").map(Number) as [number, number];
  return major > 3 || (major === 3 && minor >= 26);
})();

let db: TestDatabase;
let kind: "mysql" | "mariadb";
/** Whether MYSQL_URL carries TLS settings (the suite then runs over TLS). */
let overTls: boolean;
let scratch: string;
before(async () => {
  db = await createTestDatabase("logins");
  kind = (await serverFacts(db.admin)).kind;
  overTls = TLS_PARAMETERS.some((name) => new URL(db.url).searchParams.has(name));
  scratch = await mkdtemp(join(tmpdir(), "kms-logins-"));
});
after(async () => {
  await rm(scratch, { recursive: true, force: true });
  await db.drop();
});

/** `url` with its query string replaced by `parameters` (TLS settings dropped). */
function withParameters(url: string, parameters: Record<string, string> = {}): string {
  const parsed = new URL(url);
  parsed.search = new URLSearchParams(parameters).toString();
  return parsed.toString();
}

/**
 * A fresh account with a password, the table installed by root and granted by our own `grant`,
 * and the server's password cache emptied (as after a restart): the user's first contact.
 */
async function appAccount(): Promise<{ user: string; password: string; table: string }> {
  const table = tableName();
  const installer = new KnexMySQLStore({ knex: db.admin, tablename: table, clearInterval: 0 });
  await installer.ready;
  await installer.close();
  const { name: user, url } = await db.account([]);
  const password = decodeURIComponent(new URL(url).password);
  const granted = await cli(["grant", `${user}@%`, "--table", table, "--apply", "--url", db.url]);
  assert.equal(granted.code, 0, granted.stderr);
  await db.admin.raw("FLUSH PRIVILEGES");
  return { user, password, table };
}

/** The account's URL on the server under test, with `parameters` as its query string. */
function accountUrl(
  account: { user: string; password: string },
  parameters?: Record<string, string>,
): string {
  const parsed = new URL(withParameters(db.url, parameters));
  parsed.username = encodeURIComponent(account.user);
  parsed.password = encodeURIComponent(account.password);
  return parsed.toString();
}

/** The server's RSA public key, as root reads it, in a file (as a DBA would hand it out). */
async function serverPublicKeyFile(): Promise<string> {
  const [rows] = await db.admin.raw("SHOW STATUS LIKE 'Caching_sha2_password_rsa_public_key'");
  const file = join(scratch, "public_key.pem");
  await writeFile(file, (rows as { Value: string }[])[0]!.Value);
  return file;
}

/** A store on `connection` works end to end as the app account: ready, set, get. */
async function assertWorks(connection: string | Record<string, unknown>, table: string) {
  await closing(async (defer) => {
    const store = new KnexMySQLStore({ connection, tablename: table, createtable: false });
    defer(() => store.close());
    await store.ready;
    await store.set("fixed", sessionFor({ who: "app" }));
    assert.equal(((await store.get("fixed")) as unknown as { who: string }).who, "app");
  });
}

describe("refused logins are configuration errors", () => {
  it("a wrong password: ERR_CONFIG within 2 s naming account and server, never the password", async () => {
    const account = await appAccount();
    // Over plain TCP, mysql2 3.26+ refuses MySQL's key exchange before the password is checked.
    const transport = kind === "mysql" && !overTls
      ? { allowPublicKeyRetrieval: "true" }
      : undefined;
    const url = accountUrl({ ...account, password: "wrong-Secret-42" }, {
      ...Object.fromEntries(new URL(db.url).searchParams),
      ...transport,
    });
    const { host, port } = connectionConfigOf(url, "url");
    await closing(async (defer) => {
      const started = Date.now();
      const watchedStore = watched({
        connection: url,
        tablename: account.table,
        createtable: false,
      });
      defer(() => watchedStore.store.close());
      const error = await assertSetupError(
        watchedStore,
        "ERR_CONFIG",
        new RegExp(`refused the login of '${account.user}' at ${host}:${port ?? 3306}.*password`),
      );
      assert.ok(Date.now() - started < 12_000); // assertSetupError waits 10 s of fake time
      assert.ok(!error.message.includes("wrong-Secret-42"), error.message);
    });
  });

  it("an unknown user without a password: ERR_CONFIG (MariaDB 1698, MySQL 1045), no retry loop", async () => {
    const url = new URL(db.url);
    url.username = "kms_nobody";
    url.password = "";
    const started = Date.now();
    await closing(async (defer) => {
      const store = watched({ connection: url.toString(), tablename: tableName() });
      defer(() => store.store.close());
      await assert.rejects(store.store.ready, (error: { code: string; message: string }) => {
        assert.equal(error.code, "ERR_CONFIG", error.message);
        assert.match(error.message, /refused the login of 'kms_nobody' at /);
        // MariaDB says 1698 or 1045 depending on the accounts it holds; MySQL 1045, or, with
        // mysql2 3.26+ over plain TCP, the key exchange is refused before the user is checked.
        assert.match(
          error.message,
          /without a password.*CREATE USER|user and password|without TLS.*caching_sha2_password/,
        );
        return true;
      });
      assert.ok(Date.now() - started < 2_000, `ready took ${Date.now() - started} ms`);
      await assert.rejects(store.store.get("any"), { code: "ERR_CONFIG" });
      assert.deepEqual(store.changes, []);
      assert.equal(store.errors.length, 1);
    });
  });

  it("MariaDB, an account without a password that logs in by another plugin (1698): ERR_CONFIG", async (t) => {
    if (kind !== "mariadb") return t.skip("MySQL has no error 1698");
    // Like Debian's root: IDENTIFIED VIA unix_socket, which a TCP login cannot satisfy.
    const user = `kms_sock_${tableName("").slice(1)}`;
    await db.admin.raw("CREATE USER ?@'%' IDENTIFIED VIA unix_socket", [user]);
    try {
      const url = new URL(db.url);
      url.username = user;
      await closing(async (defer) => {
        const store = watched({ connection: url.toString(), tablename: tableName() });
        defer(() => store.store.close());
        await assertSetupError(
          store,
          "ERR_CONFIG",
          new RegExp(`refused the login of '${user}' at .* without a password.*unix_socket`),
        );
      });
    } finally {
      await db.admin.raw("DROP USER ?@'%'", [user]);
    }
  });

  it("an expired password: ERR_CONFIG naming ALTER USER (MySQL refuses the login, MariaDB the statements)", async () => {
    const account = await appAccount();
    await db.admin.raw("ALTER USER ?@'%' PASSWORD EXPIRE", [account.user]);
    const transport: Record<string, string> = kind === "mysql" && !overTls
      ? { allowPublicKeyRetrieval: "true" }
      : {};
    const url = accountUrl(account, {
      ...Object.fromEntries(new URL(db.url).searchParams),
      ...transport,
    });
    await closing(async (defer) => {
      const store = watched({ connection: url, tablename: account.table, createtable: false });
      defer(() => store.store.close());
      await assertSetupError(store, "ERR_CONFIG", /password has expired.*ALTER USER/);
    });
  });

  it("MySQL, caching_sha2_password over plain TCP after FLUSH PRIVILEGES: the three fixes named, best first", async (t) => {
    if (kind !== "mysql") return t.skip("MariaDB's accounts use mysql_native_password");
    const account = await appAccount();
    const plain = accountUrl(account);
    if (!refusesKeyRetrieval) {
      // mysql2 before 3.26 fetches the key unverified and logs in.
      return await assertWorks(plain, account.table);
    }
    await closing(async (defer) => {
      const started = Date.now();
      const store = watched({ connection: plain, tablename: account.table, createtable: false });
      defer(() => store.store.close());
      const error = await assertSetupError(
        store,
        "ERR_CONFIG",
        /refused the login of 'kms_\w+' at 127\.0\.0\.1:\d+ without TLS.*caching_sha2_password/,
      );
      assert.ok(Date.now() - started < 12_000);
      const order = ["?ssl-ca=", "?server-public-key-path=", "?allowPublicKeyRetrieval=true"]
        .map((fix) => error.message.indexOf(fix));
      assert.ok(order.every((at) => at > 0), error.message);
      assert.deepEqual(order, [...order].sort((a, b) => a - b), "best first");
      assert.match(
        error.message,
        /ssl: \{ ca: readFileSync.*serverPublicKey.*allowPublicKeyRetrieval: true/,
      );
    });
    // The CLI says the same, not "check the host and port".
    const status = await cli(["status", "--table", account.table, "--url", plain]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /without TLS.*\?server-public-key-path=/);
    assert.doesNotMatch(status.stderr, /check the host and port|cannot reach/);
  });

  it("MySQL: each documented fix logs the app account in, as a URL and as a config", async (t) => {
    if (kind !== "mysql") return t.skip("MariaDB's accounts use mysql_native_password");
    const account = await appAccount();
    const keyFile = await serverPublicKeyFile();
    const { readFileSync } = await import("node:fs");
    const base = connectionConfigOf(accountUrl(account), "url");
    const fixes: [string, string | Record<string, unknown>][] = [
      ["URL ssl-ca", accountUrl(account, { "ssl-ca": MYSQL_CA })],
      ["config ssl.ca", { ...base, ssl: { ca: readFileSync(MYSQL_CA, "utf8") } }],
      ["URL server-public-key-path", accountUrl(account, { "server-public-key-path": keyFile })],
      ["config serverPublicKey", { ...base, serverPublicKey: readFileSync(keyFile, "utf8") }],
      ["URL allowPublicKeyRetrieval", accountUrl(account, { allowPublicKeyRetrieval: "true" })],
      ["config allowPublicKeyRetrieval", { ...base, allowPublicKeyRetrieval: true }],
    ];
    for (const [name, connection] of fixes) {
      await db.admin.raw("FLUSH PRIVILEGES"); // each fix meets an empty password cache
      await t.test(name, () => assertWorks(connection, account.table));
    }
    // The CLI takes the same URL forms.
    await db.admin.raw("FLUSH PRIVILEGES");
    const status = await cli([
      "status",
      "--table",
      account.table,
      "--url",
      accountUrl(account, { "server-public-key-path": keyFile }),
    ]);
    assert.equal(status.code, 0, status.stderr);
  });
});

describe("TLS refusals are configuration errors", () => {
  /** `ready` of a store on `connection` rejects at once with ERR_CONFIG matching `fix`. */
  async function assertRefused(connection: string, fix: RegExp) {
    await closing(async (defer) => {
      const started = Date.now();
      const store = watched({ connection, tablename: tableName(), createtable: false });
      defer(() => store.store.close());
      await assert.rejects(store.store.ready, (error: { code: string; message: string }) => {
        assert.equal(error.code, "ERR_CONFIG", error.message);
        assert.match(error.message, fix);
        return true;
      });
      assert.ok(Date.now() - started < 2_000, `ready took ${Date.now() - started} ms`);
      assert.deepEqual(store.changes, []);
    });
  }

  it("MySQL's auto-generated certificate: its CA verifies; a host-name check and an untrusted chain are refused", async (t) => {
    if (kind !== "mysql") {
      return t.skip("MySQL makes its own certificates; tls.test.ts covers MariaDB");
    }
    const account = await appAccount();
    await assertWorks(accountUrl(account, { "ssl-ca": MYSQL_CA }), account.table);
    // Its certificate names no host (CN=MySQL_Server_<version>_Auto_Generated_Server_Certificate).
    await assertRefused(
      accountUrl(account, { "ssl-mode": "VERIFY_IDENTITY", "ssl-ca": MYSQL_CA }),
      /not issued for the host name.*VERIFY_CA/,
    );
    // Node's public CAs do not include the server's own.
    await assertRefused(
      accountUrl(account, { "ssl-mode": "VERIFY_CA" }),
      /not signed by a CA the connection trusts.*\?ssl-ca=/,
    );
  });

  it("TLS asked of a server without TLS: refused, naming the server's missing certificate", async (t) => {
    const [rows] = await db.admin.raw("SHOW VARIABLES LIKE 'have_ssl'");
    const have = (rows as { Value: string }[])[0]?.Value;
    // MySQL 8.4+ dropped have_ssl: it always has TLS.
    if (have === undefined || have === "YES") return t.skip("this server has TLS");
    const account = await appAccount();
    await assertRefused(
      accountUrl(account, { "ssl-mode": "REQUIRED" }),
      /asks for TLS but the server .* offers none/,
    );
  });
});
