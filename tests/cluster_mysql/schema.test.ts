// Schema installation and upgrade on a Group Replication cluster: what the primary installs
// (through HAProxy), every member has; eight stores starting at once all become ready; a
// schema-1 table upgraded in place is schema 2 on every member.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import { PROCEDURES, SCHEMA_VERSION } from "../../src/sql.ts";
import { cli } from "../helpers/cli.ts";
import { assertEightStartAtOnce, schemaOn } from "../helpers/cluster_checks.ts";
import { urlFor } from "../helpers/cluster.ts";
import { installV1 } from "../helpers/old_schemas.ts";
import { sessionFor } from "../helpers/sessions.ts";
import {
  type ClusterDatabase,
  createClusterDatabase,
  NODE_PORTS,
  roles,
  ROUTER_PORT,
} from "./cluster.ts";

describe("schema on a Group Replication cluster", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("gr_schema");
  });
  after(() => db?.drop());

  test("createtable through HAProxy installs the table and procedures on every member", async () => {
    const installer = new KnexMySQLStore({ knex: db.connect(ROUTER_PORT), clearInterval: 0 });
    await installer.ready;
    const { primary, secondaries } = await roles();
    const onPrimary = await schemaOn(db, primary, "sessions");
    assert.match(onPrimary.comment ?? "", /^knex-mysql-session schema \d+$/);
    assert.equal(onPrimary.procedures.length, PROCEDURES.length);
    for (const port of secondaries) {
      assert.deepEqual(await schemaOn(db, port, "sessions"), onPrimary, `member on port ${port}`);
    }
    // A read-only store on a secondary (reads need no primary) sees what the primary wrote.
    await installer.set("installed", sessionFor({ from: "primary" }));
    const reader = new KnexMySQLStore({
      knex: db.connect(secondaries[0]!),
      createtable: false,
      clearInterval: 0,
    });
    assert.equal(((await reader.get("installed")) as { from?: string } | null)?.from, "primary");
    await Promise.all([installer.close(), reader.close()]);
  });

  test("eight stores through HAProxy start at once on a new table, 3 times: all start", async (t) => {
    const resent = await assertEightStartAtOnce(db, [ROUTER_PORT], 3);
    t.diagnostic(`start-up checks run again after a conflict: ${resent}`);
  });

  test("upgrade of a schema-1 table through HAProxy: schema 2 on every member", async () => {
    await installV1(db.node(ROUTER_PORT), "old");
    const upgrade = await cli(["upgrade", "--table", "old", "--url", urlFor(ROUTER_PORT, db.name)]);
    assert.equal(upgrade.code, 0, upgrade.stderr);
    const schemas = await Promise.all(NODE_PORTS.map((port) => schemaOn(db, port, "old")));
    assert.equal(schemas[0]?.comment, `knex-mysql-session schema ${SCHEMA_VERSION}`);
    for (const schema of schemas) assert.deepEqual(schema, schemas[0]);
  });
});
