import type { Knex } from "knex";

/** The part of a mysql2 (or mysql) connection the store uses. */
interface DriverConnection {
  execute?: (sql: string, values: unknown[], callback: DriverCallback) => void;
  query: (sql: string, values: unknown[], callback: DriverCallback) => void;
}
type DriverCallback = (error: Error | null, result: unknown) => void;

/**
 * Runs statements on connections borrowed from knex's pool. The knex instance stays the
 * user-facing connection provider (its pool, its config, its lifetime), but statements skip
 * knex's query builder and go to the driver directly: with mysql2, as prepared statements
 * through the callback API, which is where a session store's CPU time goes.
 */
export class Database {
  readonly #client: Knex.Client;

  constructor(knex: Knex) {
    this.#client = knex.client;
  }

  /**
   * Runs one statement with bound values: a prepared statement where the driver has them
   * (mysql2), a client-side escaped query otherwise (mysql). Returns the driver's result.
   */
  async execute(sql: string, values: unknown[]): Promise<unknown> {
    const connection = await this.#acquire();
    return new Promise((resolve, reject) => {
      const done: DriverCallback = (error, result) => {
        this.#client.releaseConnection(connection);
        if (error) reject(error);
        else resolve(result);
      };
      if (connection.execute) connection.execute(sql, values, done);
      else connection.query(sql, values, done);
    });
  }

  /** Runs one statement through the text protocol: DDL cannot be prepared. */
  async query(sql: string, values: unknown[] = []): Promise<unknown> {
    const connection = await this.#acquire();
    return new Promise((resolve, reject) => {
      connection.query(sql, values, (error, result) => {
        this.#client.releaseConnection(connection);
        if (error) reject(error);
        else resolve(result);
      });
    });
  }

  /** Rows of a SELECT, or of the first result set of a CALL. */
  async rows<Row>(sql: string, values: unknown[]): Promise<Row[]> {
    return firstResultSet<Row>(await this.execute(sql, values));
  }

  #acquire(): Promise<DriverConnection> {
    return this.#client.acquireConnection() as Promise<DriverConnection>;
  }
}

/**
 * A SELECT yields its rows; a CALL yields `[rows, okPacket]` when the procedure selects and an
 * OK packet alone when it does not.
 */
function firstResultSet<Row>(result: unknown): Row[] {
  if (!Array.isArray(result)) return [];
  if (result.length > 0 && Array.isArray(result[0])) return result[0] as Row[];
  return result as Row[];
}
