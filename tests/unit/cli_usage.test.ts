// The CLI's usage: its own messages for unknown options and bad values (never Node's parseArgs
// text), --version, URLs that are not mysql:// URLs, and values from the command line that
// reach SQL text or a lookup; --help, usage errors, printed SQL and GRANTs, and the errors met
// before a server answers. None of these needs a server.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import type { Command } from "../../src/cli/command.ts";
import { redactSecretsIn, redactUrl } from "../../src/cli/admin_connection.ts";
import { SessionStoreError } from "../../src/errors.ts";
import { procedureName, PROCEDURES } from "../../src/sql.ts";
import { COMMANDS } from "../../src/cli/run.ts";
import { VERSION } from "../../src/cli/version.ts";
import { cli, spawnCli } from "../helpers/cli.ts";

const PREFIX = "knex-mysql-session: ";
/** A URL no server answers at (port 1 refuses at once). */
const UNREACHABLE = "mysql://root@127.0.0.1:1/x";

/** The whole output of the CLI as a child process. */
function runChild(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawnCli(argv);
  let out = "";
  let err = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  child.stderr.on("data", (chunk) => (err += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, out, err })));
}

describe("unknown options and bad option values get the CLI's own message", () => {
  test("grant --user x names the command's options, for every command", async () => {
    const grant = await cli(["grant", "--user", "x"]);
    assert.equal(grant.code, 2);
    assert.equal(grant.stdout, "");
    assert.equal(
      grant.stderr,
      `${PREFIX}grant: unknown option --user (options: --table, --sid, --apply, --database, ` +
        "--url; see grant --help)\n",
    );
    for (const { spec } of COMMANDS) {
      const options = spec.options.map((option) => `--${option.name}`).join(", ");
      for (const unknown of ["--user", "--user=x", "-x", "--constructor", "--__proto__"]) {
        const result = await cli([spec.name, unknown]);
        assert.equal(result.code, 2, `${spec.name} ${unknown}`);
        const shown = unknown.replace(/=.*/, "");
        assert.equal(
          result.stderr,
          `${PREFIX}${spec.name}: unknown option ${shown} (options: ${options}; ` +
            `see ${spec.name} --help)\n`,
        );
      }
    }
  });

  test("a missing value, a value for a flag, a forgotten value, extra or missing arguments", async () => {
    const cases: [string[], string][] = [
      [
        ["install", "--table"],
        "install: --table needs a value: --table <name> (see install --help)",
      ],
      [
        ["install", "--table", "--url", "mysql://h/db"],
        "install: --table needs a value, --table <name>, and got the option --url: give the " +
        "value, or write --table=--url if that is it (see install --help)",
      ],
      [["grant", "app", "--apply=yes"], "grant: --apply takes no value (see grant --help)"],
      [
        ["grant", "app", "other"],
        'grant: unexpected argument "other": grant takes only <account> (see grant --help)',
      ],
      [
        ["status", "extra"],
        'status: unexpected argument "extra": status takes no arguments, only options ' +
        "(see status --help)",
      ],
      [
        ["grant"],
        "grant: missing <account>, the app's account, e.g. app@'%' or app@10.0.0.% " +
        "(see grant --help)",
      ],
      [
        ["grant", "@db.example"],
        "grant: \"@db.example\" names no user: write <user>@<host>, e.g. app@'%' " +
        "(see grant --help)",
      ],
      [
        ["--tabel"],
        "unknown option --tabel before the command: write <command> [options]; commands: " +
        "sql, grant, install, upgrade, uninstall, status, migrate, backfill (see --help)",
      ],
    ];
    for (const [argv, message] of cases) {
      const result = await cli(argv);
      assert.deepEqual(result, { code: 2, stdout: "", stderr: `${PREFIX}${message}\n` });
    }
    // -h stays --help's short form; `--` ends the options.
    assert.equal((await cli(["grant", "-h"])).code, 0);
    const printed = await cli(["grant", "--database", "db", "--", "-odd"]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /TO '-odd'@'%';/);
  });
});

