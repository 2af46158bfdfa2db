// The parts of knex's client and of the driver's connections (mysql2, mysql) the store relies
// on, beyond knex's public API: the database layer borrows connections and calls the driver
// directly, which is where a session store's CPU time goes.

/** The part of a mysql2 (or mysql) connection the store uses. */
export interface DriverConnection {
  execute?: (sql: string, values: unknown[], callback: DriverCallback) => void;
  query: (sql: string, values: unknown[], callback: DriverCallback) => void;
  destroy(): void;
  on?(event: "error", listener: () => void): void;
  /** mysql2's socket: its destroy() only ends the socket politely, which a dead peer ignores. */
  stream?: { destroy?: () => void };
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

/** Closes a connection at once, whatever state its peer is in. */
export function forceClose(connection: DriverConnection): void {
  try {
    connection.destroy();
    connection.stream?.destroy?.();
  } catch {
    // Already closed.
  }
}
