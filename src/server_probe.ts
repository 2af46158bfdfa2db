// Is the server there? Asked on a connection of its own, so that the answer says nothing of
// the pool: the health monitor's question.
import { setTimeout } from "node:timers";
import { SessionStoreError } from "./errors.ts";
import { type DriverConnection, forceClose, type KnexClient } from "./knex_client.ts";

/**
 * Resolves when the server answers `SELECT 1` on a connection of its own, outside the pool
 * and the store's queue, within `timeout` ms: a probe must not wait behind the statements whose
 * slowness made someone ask, nor count a full pool as a dead server.
 */
export async function probeServer(client: KnexClient, timeout: number): Promise<void> {
  const { driver, connectionSettings } = client;
  let connection: DriverConnection | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new SessionStoreError("ERR_TIMEOUT", `no answer within ${timeout} ms`)),
      timeout,
    );
    timer.unref();
  });
  try {
    if (driver?.createConnection && connectionSettings) {
      connection = driver.createConnection(connectionSettings);
      connection.on?.("error", () => {}); // reported through the query's callback
      const open = connection;
      await Promise.race([
        new Promise<void>((resolve, reject) =>
          open.query("SELECT 1", [], (error) => (error ? reject(error) : resolve()))
        ),
        expired,
      ]);
    } else {
      // A knex whose connection settings come from a function: probe through the pool.
      await Promise.race([
        client.acquireConnection().then((borrowed) => {
          client.releaseConnection(borrowed);
        }),
        expired,
      ]);
    }
  } finally {
    clearTimeout(timer);
    if (connection) forceClose(connection);
  }
}
