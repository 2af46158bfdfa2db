// Tables of schema 1 (knex-mysql-session 0.1.0) and schema 2 upgraded to the current schema in
// place, under live traffic from the old app: `upgrade` adds the owner column and its index
// online and the marker column instantly, and installs the new procedures beside the old ones;
// no session is lost, no acknowledged write of the old app is undone; old and new app then run
// side by side; the app account that had the old grants is named with the command that gives it
// the new ones; `upgrade --prune` ends with the current schema only.
// Runs as root, as an upgrade does (ALTER, procedures); the app's own login is tested elsewhere.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { grantStatements } from "../src/grants.ts";
import { procedureName, PROCEDURES, SCHEMA_VERSION } from "../src/sql.ts";
import { cli } from "./helpers/cli.ts";
import { closing } from "./helpers/closing.ts";
import {
  createTestDatabase,
  passwordUrlFor,
  tableName,
  type TestDatabase,
} from "./helpers/database.ts";
import { installV1, installV2 } from "./helpers/old_schemas.ts";
import { sessionFor } from "./helpers/sessions.ts";

const SESSIONS = 50_000;

let db: TestDatabase;
const app = `kms_upg_${randomBytes(3).toString("hex")}`;
before(async () => {
  db = await createTestDatabase("upgrade");
  await db.admin.raw("CREATE USER ?@'%' IDENTIFIED BY 'upgrade-test'", [app]);
});
after(async () => {
  await db.admin.raw("DROP USER IF EXISTS ?@'%'", [app]);
  await db.drop();
});

/** `SESSIONS` live sessions, written in one statement (10^5 generated rows, cut). */
async function fill(knex: Knex, table: string): Promise<void> {
  const digit = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 " +
    "UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 " +
    "UNION ALL SELECT 8 UNION ALL SELECT 9)";
  await knex.raw(
    `INSERT INTO \`${table}\` (sid, sess, expired) SELECT CONCAT('bulk-', n), ` +
      "JSON_OBJECT('cookie', JSON_OBJECT('originalMaxAge', 3600000), 'n', n), " +
      "UTC_TIMESTAMP() + INTERVAL 1 HOUR FROM (SELECT a.d + 10 * b.d + 100 * c.d + " +
      `1000 * e.d + 10000 * f.d AS n FROM ${digit} a, ${digit} b, ${digit} c, ${digit} e, ` +
      `${digit} f) AS numbers WHERE n < ?`,
    [SESSIONS],
  );
}

/** The new version's store on an upgraded table, with owners, checking the schema only. */
function newAppStore(knex: Knex, table: string): KnexMySQLStore {
  return new KnexMySQLStore({
    knex,
    tablename: table,
    createtable: false,
    clearInterval: 0,
    userId: (session) => (session as unknown as { user?: string }).user,
  });
}

