// The schemas of earlier versions (1: knex-mysql-session 0.1.0; 2: before destroyed sessions
// left markers), as their sql/ files installed them, to test upgrades from them.
import { readFileSync } from "node:fs";
import type { Knex } from "knex";
import { serverFacts } from "./server.ts";

/** Runs a fixture of tests/fixtures/ for `table`, one statement per "-- ;" line. */
async function installFixture(knex: Knex, table: string, file: string): Promise<void> {
  const { sidCollation } = await serverFacts(knex);
  const fixture = readFileSync(new URL(`../fixtures/${file}`, import.meta.url), "utf8")
    .replaceAll("{{table}}", table).replaceAll("{{sid_collation}}", sidCollation);
  for (const statement of fixture.split("\n-- ;\n")) await knex.raw(statement);
}

/** Creates `table` as knex-mysql-session 0.1.0 did, with its five v1 procedures. */
export function installV1(knex: Knex, table: string): Promise<void> {
  return installFixture(knex, table, "schema_v1.sql");
}

/** Creates `table` as schema 2 did on this server, with its six v2 procedures. */
export async function installV2(knex: Knex, table: string): Promise<void> {
  const { kind } = await serverFacts(knex);
  await installFixture(knex, table, "schema_v2.sql");
  await installFixture(knex, table, `schema_v2.set.${kind}.sql`);
}
