// The store sends no INSERT, UPDATE or DELETE of its own: MariaDB's general log, read for the
// store's own connections, shows only SELECT and CALL (and session set-up such as SET).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import { KnexMySQLStore } from "../mod.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { expiredSession, sessionFor } from "./helpers/sessions.ts";
import { procedureName } from "../src/sql.ts";

let database: TestDatabase;
let previous: { general_log: string; log_output: string };

before(async () => {
  database = await createTestDatabase("general_log");
  const installer = new KnexMySQLStore({ knex: database.admin, disableDbCleanup: true });
  await installer.ready;
  await installer.close();
  const [rows] = await database.admin.raw(
    "SELECT @@GLOBAL.general_log AS general_log, @@GLOBAL.log_output AS log_output",
  );
  previous = rows[0];
  await database.admin.raw("SET GLOBAL log_output = 'TABLE'");
  await database.admin.raw("SET GLOBAL general_log = 1");
});

after(async () => {
  await database.admin.raw(`SET GLOBAL general_log = ${Number(previous.general_log) ? 1 : 0}`);
  await database.admin.raw(`SET GLOBAL log_output = '${previous.log_output}'`);
  await database.drop();
});

it("every statement on the store's connections is a SELECT, a CALL or a SET", async () => {
  const threads = new Set<number>();
  const knex = database.connect({
    pool: {
      min: 0,
      max: 4,
      afterCreate: (connection: { threadId: number }, done: (error: null) => void) => {
        threads.add(connection.threadId);
        done(null);
      },
    },
  });
  const store = new KnexMySQLStore({ knex, createtable: false, cleanupInterval: 0 });
  await store.ready;
  await store.set("a", sessionFor({ n: 1 }));
  await store.set("a", sessionFor({ n: 2 }));
  await store.set("old", expiredSession());
  await store.get("a");
  await store.get("missing");
  await store.touch("a", sessionFor());
  await store.all();
  await store.length();
  await store.clearExpired();
  await store.destroy("a");
  await store.clear();
  await store.close();
  await knex.destroy();

  assert.ok(threads.size > 0);
  const [rows] = await database.admin.raw(
    "SELECT command_type AS command, CONVERT(argument USING utf8mb4) AS argument " +
      `FROM mysql.general_log WHERE thread_id IN (${[...threads].join(",")}) ` +
      "AND command_type IN ('Query', 'Prepare', 'Execute')",
  );
  const statements: string[] = rows.map((row: { argument: string }) => row.argument.trim());
  const verbs = new Set(statements.map((statement) => statement.split(/\s+/)[0]!.toUpperCase()));
  assert.ok(
    statements.some((s) => s.startsWith(`CALL \`${procedureName("sessions", "set")}\``)),
    statements.join("\n"),
  );
  assert.ok(statements.some((s) => /^SELECT `sess`/.test(s)), statements.join("\n"));
  for (const verb of verbs) {
    assert.ok(
      ["SELECT", "CALL", "SET"].includes(verb),
      `unexpected ${verb}:\n${statements.join("\n")}`,
    );
  }
});
