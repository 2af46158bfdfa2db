import type { Knex } from "knex";
import { clearInterval, setImmediate, setInterval } from "node:timers";
import { closedError, SessionStoreError } from "./errors.ts";
import { isReadOnlyRefusal, isServerRefusal } from "./driver_errors.ts";
import { loginRefusalOf, type LoginTarget } from "./login_refusals.ts";
import {
  type DriverCallback,
  type DriverConnection,
  forceClose,
  type KnexClient,
  noConnectionError,
  poolGauges,
} from "./knex_client.ts";
import { affectedRows, firstResultSet, markUnsent } from "./driver_replies.ts";
import { probeServer } from "./server_probe.ts";
import { type Coalescing, takeAlike } from "./statement_batches.ts";
import { Carriers } from "./carriers.ts";
import { SlotSet } from "./slot_set.ts";

/** Statements sent as one: settled together, unless some pass their deadline first. */
interface Batch {
  jobs: Job[];
  /** Whether every job passed its deadline, so that the connection was closed. */
  abandoned: boolean;
}

const settled = () => {}; // a settled job's resolve and reject: it settles once

interface Job {
  sql: string;
  values: unknown[];
  /** Prepared statement (execute) or text protocol (query). */
  prepared: boolean;
  /** How it may be combined with others of its kind waiting at the same time. */
  coalescing: Coalescing | undefined;
  /** The statements it went out with, when it was combined. */
  batch?: Batch;
  /** Told how many statements it went out with, once sent (its operation's trace). */
  onSent: ((batchSize: number) => void) | undefined;
  resolve: (result: unknown) => void;
  reject: (error: unknown) => void;
  /** performance.now() when it was asked for, and by when it must have settled. */
  started: number;
  deadline: number;
  /** waiting: in this store's queue; asking: a borrow for it is pending; sent: on the wire. */
  state: "waiting" | "asking" | "sent" | "settled";
  connection?: DriverConnection;
  /** Whether it has been reported as slow (once). */
  slow: boolean;
  /** Its place among the outstanding statements. */
  slot: number;
}

/** How statements are run: their deadline, the queue's bound, and who hears of slowness. */
export interface DatabaseOptions {
  /** Milliseconds a statement may take from the call to its reply, a wait for a connection included. */
  timeout: number;
  /** Statements that may wait for a connection at once; more are refused (ERR_QUEUE_FULL). */
  maxWaiting: number;
  /** A statement outstanding this long is reported once through `onSlow`. */
  slowAfter: number;
  /** Something is slow: a partition, a dead server, or only a busy one (the caller probes). */
  onSlow: () => void;
}

/** How often deadlines are checked while statements are outstanding. */
const TICK = 50;

/**
 * Runs statements on connections borrowed from knex's pool. The knex instance stays the
 * user-facing connection provider (its pool, its config, its lifetime), but statements skip
 * knex's query builder and go to the driver directly: with mysql2, as prepared statements
 * through the callback API, which is where a session store's CPU time goes.
 *
 * Every statement has a deadline, covering its wait for a connection and its reply: past it,
 * the statement fails (a waiting one with ERR_POOL_TIMEOUT or ERR_TIMEOUT, a sent one with
 * ERR_TIMEOUT) and a connection that owed the reply is closed, as it is stuck or its late reply
 * would answer the next statement. One interval checks every deadline (no timer per statement).
 *
 * Borrowing costs more CPU than the statement itself (knex's acquire wraps tarn's, which makes
 * a timer and five promises each time), so a connection that finishes a statement goes straight
 * to this store's next waiting statement, and is returned to knex's pool once this store has
 * nothing left to send (on the next turn of the event loop), or at once when someone else is
 * waiting for a connection from that pool.
 */
