// migrate's plan and run: --dry-run changes nothing, a killed copy resumes where it stopped,
// progress shows as a bar on a terminal, rows the old store could not read either are handled.
// Root: migrating (ALTER, copying tables) is an installer's job, and the old stores create tables.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Knex } from "knex";
import { SCHEMA_VERSION } from "../src/sql.ts";
import { cli, spawnCli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { call, oldSession, oldStore } from "./helpers/old_stores.ts";
import { type ServerFacts, serverFacts } from "./helpers/server.ts";

let db: TestDatabase;
let knex: Knex;
let server: ServerFacts;

before(async () => {
  db = await createTestDatabase("migrate_resume");
  knex = db.connect();
  server = await serverFacts(knex);
});
after(() => db?.drop());

/** A connect-session-knex v5 table holding its own sessions plus `bulk` rows in its format. */
async function v5Table(bulk: number): Promise<string> {
  const table = tableName("old");
  await closing(async (defer) => {
    const old = oldStore("connect-session-knex-v5", { knex, url: db.url, table });
    defer(() => old.close());
    await old.ready;
    for (let i = 0; i < 5; i++) {
      await call(old.store, "set", `real-${i}`, oldSession({ i }, 3_600_000));
    }
  });
  const rows = Array.from({ length: bulk }, (_, i) => ({
    sid: `bulk-${String(i).padStart(5, "0")}`,
    sess: JSON.stringify({ cookie: { originalMaxAge: 3_600_000 }, i }),
    expired: "2999-12-31 00:00:00",
  }));
  for (let i = 0; i < rows.length; i += 1000) await knex(table).insert(rows.slice(i, i + 1000));
  return table;
}

async function fingerprint(table: string): Promise<string> {
  const [rows] = await knex.raw(
    `SELECT COUNT(*) AS n, SUM(CRC32(CONCAT(CAST(sid AS BINARY), '|', CAST(sess AS BINARY), '|', expired))) AS crc FROM \`${table}\``,
  );
  return JSON.stringify((rows as unknown[])[0]);
}

async function columnTypes(table: string): Promise<string[]> {
  const [rows] = await knex.raw(
    "SELECT CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE, ' ', IFNULL(COLLATION_NAME, '')) AS c " +
      "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
    [db.name, table],
  );
  return (rows as { c: string }[]).map((row) => row.c);
}

async function count(table: string): Promise<number> {
  const [rows] = await knex.raw(`SELECT COUNT(*) AS n FROM \`${table}\``);
  return Number((rows as { n: number }[])[0]!.n);
}

describe("migrate", () => {
  test("a copy killed mid-way resumes where it stopped and ends complete", async () => {
    const from = await v5Table(2000);
    const to = tableName("new");
    let stdout = "";
    await closing(async (defer) => {
      const child = spawnCli([
        "migrate",
        "--from",
        from,
        "--to",
        to,
        "--batch-size",
        "4",
        "--url",
        db.url,
      ]);
      child.stdout.on("data", (chunk) => (stdout += chunk));
      const exited = new Promise((resolve) => child.on("exit", resolve));
      // Kill it as soon as some rows are copied, as a crash or a lost SSH session would; and
      // however this ends, for a child left running keeps the test process alive.
      const kill = defer(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        return exited;
      });
      for (let waited = 0;; waited += 10) {
        assert.ok(waited < 30_000, `no rows copied: ${stdout}`);
        if ((await knex.schema.hasTable(to)) && (await count(to)) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      await kill();
    });
    assert.match(stdout, /^copying: 0\/2005 \(0%\)$/m, "plain progress lines off a terminal");
    const partial = await count(to);
    assert.ok(partial > 0 && partial < 2005, `partial copy: ${partial}`);

    const resumed = await cli(
      ["migrate", "--from", from, "--to", to, "--batch-size", "500", "--url", db.url],
      { tty: true },
    );
    assert.equal(resumed.code, 0, resumed.stderr);
    const done = Number(/resuming: (\d+) of 2005 rows were done/.exec(resumed.stdout)?.[1]);
    assert.ok(done >= partial - 4 && done <= partial, `resumed after ${done} of ${partial}`);
    assert.match(resumed.stdout, /\rcopying \[#+-*\] \d+% \d+\/2005/, "a bar on a terminal");
    assert.match(resumed.stdout, /\rcopying \[#{30}\] 100% 2005\/2005\n/);
    assert.equal(await fingerprint(to), await fingerprint(from));
    const status = await cli(["status", "--table", to, "--url", db.url]);
    assert.match(
      status.stdout,
      new RegExp(`layout: +knex-mysql-session schema ${SCHEMA_VERSION}\n`),
    );
  });

  test("a copy run again brings over what the old app changed, never reverting the new app", async () => {
    const from = await v5Table(0);
    const to = tableName("new");
    const copy = () => cli(["migrate", "--from", from, "--to", to, "--url", db.url]);
    assert.equal((await copy()).code, 0);
    // After the first copy: the old app extends real-0, the new app extends real-1.
    await knex(from).where({ sid: "real-0" }).update({
      sess: '{"v":"old app"}',
      expired: "2999-01-01 00:00:00",
    });
    await knex(to).where({ sid: "real-1" }).update({
      sess: '{"v":"new app"}',
      expired: "2999-01-01 00:00:00",
    });
    await knex(from).where({ sid: "real-1" }).update({ sess: '{"v":"stale"}' });
    const again = await copy();
    assert.equal(again.code, 0, again.stderr);
    const [rows] = await knex.raw(
      `SELECT sid, sess FROM \`${to}\` WHERE sid IN ('real-0', 'real-1') ORDER BY sid`,
    );
    assert.deepEqual(
      JSON.parse(JSON.stringify(rows)).map((r: { sess: unknown }) =>
        typeof r.sess === "string" ? JSON.parse(r.sess) : r.sess
      ),
      [
        { v: "old app" },
        { v: "new app" },
      ],
    );
  });

  test("--dry-run prints the plan and changes nothing", async () => {
    const table = tableName("dry");
    await knex.schema.createTable(table, (t) => {
      t.string("sid").primary();
      t.text("sess").notNullable();
      t.timestamp("expired").notNullable();
    });
    await knex(table).insert({ sid: "s", sess: "{}", expired: "2037-01-01 00:00:00" });
    const types = await columnTypes(table);
    const dry = await cli(["migrate", "--from", table, "--dry-run", "--url", db.url]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^plan:$/m);
    assert.match(dry.stdout, new RegExp(`ALTER TABLE \`${table}\``));
    assert.match(
      dry.stdout,
      new RegExp(
        `MODIFY \`sid\` VARCHAR\\(255\\) CHARACTER SET utf8mb4 COLLATE ${server.sidCollation} NOT NULL,`,
      ),
    );
    assert.match(
      dry.stdout,
      /MODIFY `sess` JSON NOT NULL,\n +MODIFY `expired` DATETIME NOT NULL,\n +ADD INDEX/,
    );
    assert.match(dry.stdout, /dry run: nothing was changed\n$/);
    assert.deepEqual(await columnTypes(table), types);
    assert.equal(
      (await cli(["status", "--table", table, "--url", db.url])).stdout.includes(
        "procedures: none",
      ),
      true,
    );

    const expressTable = tableName("dryx");
    await knex.raw(
      `CREATE TABLE \`${expressTable}\` (session_id varchar(128) COLLATE utf8mb4_bin NOT NULL, ` +
        "expires int(11) unsigned NOT NULL, data mediumtext COLLATE utf8mb4_bin, PRIMARY KEY (session_id))",
    );
    const expressDry = await cli(["migrate", "--from", expressTable, "--dry-run", "--url", db.url]);
    assert.match(expressDry.stdout, /express-mysql-session \(not stamped/);
    assert.match(
      expressDry.stdout,
      new RegExp(
        `copy live sessions from \`${expressTable}\` into \`${expressTable}_kms_staging\``,
      ),
    );
    assert.match(
      expressDry.stdout,
      new RegExp(`RENAME TABLE \`${expressTable}\` TO \`${expressTable}_kms_backup\``),
    );
    assert.equal(await knex.schema.hasTable(`${expressTable}_kms_staging`), false);
  });

  test("a copy works whatever the tables are called: into `s`, from `s_copy`", async () => {
    const from = await v5Table(0);
    await knex.raw(`RENAME TABLE \`${from}\` TO \`s_copy\``);
    const copy = await cli(["migrate", "--from", "s_copy", "--to", "s", "--url", db.url]);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(await fingerprint("s"), await fingerprint("s_copy"));
    await cli(["uninstall", "--table", "s", "--drop-table", "--url", db.url]);
    await knex.schema.dropTable("s_copy");
  });

  test("rows whose sess is not JSON block an in-place conversion; a copy skips them", async () => {
    const table = tableName("bad");
    await knex.schema.createTable(table, (t) => {
      t.string("sid").primary();
      t.text("sess").notNullable();
      t.dateTime("expired").notNullable().index();
    });
    await knex(table).insert([
      { sid: "good", sess: '{"user":"alice"}', expired: "2999-01-01 00:00:00" },
      { sid: "bad", sess: "not json", expired: "2999-01-01 00:00:00" },
    ]);
    const inPlace = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(inPlace.code, 1);
    assert.match(inPlace.stderr, /1 row\(s\) of .* hold a `sess` that is not valid JSON/);
    assert.match((await columnTypes(table))[1]!, /^sess text/);
    const to = tableName("good");
    const copy = await cli(["migrate", "--from", table, "--to", to, "--url", db.url]);
    assert.equal(copy.code, 0, copy.stderr);
    const [rows] = await knex.raw(`SELECT sid FROM \`${to}\``);
    assert.deepEqual(rows, [{ sid: "good" }]);
  });

  test("a NULL sess in a nullable JSON column blocks an in-place conversion, with the count", async () => {
    const table = tableName("nullable");
    await knex.schema.createTable(table, (t) => {
      t.string("sid").primary();
      t.json("sess").nullable();
      t.dateTime("expired").notNullable().index();
    });
    await knex(table).insert([
      { sid: "good", sess: '{"user":"alice"}', expired: "2999-01-01 00:00:00" },
      { sid: "empty", sess: null, expired: "2999-01-01 00:00:00" },
    ]);
    const inPlace = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(inPlace.code, 1);
    assert.match(inPlace.stderr, /1 row\(s\) of .* hold a `sess` that is not valid JSON/);
    await knex.schema.dropTable(table);
  });

  test("--to a table that is not a session table is refused", async () => {
    const from = await v5Table(0);
    const other = tableName("other");
    await knex.raw(`CREATE TABLE \`${other}\` (id INT PRIMARY KEY)`);
    const result = await cli(["migrate", "--from", from, "--to", other, "--url", db.url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`table \`${other}\` exists and is not a session table`));
  });

  test("an express-mysql-session table too long a name for a staging table must be copied", async () => {
    const table = `x${"_".repeat(39)}${tableName("e")}`.slice(0, 47);
    await knex.raw(
      `CREATE TABLE \`${table}\` (session_id varchar(128) COLLATE utf8mb4_bin NOT NULL, ` +
        "expires int(11) unsigned NOT NULL, data mediumtext, PRIMARY KEY (session_id))",
    );
    const result = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /too long a name to convert in place .* copy it with --to <table>/);
    const copied = await cli([
      "migrate",
      "--from",
      table,
      "--to",
      tableName("short"),
      "--url",
      db.url,
    ]);
    assert.equal(copied.code, 0, copied.stderr);
  });

  test("migrating again is a no-op that reinstalls nothing", async () => {
    const table = await v5Table(0);
    assert.equal((await cli(["migrate", "--from", table, "--url", db.url])).code, 0);
    const again = await cli(["migrate", "--from", table, "--url", db.url]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`knex-mysql-session schema ${SCHEMA_VERSION}\n`));
    assert.match(again.stdout, /already in this store's layout/);
    assert.doesNotMatch(again.stdout, /ALTER/);
  });
});
