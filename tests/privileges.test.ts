// The least-privilege story: the schema is installed by an owner account with rights on its
// database only (no SUPER, which MySQL's binary log would otherwise ask of routine creators),
// and an app account with only SELECT on the table and EXECUTE on the procedures runs the whole
// store contract with the default createtable, and can do nothing else.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { grantStatements } from "../src/grants.ts";
import { createTestDatabase, passwordUrlFor, type TestDatabase } from "./helpers/database.ts";
import { storeContract } from "./helpers/store_contract.ts";
import { procedureName, PROCEDURES } from "../src/sql.ts";

const user = `kms_app_${randomBytes(3).toString("hex")}`;
const owner = `kms_own_${randomBytes(3).toString("hex")}`;
const password = randomBytes(12).toString("hex");
const names = { table: "sessions", sid: "sid" };
let database: TestDatabase;
let appKnex: Knex;

async function setUp() {
  database = await createTestDatabase("privileges");
  // The schema is installed by its owner (a DBA, a migration job), who has every right on this
  // database and none beyond it ...
  await database.admin.raw(`CREATE USER ?@'%' IDENTIFIED BY ?`, [owner, password]);
  await database.admin.raw(`GRANT ALL ON \`${database.name}\`.* TO ?@'%' WITH GRANT OPTION`, [
    owner,
  ]);
  const ownerKnex = database.connect(
    {},
    await passwordUrlFor(database.url, database.name, { user: owner, password }),
  );
  const installer = new KnexMySQLStore({ knex: ownerKnex, disableDbCleanup: true });
  await installer.ready;
  await installer.close();
  // ... and the app runs as an account that may only read and call.
  await database.admin.raw(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
  for (const statement of grantStatements(names, `'${user}'@'%'`, database.name)) {
    await ownerKnex.raw(statement);
  }
  appKnex = database.connect(
    {},
    await passwordUrlFor(database.url, database.name, { user, password }),
  );
}

async function tearDown() {
  for (const account of [user, owner]) {
    await database.admin.raw(`DROP USER IF EXISTS ?@'%'`, [account]);
  }
  await database.drop();
}

storeContract(
  "account with only SELECT and EXECUTE",
  async () => {
    await setUp();
    // The default createtable: on a complete schema it installs nothing, so needs no DDL right.
    return {
      open: () => new KnexMySQLStore({ knex: appKnex }),
      admin: database.admin,
      table: names.table,
    };
  },
  async () => {},
);

describe("the least-privilege account", () => {
  after(tearDown);

  it("holds exactly the documented grants", async () => {
    const [rows] = await appKnex.raw("SHOW GRANTS FOR CURRENT_USER()");
    const grants = rows.map((row: Record<string, string>) => Object.values(row)[0]).join("\n");
    assert.match(grants, /GRANT SELECT ON `[^`]+`\.`sessions` TO/);
    for (const procedure of PROCEDURES) {
      assert.match(
        grants,
        new RegExp(
          `GRANT EXECUTE ON PROCEDURE \`[^\`]+\`\\.\`${procedureName("sessions", procedure)}\``,
        ),
      );
    }
    assert.equal(rows.length, 1 + 1 + PROCEDURES.length, grants); // USAGE + SELECT + EXECUTEs
  });

  it("cannot write the table directly or change the schema", async () => {
    for (
      const statement of [
        "INSERT INTO sessions (sid, sess, expired) VALUES ('x', '{}', NOW())",
        "UPDATE sessions SET expired = NOW()",
        "DELETE FROM sessions",
        "DROP TABLE sessions",
        "CREATE TABLE other (id INT)",
        `DROP PROCEDURE ${procedureName("sessions", "set")}`,
      ]
    ) {
      await assert.rejects(appKnex.raw(statement), /denied/, statement);
    }
  });

  it("ran where routine creators are checked: MySQL's binary log on, no trust flag", async (t) => {
    const [[state]] = await database.admin.raw(
      "SELECT VERSION() AS version, @@log_bin AS logBin, " +
        "@@log_bin_trust_function_creators AS trusted",
    );
    t.diagnostic(`log_bin=${state.logBin} log_bin_trust_function_creators=${state.trusted}`);
    if (/mariadb/i.test(state.version)) return; // MariaDB ships with the binary log off
    assert.equal(Number(state.logBin), 1, "MySQL's binary log is on by default");
    assert.equal(Number(state.trusted), 0);
  });

  it("fails start-up with a clear error when the procedures are missing", async () => {
    const store = new KnexMySQLStore({ knex: appKnex, createtable: false, tablename: "nothing" });
    await assert.rejects(store.ready, { code: "ERR_SCHEMA", message: /does not exist/ });
    await store.close();
  });
});