describe("upgrading a schema 1 table", () => {
  it("under live traffic from the old app: nothing lost, then both apps side by side", async (t) => {
    const table = tableName("v1");
    await installV1(db.admin, table);
    await fill(db.admin, table);
    // The old app's account, with 0.1.0's grants: SELECT and EXECUTE on the v1 procedures.
    await db.admin.raw(`GRANT SELECT ON \`${db.name}\`.\`${table}\` TO ?@'%'`, [app]);
    for (const procedure of ["set", "touch", "destroy", "clear", "clear_expired"]) {
      await db.admin.raw(
        `GRANT EXECUTE ON PROCEDURE \`${db.name}\`.\`${table}_${procedure}_v1\` TO ?@'%'`,
        [app],
      );
    }

    // The old app: saves and touches 20 sessions in a loop through the v1 procedures.
    const acknowledged = new Map<string, number>();
    let stop = false;
    let oldWrites = 0;
    const oldApp = (async () => {
      const expires = () =>
        new Date(Date.now() + 3_600_000).toISOString().slice(0, 19).replace("T", " ");
      for (let n = 1; !stop; n++) {
        const sid = `old-${n % 20}`;
        await db.admin.raw(`CALL \`${table}_set_v1\`(?, ?, ?)`, [
          sid,
          JSON.stringify({ cookie: { originalMaxAge: 3_600_000 }, n }),
          expires(),
        ]);
        acknowledged.set(sid, n);
        oldWrites++;
        await db.admin.raw(`CALL \`${table}_touch_v1\`(?, ?, UTC_TIMESTAMP())`, [sid, expires()]);
      }
    })();
    await sleep(200);
    const started = performance.now();
    const upgrade = await cli(["upgrade", "--table", table, "--url", db.url]);
    const took = performance.now() - started;
    assert.equal(upgrade.code, 0, upgrade.stderr);
    t.diagnostic(
      `upgrade of ${SESSIONS} sessions took ${Math.round(took)} ms while the old app wrote ` +
        `${oldWrites} times`,
    );
    assert.match(upgrade.stdout, new RegExp(`added column \`${table}\`\\.\`user_id\``));
    assert.match(upgrade.stdout, new RegExp(`added index \`${table}_user_index\``));
    assert.match(upgrade.stdout, new RegExp(`added column \`${table}\`\.\`destroyed\``));
    for (const procedure of PROCEDURES) {
      assert.match(
        upgrade.stdout,
        new RegExp(`created procedure \`${procedureName(table, procedure)}\``),
      );
    }
    assert.match(upgrade.stdout, new RegExp(`older procedures kept for apps still running them`));
    // The old app's account may SELECT but not EXECUTE the new procedures: named, with the fix.
    assert.match(
      upgrade.stderr,
      new RegExp(
        `warning: '${app}'@'%' may SELECT .* not EXECUTE .*grant "'${app}'@'%'" --table ${table}`,
      ),
    );
    for (const statement of grantStatements({ table, sid: "sid" }, `'${app}'@'%'`, db.name)) {
      await db.admin.raw(statement);
    }

    // The new app, beside the old one, on the app's account: reads the old sessions, writes
    // with owners, logs a user out everywhere.
    await closing(async (defer) => {
      const appKnex = db.connect(
        {},
        await passwordUrlFor(db.url, db.name, { user: app, password: "upgrade-test" }),
      );
      const store = newAppStore(appKnex, table);
      defer(() => store.close());
      await store.ready;
      for (let i = 0; i < 5; i++) await store.set(`new-${i}`, sessionFor({ user: "ann" }));
      assert.equal(await store.countOf("ann"), 5);
      assert.equal(((await store.get("bulk-12345")) as unknown as { n: number }).n, 12345);
      await sleep(300); // both apps running
      assert.equal(await store.destroyUser("ann", { except: "new-0" }), 4);
      stop = true;
      await oldApp;
      for (const [sid, n] of acknowledged) {
        const stored = await store.get(sid) as unknown as { n: number } | null;
        assert.ok(stored && stored.n >= n, `${sid}: acknowledged ${n}, stored ${stored?.n}`);
      }
      assert.equal(await store.length(), SESSIONS + acknowledged.size + 1);
    });

    const pruned = await cli(["upgrade", "--prune", "--table", table, "--url", db.url]);
    assert.equal(pruned.code, 0, pruned.stderr);
    const status = await cli(["status", "--table", table, "--url", db.url]);
    assert.match(status.stdout, new RegExp(`layout: +knex-mysql-session schema ${SCHEMA_VERSION}`));
    assert.match(
      status.stdout,
      new RegExp(`procedures: v${SCHEMA_VERSION} \\(${PROCEDURES.length} installed`),
    );
    assert.equal(status.stderr, "");
  });
});

