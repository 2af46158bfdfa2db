import knex, { type Knex } from "knex";
// knex loads its driver with require("mysql2"): importing it here puts mysql2 in the module
// graph, so Deno (and JSR) install it for knex to find.
import "mysql2";
import type { MySQLConnectionConfig } from "./connection_url.ts";

/**
 * The knex instance a store creates for itself when it was given none. Its pool keeps no idle
 * connection (min 0), so an app that never closes the store can still exit once idle.
 * Connecting and waiting for a pooled connection give up at the store's `timeout` (mysql2's
 * `connectTimeout`, unless the config names its own), so that a partition never holds a
 * connection attempt (and `close()`) longer than a statement. knex's own log lines go to
 * `warn`, first line only, instead of straight to the console, except the one per failed
 * borrow while the database is down (the failed operations and the `disconnect` event already
 * say so, once per change instead of once per attempt).
 */
export function createOwnKnex(
  connection: MySQLConnectionConfig,
  timeout: number,
  warn: (message: string) => void,
): Knex {
  const log = (message: unknown) => {
    const line = String(message).split("\n")[0] as string;
    // Each failed borrow: the operation's own error and the connect/disconnect events say it.
    if (!line.startsWith("Acquire connection error")) warn(`knex: ${line}`);
  };
  return knex({
    client: "mysql2",
    connection: { connectTimeout: timeout, ...connection } as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 10 },
    acquireConnectionTimeout: timeout,
    log: { warn: log, error: log, deprecate: log, debug: () => {} },
  });
}
