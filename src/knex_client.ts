// The parts of knex's client and of the driver's connections (mysql2, mysql) the store relies
// on, beyond knex's public API: the database layer borrows connections and calls the driver
// directly, which is where a session store's CPU time goes.

import { SessionStoreError } from "./errors.ts";

/** The part of a mysql2 (or mysql) connection the store uses. */
export interface DriverConnection {
  execute?: (sql: string, values: unknown[], callback: DriverCallback) => void;
  query: (sql: string, values: unknown[], callback: DriverCallback) => void;
  destroy(): void;
  on?(event: "error", listener: () => void): void;
  /** mysql2's socket: its destroy() only ends the socket politely, which a dead peer ignores. */
  stream?: { destroy?: () => void };
  /** mariadb's: marks the connection closing at once (its pool then refuses it), then QUITs. */
  end?(callback?: (error?: unknown) => void): void;
  /** The mariadb driver's access to its socket (the only one its callback API has). */
  __tests?: { getSocket?: () => { destroy(): void } | undefined };
}
export type DriverCallback = (error: Error | null, result: unknown) => void;

/** The counters of knex's tarn pool that tell whether a connection is free for the asking. */
export interface PoolGauges {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingCreates(): number;
  numPendingAcquires(): number;
}

/** The knex Client internals used here (knex 3.x; tests/unit/database.test.ts pins them). */
export interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
  validateConnection(connection: unknown): unknown;
  pool?: Partial<PoolGauges>;
  /** The driver module (mysql2 or mysql) and the settings knex creates connections with. */
  driver?: { createConnection?: (settings: unknown) => DriverConnection };
  connectionSettings?: unknown;
}

/** The counters of `client`'s pool, if it is tarn's (knex's own). */
export function poolGauges(client: KnexClient): PoolGauges | undefined {
  const pool = client.pool;
  return typeof pool?.numPendingAcquires === "function" ? pool as PoolGauges : undefined;
}

/** Why no connection came within `timeout` ms: the pool is busy, or connecting to the server hangs. */
export function noConnectionError(
  pool: PoolGauges | undefined,
  timeout: number,
): SessionStoreError {
  if (pool && pool.numPendingCreates() === 0 && pool.numUsed() >= pool.max) {
    return new SessionStoreError(
      "ERR_POOL_TIMEOUT",
      `no free connection in knex's pool within ${timeout} ms: all ${pool.max} are in use ` +
        "(raise the pool's max, or lower the load); the server itself answers",
    );
  }
  return new SessionStoreError("ERR_TIMEOUT", `no connection to the server within ${timeout} ms`);
}

/** Closes a connection at once, whatever state its peer is in. */
export function forceClose(connection: DriverConnection): void {
  try {
    // The mariadb driver's destroy() KILLs a running statement from a new connection and
    // leaves that KILL's failure an unhandled rejection (3.5.4), which ends a Node process.
    // Instead: end() marks it closing at once (so that knex's pool never lends it again), and
    // its socket is closed, as mysql2's is; the driver fails what was under way.
    const socket = connection.__tests?.getSocket?.();
    if (socket && connection.end) {
      connection.end(() => {});
      return socket.destroy();
    }
    connection.destroy();
    connection.stream?.destroy?.();
  } catch {
    // Already closed.
  }
}
