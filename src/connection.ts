import knex, { type Knex } from "knex";
// knex loads its driver with require("mysql2"): importing it here puts mysql2 in the module
// graph, so Deno (and JSR) install it for knex to find.
import "mysql2";
import type { MySQLConnectionConfig } from "./options.ts";

/**
 * The knex instance a store creates for itself when it was given none. Its pool keeps no idle
 * connection (min 0), so an app that never closes the store can still exit once idle. knex's
 * own log lines (e.g. one per failed connection attempt while the database is down) go to
 * `warn`, first line only, instead of straight to the console.
 */
export function createOwnKnex(
  connection: string | MySQLConnectionConfig,
  warn: (message: string) => void,
): Knex {
  const log = (message: unknown) => warn(`knex: ${String(message).split("\n")[0]}`);
  return knex({
    client: "mysql2",
    connection: connection as Knex.MySql2ConnectionConfig | string,
    pool: { min: 0, max: 10 },
    log: { warn: log, error: log, deprecate: log, debug: () => {} },
  });
}
