// The schema of knex-mysql-session 0.1.0 (schema 1), to test upgrades from it.
import { readFileSync } from "node:fs";
import type { Knex } from "knex";
import { serverFacts } from "./server.ts";

/** Creates `table` as knex-mysql-session 0.1.0 did, with its five v1 procedures. */
export async function installV1(knex: Knex, table: string): Promise<void> {
  const { sidCollation } = await serverFacts(knex);
  const fixture = readFileSync(new URL("../fixtures/schema_v1.sql", import.meta.url), "utf8")
    .replaceAll("{{table}}", table).replaceAll("{{sid_collation}}", sidCollation);
  for (const statement of fixture.split("\n-- ;\n")) await knex.raw(statement);
}
