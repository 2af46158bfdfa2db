// The CLI's errors against the real server (MariaDB and MySQL alike): an account that does not
// exist, a table that does not exist, a latin1 connection, secrets in the URL, and the advice
// each message gives.
// Root (--url db.url): the CLI installs and grants, which needs DDL and GRANT rights.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import process from "node:process";
import { URL_OPTION } from "../src/cli/args.ts";
import { type Command, withConnection } from "../src/cli/command.ts";
import { COMMANDS } from "../src/cli/run.ts";
import { procedureName, SCHEMA_VERSION } from "../src/sql.ts";
import { cli, spawnCli } from "./helpers/cli.ts";
import {
  createTestDatabase,
  passwordUrlFor,
  tableName,
  type TestDatabase,
  urlFor,
} from "./helpers/database.ts";

const PREFIX = "knex-mysql-session: ";

let db: TestDatabase;
const users: string[] = [];

before(async () => {
  db = await createTestDatabase("cli_errors");
});
after(async () => {
  try {
    for (const user of users) await db.admin.raw("DROP USER IF EXISTS ?@'%'", [user]);
  } finally {
    await db?.drop();
  }
});

/** A user name no account has yet, dropped after the tests if a test creates it. */
function newUserName(): string {
  const name = `kms_cli_${randomBytes(3).toString("hex")}`;
  users.push(name);
  return name;
}

/** `url` with query parameters added. */
function withQuery(url: string, query: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [name, value] of Object.entries(query)) parsed.searchParams.set(name, value);
  return parsed.toString();
}

async function install(table: string) {
  const result = await cli(["install", "--table", table, "--url", db.url]);
  assert.equal(result.code, 0, result.stderr);
}

/** How often the program name starts a message in `text`. */
function prefixes(text: string): number {
  return text.split(PREFIX).length - 1;
}

describe("grant --apply for an account that does not exist", () => {
  test("says the account does not exist and how to create it; the advice works", async () => {
    const table = tableName("acct");
    await install(table);
    const user = newUserName();
    const account = `'${user}'@'%'`;
    const refused = await cli(["grant", user, "--apply", "--table", table, "--url", db.url]);
    assert.deepEqual(refused, {
      code: 1,
      stdout: "",
      stderr: `${PREFIX}account ${account} does not exist on the server (GRANT creates no ` +
        "account; an account is a user and a host, so 'app'@'localhost' is not 'app'@'%'): " +
        `create it with CREATE USER ${account} IDENTIFIED BY '<password>', then run grant ` +
        "--apply again\n",
    });
    // The statement the message gives, with a password, creates the account GRANT needs.
    const create = /create it with (CREATE USER .*? IDENTIFIED BY '<password>')/
      .exec(refused.stderr)?.[1] as string;
    await db.admin.raw(create.replace("<password>", `pw-${randomBytes(6).toString("hex")}`));
    const granted = await cli(["grant", user, "--apply", "--table", table, "--url", db.url]);
    assert.equal(granted.code, 0, granted.stderr);
    assert.match(granted.stdout, new RegExp(`granted: '${user}'@'%' may now use`));
  });
});

