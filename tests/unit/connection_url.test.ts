// Connection URLs as users paste them: mysql2's options and MySQL's client TLS settings in the
// query string, and errors that name where the URL came from without echoing it.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import { connectionConfigOf } from "../../src/connection_url.ts";
import { cli } from "../helpers/cli.ts";

describe("connectionConfigOf", () => {
  it("decodes the parts, reads mysql2's options as JSON, and the TLS files into ssl", async () => {
    const dir = await mkdtemp(join(tmpdir(), "kms-url-"));
    try {
      await writeFile(join(dir, "ca.pem"), "CA");
      await writeFile(join(dir, "key.pem"), "PUBLIC KEY");
      const config = connectionConfigOf(
        `mysql://app%40x:p%3Aw@[::1]:3307/my%20db?allowPublicKeyRetrieval=true&charset=utf8mb4` +
          `&ssl-ca=${join(dir, "ca.pem")}&server-public-key-path=${join(dir, "key.pem")}`,
        "url",
      );
      assert.deepEqual(config, {
        host: "::1",
        port: 3307,
        user: "app@x",
        password: "p:w",
        database: "my db",
        allowPublicKeyRetrieval: true,
        charset: "utf8mb4",
        serverPublicKey: "PUBLIC KEY",
        ssl: { ca: "CA", rejectUnauthorized: true },
      });
      const identity = connectionConfigOf(
        `mysql://h/db?ssl-mode=verify-identity&ssl-ca=${join(dir, "ca.pem")}`,
        "url",
      );
      assert.deepEqual(identity.ssl, { ca: "CA", rejectUnauthorized: true, verifyIdentity: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("ssl-mode as MySQL's clients read it: REQUIRED encrypts only, VERIFY_CA checks the chain", () => {
    assert.deepEqual(connectionConfigOf("mysql://h/db?ssl-mode=REQUIRED", "url").ssl, {
      rejectUnauthorized: false,
    });
    assert.deepEqual(connectionConfigOf("mysql://h/db?ssl-mode=VERIFY_CA", "url").ssl, {
      rejectUnauthorized: true,
    });
    assert.equal(connectionConfigOf("mysql://h/db?ssl-mode=DISABLED", "url").ssl, undefined);
    assert.deepEqual(
      connectionConfigOf('mysql://h/db?ssl={"rejectUnauthorized":true}', "url").ssl,
      { rejectUnauthorized: true },
    );
    assert.throws(
      () => connectionConfigOf('mysql://h/db?ssl-mode=DISABLED&ssl={"a":1}', "url"),
      /ssl-mode=DISABLED in url contradicts its other TLS settings/,
    );
  });
});

describe("connection URLs in the store and the CLI", () => {
  it("a bad %-escape or ssl-mode is a TypeError naming the option, never the URL", () => {
    assert.throws(
      () => new KnexMySQLStore({ connection: "mysql://app:50%off@127.0.0.1/db" }),
      (error: Error) =>
        error instanceof TypeError &&
        /password in option "connection" has a % that starts no %-escape/.test(error.message) &&
        !error.message.includes("50%off"),
    );
    assert.throws(
      () => new KnexMySQLStore({ connection: "mysql://app@127.0.0.1/db?ssl-mode=PREFERRED" }),
      /ssl-mode in option "connection" must be one of DISABLED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY/,
    );
    assert.throws(
      () =>
        new KnexMySQLStore({ connection: "mysql://app@127.0.0.1/db?ssl-ca=/nonexistent/ca.pem" }),
      /ssl-ca in option "connection" names a file that cannot be read \("\/nonexistent\/ca.pem": ENOENT\)/,
    );
  });

  it("a malformed --url is a usage error (exit 2)", async () => {
    for (const url of ["mysql://app:50%off@127.0.0.1/db", "not a url", "mysql://h/db?ssl-mode=x"]) {
      const result = await cli(["status", "--url", url]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, /--url/);
      assert.ok(!result.stderr.includes("50%off"));
    }
  });
});
