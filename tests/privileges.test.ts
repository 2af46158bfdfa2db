// The least-privilege story: an account with only SELECT on the table and EXECUTE on the
// procedures runs the whole store contract, and can do nothing else.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { grantStatements } from "../src/grants.ts";
import { createTestDatabase, type TestDatabase, urlFor } from "./helpers/database.ts";
import { storeContract } from "./helpers/store_contract.ts";
import { procedureName, PROCEDURES } from "../src/sql.ts";

const user = `kms_app_${randomBytes(3).toString("hex")}`;
const password = randomBytes(12).toString("hex");
const names = { table: "sessions", sid: "sid" };
let database: TestDatabase;
let appKnex: Knex;
let appStore: KnexMySQLStore;

async function setUp() {
  database = await createTestDatabase("privileges");
  // The schema is installed by a privileged account (a DBA, a migration job) ...
  const installer = new KnexMySQLStore({ knex: database.admin, disableDbCleanup: true });
  await installer.ready;
  await installer.close();
  // ... and the app runs as an account that may only read and call.
  await database.admin.raw(`CREATE USER ?@'%' IDENTIFIED BY ?`, [user, password]);
  for (const statement of grantStatements(names, `'${user}'@'%'`, database.name)) {
    await database.admin.raw(statement);
  }
  appKnex = database.connect({}, urlFor(database.url, database.name, { user, password }));
}

async function tearDown() {
  await database.admin.raw(`DROP USER IF EXISTS ?@'%'`, [user]);
  await database.drop();
}

storeContract(
  "account with only SELECT and EXECUTE",
  async () => {
    await setUp();
    appStore = new KnexMySQLStore({ knex: appKnex, createtable: false });
    return { store: appStore, admin: database.admin, table: names.table };
  },
  async () => {
    await appStore.close();
  },
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
    assert.equal(rows.length, 1 + 1 + 5, grants); // USAGE + SELECT + five EXECUTE
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

  it("fails start-up with a clear error when the procedures are missing", async () => {
    const store = new KnexMySQLStore({ knex: appKnex, createtable: false, tablename: "nothing" });
    await assert.rejects(store.ready, { code: "ERR_SCHEMA", message: /does not exist/ });
    await store.close();
  });
});
