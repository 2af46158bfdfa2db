// Schema installation on a Galera Cluster: what one node installs, every node has; stores on
// all three nodes starting at the same moment all become ready.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { KnexMySQLStore } from "../../mod.ts";
import { sessionFor } from "../helpers/sessions.ts";
import { type ClusterDatabase, createClusterDatabase, NODE_PORTS, select } from "./cluster.ts";

async function schemaOn(db: ClusterDatabase, port: number, table: string) {
  const node = db.node(port);
  const [tableRow] = await select<{ comment: string }>(
    node,
    "SELECT TABLE_COMMENT AS comment FROM information_schema.TABLES " +
      "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
    [table],
  );
  const procedures = await select<{ name: string }>(
    node,
    "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES " +
      "WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME LIKE ? ORDER BY name",
    [`${table}\\_%`],
  );
  return { comment: tableRow?.comment, procedures: procedures.map((row) => row.name) };
}

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
    assert.equal(onNode1.procedures.length, 5);
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

  test("eight stores on three nodes start at once on an empty database", async () => {
    const stores = Array.from({ length: 8 }, (_, index) =>
      new KnexMySQLStore({
        knex: db.connect(NODE_PORTS[index % NODE_PORTS.length]!),
        tablename: "crowd",
        clearInterval: 0,
      }));
    try {
      await Promise.all(stores.map((store) => store.ready));
      await Promise.all(
        stores.map((store, index) => store.set(`s${index}`, sessionFor({ index }))),
      );
      for (const [index, store] of stores.entries()) {
        assert.equal(await store.length(), 8, `store ${index}`);
      }
      const schemas = await Promise.all(NODE_PORTS.map((port) => schemaOn(db, port, "crowd")));
      for (const schema of schemas) assert.deepEqual(schema, schemas[0]);
      assert.equal(schemas[0]?.procedures.length, 5);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
