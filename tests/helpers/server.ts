// What the server under test is, for expectations that differ between MySQL and MariaDB: asked
// of the server (and of the store's own code), never assumed.
import type { Knex } from "knex";
import { type ServerKind, serverKindOf, SID_COLLATION } from "../../src/server.ts";

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
  const [rows] = await knex.raw(
    "SELECT VERSION() AS version, DEFAULT_COLLATION_NAME AS name " +
      "FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = DATABASE()",
  );
  const row = (rows as { version: string; name: string }[])[0];
  if (!row) throw new Error("serverFacts: the connection names no database");
  const kind = serverKindOf(row.version);
  return { kind, sidCollation: SID_COLLATION[kind], defaultCollation: row.name };
}