describe("upgrading a schema 2 table", () => {
  it("under live traffic from the v2 app: the marker column in place, markers the v2 app cannot undo for v3 readers", async () => {
    const table = tableName("v2");
    await installV2(db.admin, table);
    await fill(db.admin, table);
    // The v2 app's account, with schema 2's grants.
    for (const statement of grantStatements({ table, sid: "sid" }, `'${app}'@'%'`, db.name)) {
      // Schema 2 had no batch procedures (touch_many, set_many).
      if (!statement.includes("_many_")) {
        await db.admin.raw(statement.replace(/_v3`/, "_v2`"));
      }
    }
    const v2 = (sid: string, n: number, user: string | null, existing: 0 | 1) =>
      db.admin.raw(`CALL \`${table}_set_v2\`(?, ?, ?, ?, ?)`, [
        sid,
        JSON.stringify({ cookie: { originalMaxAge: 3_600_000 }, n, user }),
        new Date(Date.now() + 3_600_000).toISOString().slice(0, 19).replace("T", " "),
        user,
        existing,
      ]);
    // The v2 app keeps saving 20 sessions while the upgrade runs.
    const acknowledged = new Map<string, number>();
    let stop = false;
    const oldApp = (async () => {
      for (let n = 1; !stop; n++) {
        await v2(`old-${n % 20}`, n, null, 0);
        acknowledged.set(`old-${n % 20}`, n);
      }
    })();
    await sleep(200);
    try {
      await upgradeBesideV2(table, v2, acknowledged);
    } finally {
      stop = true;
      await oldApp;
    }
    const pruned = await cli(["upgrade", "--prune", "--table", table, "--url", db.url]);
    assert.match(pruned.stdout, new RegExp(`dropped procedure \`${table}_set_v2\``));
    const status = await cli(["status", "--table", table, "--url", db.url]);
    assert.match(status.stdout, new RegExp(`layout: +knex-mysql-session schema ${SCHEMA_VERSION}`));
    assert.equal(status.stderr, "");
  });
});

/** The upgrade while the v2 app writes, then the v3 store beside it. */
async function upgradeBesideV2(
  table: string,
  v2: (sid: string, n: number, user: string | null, existing: 0 | 1) => Promise<unknown>,
  acknowledged: Map<string, number>,
) {
  const upgrade = await cli(["upgrade", "--table", table, "--url", db.url]);
  assert.equal(upgrade.code, 0, upgrade.stderr);
  assert.match(upgrade.stdout, new RegExp(`added column \`${table}\`\.\`destroyed\``));
  assert.doesNotMatch(upgrade.stdout, /added .*user_id|added .*user_index/); // schema 2 had them
  // Schema 2's (user_id, expired) index, which every touch rewrote, now on user_id alone.
  assert.match(
    upgrade.stdout,
    new RegExp(`rebuilt index \`${table}_user_index\` on \`user_id\` alone`),
  );
  assert.match(upgrade.stdout, new RegExp(`created procedure \`${table}_set_v3\``));
  assert.match(upgrade.stdout, /older procedures kept for apps still running them/);
  // Run again (an interrupted upgrade is resumed by running it again): nothing left to do.
  const again = await cli(["upgrade", "--table", table, "--url", db.url]);
  assert.match(again.stdout, /nothing to do: everything is installed/);
  // The v2 app's account is named, and `grant` says what it changed for it.
  assert.match(upgrade.stderr, new RegExp(`'${app}'@'%' may SELECT .* not EXECUTE`));
  const grant = await cli(["grant", `${app}@%`, "--table", table, "--apply", "--url", db.url]);
  assert.equal(grant.code, 0, grant.stderr);
  assert.match(
    grant.stdout,
    new RegExp(
      `changed: ${PROCEDURES.length} grant\\(s\\) new for '${app}'@'%' \\(schema version 3\\)`,
    ),
  );
  assert.match(
    grant.stdout,
    new RegExp(`still granted from an older schema version: EXECUTE on .*${table}_set_v2`),
  );
  const regrant = await cli(["grant", `${app}@%`, "--table", table, "--apply", "--url", db.url]);
  assert.match(regrant.stdout, /unchanged: .* had every one of these grants already/);

  await closing(async (defer) => {
    const store = newAppStore(db.admin, table);
    defer(() => store.close());
    await store.ready;
    assert.equal(((await store.get("bulk-4321")) as unknown as { n: number }).n, 4321);
    await store.set("ann-1", sessionFor({ user: "ann" }));
    await store.set("ann-2", sessionFor({ user: "ann" }));
    assert.equal(await store.destroyUser("ann"), 2);
    // The v2 app, whose memory flushed, saves over a marker: v3 readers still see it gone.
    await v2("ann-1", 1, "ann", 0);
    assert.equal(await store.get("ann-1"), null);
    assert.equal(await store.countOf("ann"), 0);
    assert.deepEqual(await store.sessionsOf("ann"), []);
    for (const [sid, n] of acknowledged) {
      const stored = await store.get(sid) as unknown as { n: number } | null;
      assert.ok(stored && stored.n >= n, `${sid}: acknowledged ${n}, stored ${stored?.n}`);
    }
  });
}
