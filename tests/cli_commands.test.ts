// Every CLI command against the real server: sql (applied by the real mariadb client), grant,
// install, upgrade, uninstall, status, and the errors a user meets there. What needs no server
// (--help, usage errors, printed SQL and GRANTs) is in tests/unit/cli_usage.test.ts.
// Root (--url db.url): the CLI installs and grants, which needs DDL and GRANT rights.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../mod.ts";
import { procedureName, PROCEDURES, SCHEMA_VERSION } from "../src/sql.ts";
import { assertExactLayout, cli } from "./helpers/cli.ts";
import {
  createTestDatabase,
  passwordUrlFor,
  tableName,
  type TestDatabase,
} from "./helpers/database.ts";
import { type ServerFacts, serverFacts } from "./helpers/server.ts";
import { sessionFor } from "./helpers/sessions.ts";

let db: TestDatabase;
let server: ServerFacts;
before(async () => {
  db = await createTestDatabase("cli_commands");
  server = await serverFacts(db.admin);
});
after(() => db?.drop());

async function procedures(table: string): Promise<string[]> {
  const [rows] = await db.admin.raw(
    "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? " +
      "AND ROUTINE_NAME LIKE ? ORDER BY ROUTINE_NAME",
    [db.name, `${table}\\_%`],
  );
  return (rows as { name: string }[]).map((row) => row.name);
}

/** A store round trip proves the schema works. */
async function assertStoreWorks(table: string, url = db.url) {
  const knex = db.connect({}, url);
  const store = new KnexMySQLStore({
    knex,
    tablename: table,
    createtable: false,
    clearInterval: 0,
  });
  try {
    await store.set("sid-1", sessionFor({ user: "alice" }));
    assert.equal((await store.get("sid-1") as unknown as { user: string }).user, "alice");
    await store.destroy("sid-1");
    assert.equal(await store.get("sid-1"), null);
  } finally {
    await store.close();
  }
}

describe("sql", () => {
  test("the printed SQL applies unchanged with the mariadb client, twice, and the store runs on it", async () => {
    const table = tableName("dba");
    // For the server under test: the other kind's sid collation does not exist on it.
    const printed = await cli(["sql", "--server", server.kind, "--table", table]);
    assert.equal(printed.code, 0, printed.stderr);
    assert.match(printed.stdout, /^DELIMITER \$\$$/m);
    const url = new URL(db.url);
    for (let run = 0; run < 2; run++) {
      const client = spawnSync(
        "mariadb",
        [
          "-h",
          url.hostname,
          "-P",
          url.port || "3306",
          "-u",
          decodeURIComponent(url.username),
          db.name,
        ],
        {
          input: printed.stdout,
          encoding: "utf8",
          env: { ...process.env, MYSQL_PWD: decodeURIComponent(url.password) },
        },
      );
      assert.equal(client.status, 0, client.stderr);
    }
    assert.equal((await procedures(table)).length, PROCEDURES.length);
    await assertStoreWorks(table);
    assertExactLayout(
      await cli(["status", "--table", table, "--url", db.url]),
      server.sidCollation,
    );
  });

  test("asked, the server names its own kind's sid collation", async () => {
    const asked = await cli(["sql", "--url", db.url]);
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, new RegExp(`COLLATE ${server.sidCollation} NOT NULL`));
    assert.equal(asked.stdout, (await cli(["sql", "--server", server.kind])).stdout);
  });
});