describe("a missing table or procedure says to run install", () => {
  test("grant --apply, upgrade, status, migrate and uninstall", async () => {
    const table = tableName("gone");
    const database = `\`${db.name}\``;
    const user = newUserName();
    await db.admin.raw("CREATE USER ?@'%' IDENTIFIED BY ?", [user, "pw-unused-1"]);
    const cases: [string[], string][] = [
      [
        ["grant", user, "--apply"],
        `table \`${table}\` does not exist in ${database}: run install --table ${table} --sid ` +
        "sid first, then grant --apply again",
      ],
      [
        ["upgrade"],
        `table \`${table}\` does not exist in ${database}: nothing to upgrade; run install ` +
        `--table ${table} --sid sid`,
      ],
      [["status"], `table \`${table}\` does not exist in ${database}: run install`],
    ];
    for (const [argv, message] of cases) {
      const result = await cli([...argv, "--table", table, "--url", db.url]);
      assert.deepEqual(result, { code: 1, stdout: "", stderr: `${PREFIX}${message}\n` }, argv[0]);
    }
    const migrate = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(migrate.code, 1);
    assert.match(
      migrate.stderr,
      new RegExp(
        `^${PREFIX}table \`${table}\` does not exist in ${database}: name the old store's ` +
          "table with --from \\(.*\\), or, with no sessions to migrate, create a new table " +
          "with install\n$",
      ),
    );
    const uninstall = await cli(["uninstall", "--table", table, "--url", db.url]);
    assert.deepEqual(uninstall, {
      code: 0,
      stdout: `nothing to do: no table \`${table}\` and no procedures of it in ${database} ` +
        "(check --table and the database in --url/MYSQL_URL)\n",
      stderr: "",
    });

    // The table without its procedures (a connect-session-knex table, say): grant says so.
    await db.admin.raw(
      `CREATE TABLE \`${table}\` (sid VARCHAR(255) PRIMARY KEY, sess JSON NOT NULL, ` +
        "expired DATETIME NOT NULL)",
    );
    const noProcedures = await cli(["grant", user, "--apply", "--table", table, "--url", db.url]);
    assert.equal(noProcedures.code, 1);
    assert.match(
      noProcedures.stderr,
      new RegExp(
        `^${PREFIX}(FUNCTION or )?PROCEDURE ${procedureName(table, "set")} does not exist in ` +
          `${database}: run install --table ${table} --sid sid \\(upgrade, for a table of an ` +
          `older schema version; migrate --from ${table}, for an old store's table\\) first, ` +
          "then grant --apply again\n$",
      ),
    );
    // status knows the table is not the store's own (not stamped): one migrate does it all.
    assert.match(
      (await cli(["status", "--table", table, "--url", db.url])).stderr,
      new RegExp(
        `procedures of schema version ${SCHEMA_VERSION} missing: .*: run migrate --from ${table}\n`,
      ),
    );
  });
});

describe("the program name is printed once", () => {
  test("a latin1 connection's refusal, from every command that installs", async () => {
    const table = tableName("l1");
    await install(table);
    const latin1 = withQuery(db.url, { charset: "latin1" });
    for (
      const argv of [
        ["install", "--table", tableName("l1")],
        ["upgrade", "--table", table],
        ["migrate", "--from", table],
      ]
    ) {
      const result = await cli([...argv, "--url", latin1]);
      assert.equal(result.code, 1, argv[0]);
      assert.match(
        result.stderr,
        /^knex-mysql-session: the connection's character set is latin1, not utf8mb4: /,
      );
      assert.equal(prefixes(result.stderr + result.stdout), 1, result.stderr);
    }
  });

  test("a prefixed error inside a step", async () => {
    const command: Command = {
      spec: {
        name: "kms-test-inside",
        summary: "test",
        positionals: [],
        options: [URL_OPTION],
        details: "",
      },
      run: async () => {
        await withConnection(
          db.url,
          { stdout: process.stdout, stderr: process.stderr, env: {} },
          (c) =>
            c.step(undefined, () => {
              throw new TypeError("knex-mysql-session: option x must be y");
            }),
        );
        return 0;
      },
    };
    COMMANDS.push(command);
    try {
      assert.deepEqual(await cli(["kms-test-inside"]), {
        code: 1,
        stdout: "",
        stderr: `${PREFIX}option x must be y\n`,
      });
    } finally {
      COMMANDS.splice(COMMANDS.indexOf(command), 1);
    }
  });
});

