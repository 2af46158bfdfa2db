import type { Knex } from "knex";
import { setImmediate } from "node:timers";

/** The part of a mysql2 (or mysql) connection the store uses. */
interface DriverConnection {
  execute?: (sql: string, values: unknown[], callback: DriverCallback) => void;
  query: (sql: string, values: unknown[], callback: DriverCallback) => void;
}
type DriverCallback = (error: Error | null, result: unknown) => void;

/** The counters of knex's tarn pool that tell whether a connection is free for the asking. */
interface PoolGauges {
  max: number;
  numUsed(): number;
  numFree(): number;
  numPendingCreates(): number;
  numPendingAcquires(): number;
}

interface Job {
  sql: string;
  values: unknown[];
  /** Prepared statement (execute) or text protocol (query). */
  prepared: boolean;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs statements on connections borrowed from knex's pool. The knex instance stays the
 * user-facing connection provider (its pool, its config, its lifetime), but statements skip
 * knex's query builder and go to the driver directly: with mysql2, as prepared statements
 * through the callback API, which is where a session store's CPU time goes.
 *
 * Borrowing costs more CPU than the statement itself (knex's acquire wraps tarn's, which makes
 * a timer and five promises each time), so a connection that finishes a statement goes straight
 * to this store's next waiting statement, and is returned to knex's pool once this store has
 * nothing left to send (on the next turn of the event loop), or at once when someone else is
 * waiting for a connection from that pool.
 */
export class Database {
  readonly #client: Knex.Client;
  /** Borrowed connections with nothing to do, returned to the pool on the next turn. */
  readonly #idle: DriverConnection[] = [];
  /** Statements waiting for a connection this store holds or has asked for. */
  readonly #waiting: Job[] = [];
  /** Connections borrowed from the pool and not yet returned. */
  #borrowed = 0;
  /** Borrows asked of the pool and not yet answered. */
  #asking = 0;
  #returnScheduled = false;

  constructor(knex: Knex) {
    this.#client = knex.client;
  }

  /** Runs one statement through the text protocol: DDL cannot be prepared. */
  query(sql: string, values: unknown[] = []): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.#enqueue({ sql, values, prepared: false, resolve, reject })
    );
  }

  /**
   * Rows of a SELECT, or of the first result set of a CALL: a prepared statement where the
   * driver has them (mysql2), a client-side escaped query otherwise (mysql).
   */
  rows<Row>(sql: string, values: unknown[]): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.#enqueue({
        sql,
        values,
        prepared: true,
        resolve: (result) => resolve(firstResultSet<Row>(result)),
        reject,
      });
    });
  }

  #enqueue(job: Job): void {
    const connection = this.#takeIdle();
    if (connection) this.#send(connection, job);
    else if (this.#borrowed + this.#asking > 0 && !this.#poolHasRoom()) this.#waiting.push(job);
    else this.#borrowFor(job);
  }

  /** A kept connection that is still usable (one the server dropped goes back to the pool). */
  #takeIdle(): DriverConnection | undefined {
    for (let connection = this.#idle.pop(); connection; connection = this.#idle.pop()) {
      if (this.#usable(connection)) return connection;
      this.#giveBack(connection);
    }
    return undefined;
  }

  #usable(connection: DriverConnection): boolean {
    return (this.#client.validateConnection(connection) as unknown) !== false;
  }

  /** Whether borrowing now would get a connection without queueing behind others. */
  #poolHasRoom(): boolean {
    const pool = this.#gauges();
    if (!pool) return true;
    return pool.numFree() > 0 || pool.numUsed() + pool.numPendingCreates() < pool.max;
  }

  #gauges(): PoolGauges | undefined {
    const pool = (this.#client as { pool?: Partial<PoolGauges> }).pool;
    return typeof pool?.numPendingAcquires === "function" ? pool as PoolGauges : undefined;
  }

  #borrowFor(job: Job): void {
    this.#asking++;
    (this.#client.acquireConnection() as Promise<DriverConnection>).then(
      (connection) => {
        this.#asking--;
        this.#borrowed++;
        this.#send(connection, job);
      },
      (error) => {
        this.#asking--;
        job.reject(error);
        // A statement waiting for this connection must not wait for one that never comes.
        const next = this.#waiting.shift();
        if (next) this.#borrowFor(next);
      },
    );
  }

  #send(connection: DriverConnection, job: Job): void {
    let ended = false;
    // Once only: the connection must not be handed on or returned twice.
    const done: DriverCallback = (error, result) => {
      if (ended) return;
      ended = true;
      this.#finished(connection);
      if (error) job.reject(error);
      else job.resolve(result);
    };
    try {
      if (job.prepared && connection.execute) connection.execute(job.sql, job.values, done);
      else connection.query(job.sql, job.values, done);
    } catch (error) {
      // The driver throws synchronously on some bad input instead of calling back.
      done(error as Error, undefined);
    }
  }

  /** A statement ended on `connection`: hand it to the next statement, keep it, or return it. */
  #finished(connection: DriverConnection): void {
    const othersWaiting = (this.#gauges()?.numPendingAcquires() ?? 0) > this.#asking;
    if (!othersWaiting && this.#usable(connection)) {
      const next = this.#waiting.shift();
      if (next) return this.#send(connection, next);
      this.#idle.push(connection);
      this.#scheduleReturn();
      return;
    }
    this.#giveBack(connection);
    // Statements that were waiting for this connection queue at the pool like everyone else.
    const next = this.#waiting.shift();
    if (next) this.#borrowFor(next);
  }

  #scheduleReturn(): void {
    if (this.#returnScheduled) return;
    this.#returnScheduled = true;
    setImmediate(() => {
      this.#returnScheduled = false;
      for (let connection = this.#idle.pop(); connection; connection = this.#idle.pop()) {
        this.#giveBack(connection);
      }
    });
  }

  #giveBack(connection: DriverConnection): void {
    this.#borrowed--;
    this.#client.releaseConnection(connection);
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