describe("install, upgrade, uninstall, status", () => {
  test("install is idempotent and reports the schema version", async () => {
    const table = tableName("life");
    const first = await cli(["install", "--table", table, "--url", db.url]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`created table \`${table}\``));
    assert.equal(first.stdout.match(/created procedure/g)?.length, PROCEDURES.length);
    assert.match(first.stdout, new RegExp(`schema version ${SCHEMA_VERSION}$`, "m"));
    const second = await cli(["install", "--table", table], { env: { MYSQL_URL: db.url } });
    assert.equal(second.code, 0, second.stderr);
    assert.match(
      second.stdout,
      new RegExp(`nothing to do: everything is installed\nschema version ${SCHEMA_VERSION}`),
    );
    await assertStoreWorks(table);
  });

  test("upgrade keeps older procedure versions for old apps until --prune", async () => {
    const table = tableName("upg");
    assert.match(
      (await cli(["upgrade", "--table", table, "--url", db.url])).stderr,
      new RegExp(`\`${table}\` does not exist in \`${db.name}\`: nothing to upgrade; run install`),
    );
    await cli(["install", "--table", table, "--url", db.url]);
    // A procedure of an older schema version, as a previous release would have left.
    const older = `${table}_set_v${SCHEMA_VERSION - 1}`;
    await db.admin.raw(`CREATE PROCEDURE \`${older}\`() BEGIN END`);
    const touch = procedureName(table, "touch");
    await db.admin.raw(`DROP PROCEDURE \`${touch}\``);
    const status = await cli(["status", "--table", table, "--url", db.url]);
    assert.match(
      status.stderr,
      new RegExp(`procedures of schema version ${SCHEMA_VERSION} missing: ${touch}`),
    );
    assert.match(
      status.stderr,
      new RegExp(`old procedure version v${SCHEMA_VERSION - 1} still installed`),
    );
    const upgrade = await cli(["upgrade", "--table", table, "--url", db.url]);
    assert.equal(upgrade.code, 0, upgrade.stderr);
    assert.match(upgrade.stdout, new RegExp(`created procedure \`${touch}\``));
    assert.match(upgrade.stdout, new RegExp(`older procedures kept .*${older}`));
    assert.ok((await procedures(table)).includes(older));
    const pruned = await cli(["upgrade", "--prune", "--table", table, "--url", db.url]);
    assert.match(pruned.stdout, new RegExp(`dropped procedure \`${older.toLowerCase()}\``));
    assert.deepEqual(
      await procedures(table),
      PROCEDURES.map((procedure) => procedureName(table, procedure)).sort(),
    );
    assert.equal((await cli(["status", "--table", table, "--url", db.url])).stderr, "");
  });

  test("uninstall drops the procedures, the table only with --drop-table, and is idempotent", async () => {
    const table = tableName("un");
    await cli(["install", "--table", table, "--url", db.url]);
    const first = await cli(["uninstall", "--table", table, "--url", db.url]);
    assert.equal(first.stdout.match(/dropped procedure/g)?.length, PROCEDURES.length);
    assert.deepEqual(await procedures(table), []);
    assert.ok(await db.admin.schema.hasTable(table));
    const second = await cli(["uninstall", "--table", table, "--url", db.url]);
    assert.equal(second.stdout, "nothing to do: nothing is installed\n");
    const dropping = await cli(["uninstall", "--drop-table", "--table", table, "--url", db.url]);
    assert.equal(dropping.stdout, `dropped table \`${table}\`\n`);
    assert.equal(await db.admin.schema.hasTable(table), false);
  });

  test("status counts live and expired sessions and warns about what weakens the store", async () => {
    const table = tableName("st");
    // connect-session-knex's table: the sid gets the database's default collation, which is
    // case-insensitive (MariaDB utf8mb4_general_ci, MySQL utf8mb4_0900_ai_ci); here no index.
    const collation = server.defaultCollation;
    assert.match(collation, /_ci$/, "the database's default collation is case-insensitive");
    await db.admin.schema.createTable(table, (t) => {
      t.string("sid").primary();
      t.json("sess").notNullable();
      t.dateTime("expired").notNullable();
    });
    await db.admin(table).insert([
      { sid: "a", sess: "{}", expired: "2999-01-01 00:00:00" },
      { sid: "b", sess: "{}", expired: "2999-01-01 00:00:00" },
      { sid: "c", sess: "{}", expired: "2001-02-03 04:05:06" },
    ]);
    const status = await cli(["status", "--table", table, "--url", db.url]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /layout: +connect-session-knex \(not stamped/);
    assert.match(status.stdout, /sessions: +2 live, 1 expired/);
    assert.match(status.stdout, /backlog: +expired since 2001-02-03 04:05:06 UTC/);
    assert.match(status.stdout, new RegExp(`sid column: \`sid\` varchar\\(255\\) ${collation}\n`));
    assert.match(
      status.stderr,
      new RegExp(`warning: column .* case-insensitive collation ${collation}:`),
    );
    assert.match(status.stderr, /warning: no index on `expired`/);
    assert.match(
      status.stderr,
      new RegExp(`warning: procedures of schema version ${SCHEMA_VERSION} missing`),
    );
    const missing = await cli(["status", "--table", tableName("none"), "--url", db.url]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not exist in `kms_cli_commands_\w+`: run install/);
  });
});

