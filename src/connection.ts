import knex, { type Knex } from "knex";
import type { MySQLConnectionConfig } from "./options.ts";

/**
 * The knex instance a store creates for itself when it was given none. Its pool keeps no idle
 * connection (min 0), so an app that never closes the store can still exit once idle.
 */
export function createOwnKnex(connection: string | MySQLConnectionConfig): Knex {
  return knex({
    client: "mysql2",
    connection: connection as Knex.MySql2ConnectionConfig | string,
    pool: { min: 0, max: 10 },
  });
}