export class Database {
  readonly #client: KnexClient;
  readonly #options: DatabaseOptions;
  /** Borrowed connections with nothing to do, returned to the pool on the next turn. */
  readonly #idle: DriverConnection[] = [];
  /** Statements waiting for a connection this store holds or has asked for. */
  readonly #waiting: Job[] = [];
  /** Every statement not yet settled, for the deadline check. */
  readonly #outstanding = new SlotSet<Job>();
  /** Connections borrowed from the pool and not yet returned. */
  #borrowed = 0;
  /** Borrows asked of the pool and not yet answered. */
  #asking = 0;
  #returnScheduled = false;
  /** Under heavy load, a few connections carry the statements that may be combined. */
  readonly #carriers = new Carriers();
  #ticker: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #drained: (() => void) | undefined;

  constructor(knex: Knex, options: DatabaseOptions) {
    this.#client = knex.client as unknown as KnexClient;
    this.#options = options;
  }

  /** Runs one statement through the text protocol: DDL cannot be prepared. */
  query(sql: string, values: unknown[] = [], timeout = this.#options.timeout): Promise<unknown> {
    return new Promise((resolve, reject) =>
      this.#enqueue(sql, values, false, timeout, resolve, reject)
    );
  }

  /**
   * Runs one statement, a SELECT or a CALL, as a prepared statement where the driver has them
   * (mysql2), a client-side escaped query otherwise (mysql), and resolves to the rows of its
   * first result set: a SELECT's rows, the rows a procedure selects, or none for a CALL that
   * selects nothing. `timeout` is the time left to this statement, in ms.
   */
  execute<Row>(
    sql: string,
    values: unknown[],
    timeout = this.#options.timeout,
    coalescing?: Coalescing,
    onSent?: (batchSize: number) => void,
  ): Promise<Row[]> {
    return new Promise((resolve, reject) =>
      this.#enqueue(
        sql,
        values,
        true,
        timeout,
        (result) => resolve(firstResultSet<Row>(result)),
        reject,
        coalescing,
        onSent,
      )
    );
  }

  /**
   * Runs a CALL of a procedure that selects nothing, as a prepared statement where the driver
   * has them, and resolves to how many rows its last statement changed: the CALL's OK packet
   * carries that count on MySQL and MariaDB, so no result set need be sent for it.
   */
  write(
    sql: string,
    values: unknown[],
    timeout = this.#options.timeout,
    coalescing?: Coalescing,
    onSent?: (batchSize: number) => void,
  ): Promise<number> {
    return new Promise((resolve, reject) =>
      this.#enqueue(
        sql,
        values,
        true,
        timeout,
        (result) => resolve(affectedRows(result)),
        reject,
        coalescing,
        onSent,
      )
    );
  }

  /**
   * Resolves when the server answers `SELECT 1` on a connection of its own, outside the pool
   * and the queue, within `timeout` ms (see probeServer).
   */
  probe(timeout: number): Promise<void> {
    return probeServer(this.#client, timeout);
  }

  /**
   * Refuses new statements, fails those still waiting for a connection, waits for the ones
   * under way (each settles by its deadline), and returns every connection to the pool.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#waiting.splice(0)) this.#settle(job, closedError(), undefined);
    if (this.#outstanding.size > 0) {
      await new Promise<void>((resolve) => (this.#drained = resolve));
    }
    this.#returnIdle();
  }

  #enqueue(
    sql: string,
    values: unknown[],
    prepared: boolean,
    timeout: number,
    resolve: (result: unknown) => void,
    reject: (error: unknown) => void,
    coalescing?: Coalescing,
    onSent?: (batchSize: number) => void,
  ): void {
    if (this.#closed) return reject(markUnsent(closedError()));
    const started = performance.now();
    const job: Job = {
      sql,
      values,
      prepared,
      coalescing,
      onSent,
      resolve,
      reject,
      started,
      deadline: started + timeout,
      state: "waiting",
      slow: false,
      slot: -1,
    };
    this.#outstanding.add(job);
    this.#carriers.note(this.#outstanding.size, poolGauges(this.#client)?.max, started);
    if (!this.#ticker) {
      this.#ticker = setInterval(() => this.#checkDeadlines(), TICK);
      this.#ticker.unref();
    }
    const connection = this.#takeIdle();
    if (connection) this.#send(connection, job);
    else if (this.#borrowed + this.#asking > 0 && (!this.#poolHasRoom() || this.#carried(job, 0))) {
      this.#wait(job);
    } else this.#borrowFor(job);
  }

  #wait(job: Job): void {
    if (this.#waiting.length < this.#options.maxWaiting) return void this.#waiting.push(job);
    const full = new SessionStoreError(
      "ERR_QUEUE_FULL",
      `${this.#waiting.length} statements are already waiting for a connection: the pool ` +
        "cannot keep up (raise the knex pool's max, or lower the load)",
    );
    this.#settle(job, markUnsent(full), undefined);
  }

  /**
   * Settles `job` once; later outcomes (a reply after the deadline) are ignored. It lets go of
   * what it held: V8 soon makes jobs in the old generation, where a dead one keeps its values and
   * promise (and so the rows) alive through young collections (profiled: twice their time).
   */
  #settle(job: Job, error: unknown, result: unknown): void {
    if (job.state === "settled") return;
    job.state = "settled";
    this.#outstanding.delete(job);
    if (this.#outstanding.size === 0) this.#drained?.();
    const { resolve, reject } = job;
    job.resolve = job.reject = settled;
    job.values = [];
    job.connection = job.batch = job.onSent = undefined;
    if (error === undefined) resolve(result);
    else reject(error);
  }

  #checkDeadlines(): void {
    const now = performance.now();
    let slow = false;
    this.#outstanding.forEach((job) => {
      if (now >= job.deadline) this.#expire(job);
      else if (!job.slow && now - job.started >= this.#options.slowAfter) {
        job.slow = true;
        slow = true;
      }
    });
    if (this.#outstanding.size === 0) {
      clearInterval(this.#ticker);
      this.#ticker = undefined;
    }
    if (slow) this.#options.onSlow();
  }

  #expire(job: Job): void {
    const timeout = Math.round(job.deadline - job.started);
    const { state, connection, batch } = job;
    if (state === "sent" && connection) {
      this.#settle(
        job,
        new SessionStoreError("ERR_TIMEOUT", `no reply from the server within ${timeout} ms`),
        undefined,
      );
      // Statements sent with it still wait for the reply, each until its own deadline.
      if (batch && batch.jobs.some((other) => other.state === "sent")) return;
      if (batch) batch.abandoned = true;
      // Stuck, or its late reply would answer the next statement: it cannot be used again.
      forceClose(connection);
      this.#giveBack(connection);
      const next = this.#waiting.shift();
      if (next) this.#borrowFor(next);
      return;
    }
    if (state === "waiting") this.#waiting.splice(this.#waiting.indexOf(job), 1);
    // An "asking" job's borrow goes on; the connection it brings serves the next statement.
    this.#settle(job, markUnsent(noConnectionError(poolGauges(this.#client), timeout)), undefined);
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
    return this.#client.validateConnection(connection) !== false;
  }

  /** Whether borrowing now would get a connection without queueing behind others. */
  #poolHasRoom(): boolean {
    const pool = poolGauges(this.#client);
    if (!pool) return true;
    return pool.numFree() > 0 || pool.numUsed() + pool.numPendingCreates() < pool.max;
  }

  /** Whether `job` should wait for a connection this store already uses (see Carriers). */
  #carried(job: Job, excluding: number): boolean {
    const carrying = this.#borrowed - this.#idle.length + this.#asking - excluding;
    return this.#carriers.carried(carrying, job.coalescing?.max ?? 0, this.#waiting.length);
  }

  #borrowFor(job: Job): void {
    job.state = "asking";
    this.#asking++;
    (this.#client.acquireConnection() as Promise<DriverConnection>).then(
      (connection) => {
        this.#asking--;
        this.#borrowed++;
        if (job.state === "asking") this.#send(connection, job);
        else this.#finished(connection); // it expired meanwhile: serve the next one
      },
      (error: unknown) => {
        this.#asking--;
        // knex gave up waiting (acquireConnectionTimeout): say why, as at our own deadline. A
        // refused login is a configuration error, named with the account and server it was for.
        const reason = (error as { name?: unknown } | null)?.name === "KnexTimeoutError"
          ? noConnectionError(poolGauges(this.#client), Math.round(performance.now() - job.started))
          : loginRefusalOf(error, this.#client.connectionSettings as LoginTarget | undefined) ??
            error;
        this.#settle(job, markUnsent(reason), undefined);
        // A statement waiting for this connection must not wait for one that never comes.
        const next = this.#waiting.shift();
        if (next) this.#borrowFor(next);
      },
    );
  }

  /**
   * Sends `job`, with the statements waiting that may be combined with it (see Coalescing);
   * each gets its share of the reply, or the failure.
   */
  #send(connection: DriverConnection, job: Job): void {
    const { coalescing } = job;
    const alike = coalescing && takeAlike(this.#waiting, job);
    const jobs = alike ? [job, ...alike] : [job];
    const batch: Batch | undefined = alike && { jobs, abandoned: false };
    for (const sent of jobs) {
      sent.state = "sent";
      sent.connection = connection;
      sent.batch = batch;
      sent.onSent?.(jobs.length);
    }
    let { sql, values, prepared } = job;
    if (batch && coalescing) {
      coalescing.onBatch(jobs.length);
      ({ sql, values } = coalescing.combine(jobs.map((one) => one.values)));
      prepared = true;
    }
    const done: DriverCallback = (error, result) => {
      // Past its deadline (every one's, for a batch): the connection went with it.
      if (batch ? batch.abandoned : job.state !== "sent") return;
      // A read-only member (a demoted primary) refused it: a resend must reach the router
      // afresh, which sends new connections to the current primary.
      if (isReadOnlyRefusal(error)) forceClose(connection);
      // The server refused a combined statement (for one member's data, say a JSON document its
      // parser rejects): none of it ran, so each goes again alone, to get its own answer.
      if (batch && isServerRefusal(error)) return this.#sendEachAlone(jobs, connection);
      const shares = batch && coalescing && !error
        ? coalescing.split(result, jobs.map((one) => one.values))
        : undefined;
      jobs.forEach((one, i) => this.#settle(one, error ?? undefined, shares ? shares[i] : result));
      this.#finished(connection);
    };
    try {
      if (prepared && connection.execute) connection.execute(sql, values, done);
      else connection.query(sql, values, done);
    } catch (error) {
      // The driver throws synchronously on some bad input instead of calling back.
      done(markUnsent(error as Error), undefined);
    }
  }

  /** Puts the members of a refused batch still waiting for it first in the queue, uncombined. */
  #sendEachAlone(jobs: Job[], connection: DriverConnection): void {
    const unanswered = jobs.filter((job) => job.state === "sent");
    for (const job of unanswered) {
      Object.assign(job, { state: "waiting", coalescing: undefined, batch: undefined });
    }
    this.#waiting.unshift(...unanswered);
    this.#finished(connection);
  }

  /** A statement ended on `connection`: hand it to the next statement, keep it, or return it. */
  #finished(connection: DriverConnection): void {
    const othersWaiting = (poolGauges(this.#client)?.numPendingAcquires() ?? 0) > this.#asking;
    // Enough other connections carry statements: what waits goes out with the next of them.
    const carried = this.#waiting.length > 0 && this.#carried(this.#waiting[0] as Job, 1);
    if (!othersWaiting && !this.#closed && this.#usable(connection) && !carried) {
      const next = this.#waiting.shift();
      if (next) return this.#send(connection, next);
      this.#idle.push(connection);
      this.#scheduleReturn();
      return;
    }
    this.#giveBack(connection);
    if (carried) return;
    // Statements that were waiting for this connection queue at the pool like everyone else.
    const next = this.#waiting.shift();
    if (next) this.#borrowFor(next);
  }

  #scheduleReturn(): void {
    if (this.#returnScheduled) return;
    this.#returnScheduled = true;
    setImmediate(() => {
      this.#returnScheduled = false;
      this.#returnIdle();
    });
  }

  #returnIdle(): void {
    for (let connection = this.#idle.pop(); connection; connection = this.#idle.pop()) {
      this.#giveBack(connection);
    }
  }

  #giveBack(connection: DriverConnection): void {
    this.#borrowed--;
    this.#client.releaseConnection(connection);
  }
}
