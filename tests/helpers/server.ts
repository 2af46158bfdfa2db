// What the server under test is, for expectations that differ between MySQL and MariaDB: asked
// of the server (and of the store's own code), never assumed.
import type { Knex } from "knex";
import { Database } from "../../src/database.ts";
import { noPadBinaryCollation } from "../../src/schema.ts";

/** The server kinds `sql --server` knows. */
export type ServerKind = "mysql" | "mariadb";

export interface ServerFacts {
  /** MariaDB says so in VERSION(); any other server is MySQL. */
  kind: ServerKind;
  /** The sid collation an install uses on this server, as the store picks it. */
  sidCollation: string;
  /**
   * The collation a text column gets when its table names none: the current database's
   * default (MariaDB 10.11: utf8mb4_general_ci; MySQL 8.0+: utf8mb4_0900_ai_ci).
   */
  defaultCollation: string;
}

/** Asks the server `knex` is connected to (the database it names) what the tests expect. */
export async function serverFacts(knex: Knex): Promise<ServerFacts> {
  const [versionRows] = await knex.raw("SELECT VERSION() AS version");
  const version = String((versionRows as { version: string }[])[0]!.version);
  const [collationRows] = await knex.raw(
    "SELECT DEFAULT_COLLATION_NAME AS name FROM information_schema.SCHEMATA " +
      "WHERE SCHEMA_NAME = DATABASE()",
  );
  const defaultCollation = (collationRows as { name: string }[])[0]?.name;
  if (!defaultCollation) throw new Error("serverFacts: the connection names no database");
  return {
    kind: /mariadb/i.test(version) ? "mariadb" : "mysql",
    sidCollation: await noPadBinaryCollation(new Database(knex)),
    defaultCollation,
  };
}
