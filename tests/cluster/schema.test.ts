// Schema installation on a Galera Cluster: what one node installs, every node has; stores on
// all three nodes starting at the same moment all become ready (a check aborted by another
// node's DDL runs again).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import { PROCEDURES } from "../../src/sql.ts";
import { sessionFor } from "../helpers/sessions.ts";
import { assertEightStartAtOnce, schemaOn } from "../helpers/cluster_checks.ts";
import { type ClusterDatabase, createClusterDatabase, NODE_PORTS } from "./cluster.ts";

describe("schema on a Galera Cluster", () => {
  let db: ClusterDatabase;
  before(async () => {
    db = await createClusterDatabase("cluster_schema");
  });
  after(() => db?.drop());

  test("createtable on node1 installs the table and procedures on every node", async () => {
    const installer = new KnexMySQLStore({ knex: db.connect(NODE_PORTS[0]), clearInterval: 0 });
    await installer.ready;
    const onNode1 = await schemaOn(db, NODE_PORTS[0], "sessions");
    assert.match(onNode1.comment ?? "", /^knex-mysql-session schema \d+$/);
    assert.equal(onNode1.procedures.length, PROCEDURES.length);
    for (const port of NODE_PORTS.slice(1)) {
      assert.deepEqual(await schemaOn(db, port, "sessions"), onNode1, `node on port ${port}`);
    }
    // A store on node3 that may not install anything finds the schema and writes through it.
    const user = new KnexMySQLStore({
      knex: db.connect(NODE_PORTS[2]),
      createtable: false,
      clearInterval: 0,
    });
    await user.set("installed-on-node1", sessionFor({ from: "node3" }));
    const reader = new KnexMySQLStore({ knex: db.connect(NODE_PORTS[1]), clearInterval: 0 });
    assert.equal(
      ((await reader.get("installed-on-node1")) as { from?: string } | null)?.from,
      "node3",
    );
    await Promise.all([installer.close(), user.close(), reader.close()]);
  });

  test("eight stores on three nodes start at once on a new table, 6 times: all start", async (t) => {
    const resent = await assertEightStartAtOnce(db, NODE_PORTS, 6);
    t.diagnostic(`start-up checks run again after a conflict: ${resent}`);
  });
});