describe("--version", () => {
  const packageVersion = JSON.parse(
    readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
  ).version;

  test("the version constant is package.json's and deno.json's", () => {
    const denoVersion = JSON.parse(
      readFileSync(new URL("../../deno.json", import.meta.url), "utf8"),
    ).version;
    assert.equal(VERSION, packageVersion);
    assert.equal(VERSION, denoVersion);
  });

  test("--version and -V print it and exit 0, in-process and as a child process", async () => {
    for (const flag of ["--version", "-V"]) {
      assert.deepEqual(await cli([flag]), { code: 0, stdout: `${packageVersion}\n`, stderr: "" });
    }
    assert.deepEqual(await runChild(["--version"]), {
      code: 0,
      out: `${packageVersion}\n`,
      err: "",
    });
    assert.match((await cli(["--help"])).stdout, /^ {2}-V, --version +print the version$/m);
  });
});

describe("output into a pipe", () => {
  test("a reader that closes the pipe early (sql | head) ends the command quietly", async () => {
    const child = spawnCli(["sql", "--server", "mysql"]);
    // Closed before the child writes: its first write meets a pipe with no reader (EPIPE).
    child.stdout.destroy();
    let err = "";
    child.stderr.on("data", (chunk) => (err += chunk));
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(err, "");
    assert.equal(code, 0);
  });
});

describe("a server URL that is not a mysql:// URL says so without echoing it", () => {
  test("--url and MYSQL_URL are named, the URL is not printed", async () => {
    const secret = "s3cret-pw";
    const cases: [string, string][] = [
      [
        `notaurl-${secret}`,
        "is not a mysql:// URL (expected mysql://user:password@host:3306/database; " +
        "percent-encode special characters in the user and password, e.g. @ as %40)",
      ],
      [
        `mysql://root:${secret}@127.0.0.1:99999/x`,
        "is not a mysql:// URL (expected mysql://user:password@host:3306/database; " +
        "percent-encode special characters in the user and password, e.g. @ as %40)",
      ],
      [
        `postgres://root:${secret}@h/db`,
        "must start with mysql:// (it starts with postgres://; expected " +
        "mysql://user:password@host:3306/database)",
      ],
      [
        `mysql://root:${secret}@h`,
        "names no database: add /<database> (mysql://user:password@host:3306/database)",
      ],
      [
        `mysql:///db?password=${secret}`,
        "names no host: expected mysql://user:password@host:3306/database",
      ],
    ];
    for (const [url, problem] of cases) {
      // A malformed --url is a usage error; a malformed MYSQL_URL is not the command line's.
      const flag = await cli(["status", "--url", url]);
      assert.deepEqual(flag, {
        code: 2,
        stdout: "",
        stderr: `${PREFIX}--url ${problem} (see status --help)\n`,
      });
      const env = await cli(["status"], { env: { MYSQL_URL: url } });
      assert.deepEqual(env, { code: 1, stdout: "", stderr: `${PREFIX}MYSQL_URL ${problem}\n` });
    }
    assert.equal(
      (await cli(["status", "--url", `mysql://root:p%zz${secret}@h/db`])).stderr,
      `${PREFIX}the password in --url has a % that starts no %-escape: write % as %25 (and @ ` +
        "as %40, : as %3A, / as %2F) (see status --help)\n",
    );
    assert.equal(
      (await cli(["status", "--url", "mysql://h/db%60x"])).stderr,
      `${PREFIX}the database in --url contains a backtick: name a database without ` +
        "backticks and control characters, of at most 64 characters (see status --help)\n",
    );
    assert.equal(
      (await cli(["status", "--url", ""])).stderr,
      `${PREFIX}--url is empty: pass --url mysql://user:password@host:3306/database\n`,
    );
  });

  test("redactUrl hides the password in every form mysql2 reads it from", () => {
    assert.equal(
      redactUrl("mysql://app:pw1@h:3306/db?password=pw2&password1=pw3&ssl=%7B%22key%22%3A1%7D"),
      "mysql://app:***@h:3306/db?password=***&password1=***&ssl=***",
    );
    assert.equal(
      redactUrl("mysql://app@h/db?charset=latin1&timezone=Z&passwordSha1=x#frag"),
      "mysql://app@h/db?charset=latin1&timezone=Z&passwordSha1=***#***",
    );
    assert.equal(
      redactSecretsIn("at mysql://a:pw@h/db?x=1&Password=pw&api_key=k, mysql://user:password@host"),
      "at mysql://a:***@h/db?x=1&Password=***&api_key=***, mysql://user:password@host",
    );
    // TLS settings name files and modes: a printed fix keeps them; a key in ssl={…} does not.
    assert.equal(
      redactSecretsIn(
        "`?ssl-ca=/path/ca.pem`, `?server-public-key-path=/k.pem`, ?ssl-mode=VERIFY_CA&ssl={x}",
      ),
      "`?ssl-ca=/path/ca.pem`, `?server-public-key-path=/k.pem`, ?ssl-mode=VERIFY_CA&ssl=***",
    );
  });
});