describe("no secret in any output", () => {
  test("a password in ?password=, in user:password@, right or wrong, on every command", async () => {
    const user = newUserName();
    const password = `pw-${randomBytes(8).toString("hex")}`;
    await db.admin.raw("CREATE USER ?@'%' IDENTIFIED BY ?", [user, password]);
    await db.admin.raw(`GRANT ALL ON \`${db.name}\`.* TO ?@'%'`, [user]);
    const table = tableName("sec");
    const inQuery = withQuery(await passwordUrlFor(db.url, db.name, { user, password: "" }), {
      password,
    });
    const inUserInfo = await passwordUrlFor(db.url, db.name, { user, password });
    const wrong = `wrong-${randomBytes(8).toString("hex")}`;
    const urls = [
      inQuery,
      inUserInfo,
      withQuery(inQuery, { charset: "latin1" }),
      withQuery(await passwordUrlFor(db.url, db.name, { user, password: "" }), { password: wrong }),
      await passwordUrlFor(db.url, db.name, { user, password: wrong }),
      withQuery(await passwordUrlFor(db.url, `${db.name}_none`, { user, password: "" }), {
        password,
      }),
      withQuery(`mysql://${user}@127.0.0.1:1/${db.name}`, { password }),
    ];
    const commands = [
      ["sql"],
      ["grant", "app", "--table", table],
      ["grant", `${user}_none`, "--apply", "--table", table],
      ["install", "--table", table],
      ["grant", user, "--apply", "--table", table],
      ["upgrade", "--table", table],
      ["status", "--table", table],
      ["status", "--table", `${table}_none`],
      ["migrate", "--from", table, "--dry-run"],
      ["migrate", "--from", `${table}_none`],
      ["uninstall", "--table", table],
      ["uninstall", "--table", `${table}_none`],
    ];
    let ran = 0;
    for (const url of urls) {
      for (const argv of commands) {
        for (
          const result of [
            await cli([...argv, "--url", url]),
            await cli(argv, { env: { MYSQL_URL: url } }),
          ]
        ) {
          const output = result.stdout + result.stderr;
          for (const secret of [password, wrong]) {
            assert.ok(!output.includes(secret), `${argv.join(" ")} printed a secret: ${output}`);
          }
          ran++;
        }
      }
    }
    assert.equal(ran, urls.length * commands.length * 2);
    // The right password in the query logs in: status printed its table.
    const status = await cli(["status", "--table", table, "--url", inQuery]);
    assert.match(status.stdout, /^table: /);
    // As a child process, whatever the driver itself writes is checked too.
    const child = spawnCli(["status", "--url", withQuery(inQuery, { password: wrong })]);
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.equal(code, 1);
    // The account and server are named, not the URL: nothing of the password to redact.
    assert.match(
      output,
      /refused the login of '\w+' at [\d.]+:\d+ .*: check the user and password in --url/,
    );
    assert.ok(!output.includes(wrong), output);
  });
});

describe("every error names the fix", () => {
  test("refused login, missing database; --url or MYSQL_URL named", async () => {
    const wrong = await passwordUrlFor(db.url, db.name, {
      user: "root",
      password: "not-the-password",
    });
    const missingDb = urlFor(db.url, `${db.name}_none`);
    for (
      const [source, run] of [
        ["--url", (url: string) => cli(["status", "--url", url])],
        ["MYSQL_URL", (url: string) => cli(["status"], { env: { MYSQL_URL: url } })],
      ] as const
    ) {
      assert.match(
        (await run(wrong)).stderr,
        new RegExp(
          `refused the login of 'root' at .*\\(Access denied .*: check the user and password in ` +
            `${source} \\(percent-encode special characters in a mysql:// URL, e.g. @ as %40\\), ` +
            "and that the account exists for the host",
        ),
      );
      assert.match(
        (await run(missingDb)).stderr,
        new RegExp(
          `does not exist: Unknown database '${db.name}_none': create it \\(CREATE DATABASE ` +
            `\`${db.name}_none\`\\) or name another in ${source}\n$`,
        ),
      );
    }
  });
});