describe("grant", () => {
  test("--apply grants exactly enough for the store with createtable: false", async () => {
    const table = tableName("gr");
    await cli(["install", "--table", table, "--url", db.url]);
    const app = await db.account([]);
    const applied = await cli([
      "grant",
      `${app.name}@%`,
      "--apply",
      "--table",
      table,
      "--url",
      db.url,
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout.match(/^GRANT /gm)?.length, 1 + PROCEDURES.length);
    await assertStoreWorks(table, app.url);
    await assert.rejects(
      db.connect({}, app.url).raw(`DELETE FROM \`${table}\``),
      /DELETE command denied/,
    );
  });
});

describe("errors a user meets", () => {
  test("a wrong password is refused without echoing it", async () => {
    const wrong = await passwordUrlFor(db.url, db.name, {
      user: "root",
      password: "not-the-password",
    });
    const refused = await cli(["install", "--url", wrong]);
    assert.match(
      refused.stderr,
      /refused the login of 'root' at [^ ]+ \(Access denied for user 'root'/,
    );
    assert.doesNotMatch(refused.stderr, /not-the-password/);
  });

  test("a missing privilege names the GRANT that is missing", async () => {
    const reader = await db.account(["SELECT"]);
    const table = tableName("priv");
    const noCreate = await cli(["install", "--table", table, "--url", reader.url]);
    assert.equal(noCreate.code, 1);
    assert.match(
      noCreate.stderr,
      new RegExp(`missing privilege: GRANT CREATE ON \`${db.name}\`\\.\\* TO '${reader.name}'@'%'`),
    );
    const noRoutine = await db.account(["SELECT", "CREATE", "ALTER"]);
    const result = await cli(["install", "--table", table, "--url", noRoutine.url]);
    assert.match(
      result.stderr,
      new RegExp(
        `missing privilege: GRANT CREATE ROUTINE ON \`${db.name}\`\\.\\* TO '${noRoutine.name}'@'%'`,
      ),
    );
    // The schema exists (installed by the owner): what the account lacks is GRANT OPTION.
    assert.equal((await cli(["install", "--table", table, "--url", db.url])).code, 0);
    const noGrant = await cli([
      "grant",
      "someone",
      "--apply",
      "--table",
      table,
      "--url",
      noRoutine.url,
    ]);
    assert.match(
      noGrant.stderr,
      new RegExp(`missing privilege: GRANT GRANT OPTION ON \`${db.name}\`\\.\\* TO`),
    );
  });

  test("a table of no known layout is refused, naming its columns", async () => {
    const table = tableName("odd");
    await db.admin.raw(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, payload TEXT)`);
    const result = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      new RegExp(`\`${table}\` has an unknown layout \\(columns: id, payload\\)`),
    );
    const missing = await cli(["migrate", "--from", tableName("none"), "--url", db.url]);
    assert.match(missing.stderr, /does not exist in/);
  });
});