describe("values from the command line that reach SQL text or a lookup", () => {
  test("--database is checked before it reaches the GRANT text", async () => {
    const injected = await cli([
      "grant",
      "app",
      "--database",
      "prod`.* TO 'x'@'%'; DROP DATABASE prod; -- ",
    ]);
    assert.deepEqual(injected, {
      code: 2,
      stdout: "",
      stderr: `${PREFIX}--database "prod\`.* TO 'x'@'%'; DROP DATABASE prod; -- " contains a ` +
        "backtick: name a database without backticks and control characters, of at most 64 " +
        "characters (see grant --help)\n",
    });
    for (const name of ["", "a\nb", "x".repeat(65), "trailing "]) {
      assert.equal((await cli(["grant", "app", "--database", name])).code, 2, JSON.stringify(name));
    }
    // A name with a dash, common for databases, is fine; so is the URL's database.
    const dashed = await cli(["grant", "app", "--database", "my-app"]);
    assert.match(dashed.stdout, /^GRANT SELECT ON `my-app`\.`sessions` TO 'app'@'%';$/m);
    const fromUrl = await cli(["grant", "app"], { env: { MYSQL_URL: "mysql://h/my%60app" } });
    assert.equal(fromUrl.code, 1);
    assert.equal(fromUrl.stdout, "");
    assert.match(fromUrl.stderr, /the database in MYSQL_URL contains a backtick/);
    // The account is quoted as a string: a quote in it cannot end it.
    const account = await cli(["grant", "a'b@%", "--database", "db"]);
    assert.match(account.stdout, /TO 'a''b'@'%';/);
    // --apply grants in the URL's database: a --database beside it would be silently ignored.
    const both = await cli(["grant", "app", "--apply", "--database", "prod"]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /--database only qualifies printed GRANTs/);
  });

  test("--server looks up own keys only: __proto__ and friends are refused", async () => {
    for (const server of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
      const result = await cli(["sql", "--server", server]);
      assert.deepEqual(result, {
        code: 2,
        stdout: "",
        stderr: `${PREFIX}--server must be mysql or mariadb (got ${
          JSON.stringify(server)
        }) (see sql --help)\n`,
      });
    }
  });
});

