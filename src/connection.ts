import knex, { type Knex } from "knex";
// knex loads its driver with require("mysql2"): importing it here puts mysql2 in the module
// graph, so Deno (and JSR) install it for knex to find.
import "mysql2";
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