describe("--help, usage errors, printed SQL and GRANTs", () => {
  test("--help lists every command; each command's --help lists its options", async () => {
    const overview = await cli(["--help"]);
    assert.equal(overview.code, 0);
    for (const { spec } of COMMANDS) {
      const line = overview.stdout.split("\n").find((l) => l.startsWith(`  ${spec.name} `));
      assert.equal(line?.trim().replace(/ +/, " "), `${spec.name} ${spec.summary}`);
      const help = await cli([spec.name, "--help"]);
      assert.equal(help.code, 0, spec.name);
      assert.match(help.stdout, new RegExp(`^Usage: knex-mysql-session ${spec.name}`));
      for (const option of spec.options) {
        assert.match(help.stdout, new RegExp(`--${option.name}\\b`));
      }
      assert.equal((await cli([spec.name, "-h"])).stdout, help.stdout);
    }
  });

  test("no command prints the overview and exits 2; unknown commands and options exit 2", async () => {
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /^Usage: knex-mysql-session <command>/);
    const unknown = await cli(["instal"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command "instal": one of sql, grant, install/);
    const option = await cli(["install", "--tabel", "x"]);
    assert.equal(option.code, 2);
    assert.equal(
      option.stderr,
      "knex-mysql-session: install: unknown option --tabel (options: --table, --sid, --url; " +
        "see install --help)\n",
    );
    const missing = await cli(["grant"]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /grant: missing <account>/);
    const badTable = await cli(["sql", "--server", "mysql", "--table", "x;drop"]);
    assert.equal(badTable.code, 2);
    assert.match(badTable.stderr, /--table "x;drop" must match/);
    const badBatch = await cli([
      "migrate",
      "--from",
      "t",
      "--batch-size",
      "0",
      "--url",
      UNREACHABLE,
    ]);
    assert.match(badBatch.stderr, /--batch-size must be a positive integer \(got "0"\)/);
    assert.match((await cli(["migrate"])).stderr, /--from <table> is required/);
  });

  test("the sid collation follows the server named; without one, --url is asked for", async () => {
    assert.match(
      (await cli(["sql", "--server", "mysql"])).stdout,
      /COLLATE utf8mb4_0900_bin NOT NULL/,
    );
    assert.match(
      (await cli(["sql", "--server", "mariadb"])).stdout,
      /COLLATE utf8mb4_nopad_bin NOT NULL/,
    );
    const neither = await cli(["sql"]);
    assert.equal(neither.code, 2);
    assert.match(neither.stderr, /--server mysql, --server mariadb, or --url/);
    assert.match(
      (await cli(["sql", "--server", "oracle"])).stderr,
      /--server must be mysql or mariadb/,
    );
  });

  test("grant prints SELECT on the table and EXECUTE on each procedure", async () => {
    const printed = await cli(["grant", "app@10.0.0.%", "--table", "web", "--database", "prod"]);
    assert.equal(printed.code, 0);
    assert.equal(
      printed.stdout,
      [
        "GRANT SELECT ON `prod`.`web` TO 'app'@'10.0.0.%';",
        ...PROCEDURES.map((name) =>
          `GRANT EXECUTE ON PROCEDURE \`prod\`.\`${
            procedureName("web", name)
          }\` TO 'app'@'10.0.0.%';`
        ),
        "",
      ].join("\n"),
    );
    // The database comes from the URL, which printing does not connect to.
    const fromUrl = await cli(["grant", "app"], { env: { MYSQL_URL: `${UNREACHABLE}_db` } });
    assert.match(fromUrl.stdout, /^GRANT SELECT ON `x_db`\.`sessions` TO 'app'@'%';/);
  });
});

describe("errors before a server answers", () => {
  test("an unreachable server is named, without the password, with --url or MYSQL_URL", async () => {
    const url = "mysql://root:s3cret-pw@127.0.0.1:1/x";
    for (
      const [source, result] of [
        ["--url", await cli(["status", "--url", url])],
        ["MYSQL_URL", await cli(["status"], { env: { MYSQL_URL: url } })],
      ] as const
    ) {
      assert.deepEqual(result, {
        code: 1,
        stdout: "",
        stderr: "knex-mysql-session: cannot reach the MySQL server at 127.0.0.1:1: connection " +
          "refused (ECONNREFUSED): nothing listens on that port: check the host and port in " +
          `${source} (mysql://root:***@127.0.0.1:1/x), and that the server is running and ` +
          "accepts connections from here\n",
      });
    }
  });

  test("a store error outside a step is printed once, with the program name", async () => {
    const command: Command = {
      spec: {
        name: "kms-test-outside",
        summary: "test",
        positionals: [],
        options: [],
        details: "",
      },
      run: () => {
        throw new SessionStoreError("ERR_CONFIG", "the connection's character set is latin1");
      },
    };
    COMMANDS.push(command);
    try {
      assert.deepEqual(await cli(["kms-test-outside"]), {
        code: 1,
        stdout: "",
        stderr: `${PREFIX}the connection's character set is latin1\n`,
      });
    } finally {
      COMMANDS.splice(COMMANDS.indexOf(command), 1);
    }
  });

  test("no server given, a URL that is not a mysql:// URL", async () => {
    assert.match(
      (await cli(["install"])).stderr,
      /no server given: pass --url .* or set MYSQL_URL/,
    );
    assert.match(
      (await cli(["install", "--url", "postgres://x@h/db"])).stderr,
      /must start with mysql:\/\//,
    );
    assert.match(
      (await cli(["install", "--url", "mysql://root@127.0.0.1"])).stderr,
      /names no database/,
    );
  });
});
