// @ts-types="@types/express-session"
import { type SessionData, Store } from "express-session";
import type { Knex } from "knex";
import process from "node:process";
import { type Callback, respond } from "./callbacks.ts";
import { CleanupScheduler, sweepInBatches } from "./cleanup.ts";
import { createOwnKnex } from "./own_knex.ts";
import { Database } from "./database.ts";
import { SessionCipher } from "./encryption.ts";
import { plaintextWindowNote } from "./encryption_options.ts";
import type { SessionStoreError } from "./errors.ts";
import { SessionMemo } from "./session_memo.ts";
import { ConnectionHealth } from "./health.ts";
import {
  type KnexMySQLStoreOptions,
  optionsView,
  type ResolvedOptions,
  resolveOptions,
  type StoreOptions,
} from "./options.ts";
import { prepareSchema } from "./schema_setup.ts";
import { SessionReader } from "./session_reader.ts";
import { statements } from "./sql.ts";
import { StatementRunner } from "./statement_runner.ts";
import { Startup } from "./startup.ts";
import type { StoreEvents, StoreListener, UnreadableEvent } from "./store_events.ts";
import { OperationTracer } from "./tracing.ts";
import { type UserSession, UserSessions } from "./user_sessions.ts";
import { noStats, SessionTable, type SessionWithId, type StoreStats } from "./session_table.ts";
import { clock } from "./clock.ts";

export type { RetryEvent, StoreEvents, StoreListener, UnreadableEvent } from "./store_events.ts";
export type { StoreOptions } from "./options.ts";
export type { UserSession } from "./user_sessions.ts";
export type { SessionWithId, StoreStats } from "./session_table.ts";

/** After a set-up error, operations fail at once with it; the check runs again after this. */
const SETUP_RECHECK_AFTER = 10_000;
/** The most statements waiting for a connection at once; more are refused (ERR_QUEUE_FULL). */
const MAX_WAITING = 1_000;

/**
 * An express-session store on MySQL or MariaDB through knex. Reads are plain SELECTs; every
 * write is a CALL of a stored procedure, so the app's account needs only SELECT on the table
 * and EXECUTE on the procedures.
 *
 * Every method takes express-session's callback, called once and asynchronously, and returns
 * a Promise instead when called without one. Every statement has a deadline (`queryTimeout`).
 *
 * Events (`connect`, `disconnect`, `error`, `warning`, `retry`, `unreadable`): see
 * {@link StoreEvents}. Each operation is traced on the `diagnostics_channel` tracing channel
 * `knex-mysql-session:operation`: see {@link OperationTrace}.
 */
export class KnexMySQLStore extends Store {
  readonly #options: ResolvedOptions;
  readonly #view: StoreOptions;
  /** The knex instance the store made for itself, which close() destroys; undefined when given. */
  readonly #ownKnex: Knex | undefined;
  readonly #db: Database;
  readonly #startup: Startup;
  readonly #health: ConnectionHealth;
  readonly #runner: StatementRunner;
  readonly #cleanup: CleanupScheduler | undefined;
  readonly #users: UserSessions;
  readonly #table: SessionTable;
  readonly #stats: StoreStats = noStats();
  /** Set-up errors already reported (code and message), so that each is reported once. */
  readonly #reported = new Set<string>();
  readonly #tracer: OperationTracer;
  #closing: Promise<void> | undefined;

  /**
   * Checks the options and starts connecting; the store is usable once `ready` resolves, and
   * operations sent before then wait for it.
   *
   * @throws TypeError when an option is unknown, misspelt or out of range.
   */
  constructor(options: KnexMySQLStoreOptions = {}) {
    super();
    this.#options = resolveOptions(options, { MYSQL_URL: process.env.MYSQL_URL });
    const { knex, connection, queryTimeout, encryption, tableName, sidFieldName } = this.#options;
    this.#ownKnex = knex ? undefined : createOwnKnex(
      connection as NonNullable<typeof connection>,
      queryTimeout,
      (message) => this.#warn(message),
    );
    // A statement outstanding this long is worth a probe; the probe gets its own deadline.
    const probeTimeout = Math.min(2_000, queryTimeout);
    this.#db = new Database(knex ?? this.#ownKnex as Knex, {
      timeout: queryTimeout,
      maxWaiting: MAX_WAITING,
      slowAfter: Math.min(1_000, queryTimeout / 2),
      onSlow: () => this.#health.suspect(),
    });
    this.#view = optionsView(this.#options, knex ?? this.#ownKnex as Knex);
    const names = { table: tableName, sid: sidFieldName };
    const sql = statements(names);
    this.#startup = new Startup({
      ...this.#options,
      check: () => prepareSchema(this.#db, names, this.#options.createTable),
      onRetry: (attempt, error) => this.#retried("start-up", attempt, error),
      onReady: (facts) => {
        this.#reported.clear();
        const window = plaintextWindowNote(encryption, clock.now());
        for (const warning of [...facts.warnings, ...(window ? [window] : [])]) {
          this.#warn(warning);
        }
        this.#health.connected();
        this.#cleanup?.start();
      },
      onSetupError: (error) => this.#report(error),
      onUnreachable: () => this.#health.disconnected(),
      recheckAfter: SETUP_RECHECK_AFTER,
    });
    this.#tracer = new OperationTracer(this.#view.knex, tableName, this.#startup);
    this.#health = new ConnectionHealth({
      probe: () => this.#db.probe(probeTimeout),
      recover: () =>
        this.#startup.facts
          ? this.#db.probe(probeTimeout)
          : this.#startup.started().then(() => undefined),
      onChange: (state) => this.emit(state === "connected" ? "connect" : "disconnect"),
      firstDelay: 250,
      maxDelay: 5_000,
    });
    this.#runner = new StatementRunner({
      ...this.#options,
      db: this.#db,
      startup: this.#startup,
      health: this.#health,
      onRetry: (operation, attempt, error) => this.#retried(operation, attempt, error),
      onSetupError: (error) => this.#report(error),
      closing: () => this.#closing !== undefined,
    });
    const cipher = encryption ? new SessionCipher(encryption) : undefined;
    const reader = new SessionReader(cipher, (event) => this.#unreadable(event));
    this.#users = new UserSessions({
      runner: this.#runner,
      sql,
      reader,
      cipher,
      userId: this.#options.userId,
      warn: (message) => this.#warn(message),
    });
    this.#table = new SessionTable({
      ...this.#options,
      runner: this.#runner,
      sql,
      reader,
      cipher,
      owners: this.#users,
      memo: new SessionMemo(),
      startup: this.#startup,
      stats: this.#stats,
    });
    if (this.#options.cleanupInterval > 0) {
      this.#cleanup = new CleanupScheduler({
        interval: this.#options.cleanupInterval,
        batchSize: this.#options.cleanupBatchSize,
        sweepBatch: (limit) =>
          this.#tracer.run("sweep", () => this.#table.clearExpiredBatch(limit)),
        onError: this.#options.onDbCleanupError,
      });
    }
    this.#startup.started().catch(() => {}); // reported through events and `ready`
  }

  /**
   * Resolves when the schema is usable (installed with `createtable`, or checked without).
   * Rejects with the start-up's error; reading it after a set-up error checks again at once.
   */
  get ready(): Promise<void> {
    const ready = this.#startup.ready().then(() => undefined);
    ready.catch(() => {}); // An unawaited `ready` must not be an unhandled rejection.
    return ready;
  }

  /** The table this store uses. */
  get tableName(): string {
    return this.#options.tableName;
  }

  /** The options in effect (read-only; no key material). */
  get options(): StoreOptions {
    return this.#view;
  }

  /** When the next periodic sweep of expired sessions starts; undefined when none is due. */
  get nextDbCleanup(): Date | undefined {
    return this.#cleanup?.nextSweep;
  }

  /** Listens to one of the store's {@link StoreEvents}; a misspelt name does not type-check. */
  override on<E extends keyof StoreEvents>(event: E, listener: StoreListener<E>): this {
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  /** Like on(), for the next time only. */
  override once<E extends keyof StoreEvents>(event: E, listener: StoreListener<E>): this {
    return super.once(event, listener as (...args: unknown[]) => void);
  }

  /** Removes a listener added with on() or once(). */
  override off<E extends keyof StoreEvents>(event: E, listener: StoreListener<E>): this {
    return super.off(event, listener as (...args: unknown[]) => void);
  }

  /** Reads a live session; resolves with null when there is none (or it expired). */
  get(sid: string): Promise<SessionData | null>;
  /** Reads a live session; calls back with null when there is none (or it expired). */
  get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void;
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return respond(this.#tracer.run("get", () => this.#table.get(sid)), callback);
  }

  /** Saves a session, with its expiry, inserting or replacing it. */
  set(sid: string, session: SessionData): Promise<void>;
  /** Saves a session, with its expiry, inserting or replacing it; then calls back. */
  set(sid: string, session: SessionData, callback: (error?: unknown) => void): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return respond(this.#tracer.run("set", () => this.#table.set(sid, session)), callback);
  }

  /**
   * Moves a live session's expiry on, without writing its data. Not sent when the stored
   * expiry is already that second, or within `touchAfter`; a touch carrying a change of the
   * cookie's settings is saved as a whole session instead.
   */
  override touch(sid: string, session: SessionData): Promise<void>;
  /** Like the promise form of touch(), then calls back. */
  override touch(sid: string, session: SessionData, callback: (error?: unknown) => void): void;
  override touch(
    sid: string,
    session: SessionData,
    callback?: Callback<void>,
  ): Promise<void> | void {
    return respond(this.#tracer.run("touch", () => this.#table.touch(sid, session)), callback);
  }

  /** Deletes a session; resolves whether there was one to delete. */
  destroy(sid: string): Promise<boolean>;
  /** Deletes a session; calls back with whether there was one to delete. */
  destroy(sid: string, callback: (error: unknown, destroyed?: boolean) => void): void;
  destroy(sid: string, callback?: Callback<boolean>): Promise<boolean> | void {
    return respond(this.#tracer.run("destroy", () => this.#table.destroy(sid)), callback);
  }

  /** Every live session, each with its id in `id` (which replaces a stored `id` key). */
  override all(): Promise<SessionWithId[]>;
  /** Calls back with every live session, each with its id in `id`. */
  override all(callback: (error: unknown, sessions?: SessionWithId[]) => void): void;
  override all(callback?: Callback<SessionWithId[]>): Promise<SessionWithId[]> | void {
    return respond(this.#tracer.run("all", () => this.#table.all()), callback);
  }

  /** How many sessions are live (not expired). */
  override length(): Promise<number>;
  /** Calls back with how many sessions are live (not expired). */
  override length(callback: (error: unknown, length?: number) => void): void;
  override length(callback?: Callback<number>): Promise<number> | void {
    return respond(this.#tracer.run("length", () => this.#table.length()), callback);
  }

  /** Deletes every session; resolves with how many there were. */
  override clear(): Promise<number>;
  /** Deletes every session; calls back with how many there were. */
  override clear(callback: (error: unknown, deleted?: number) => void): void;
  override clear(callback?: Callback<number>): Promise<number> | void {
    return respond(this.#tracer.run("clear", () => this.#table.clear()), callback);
  }

  /**
   * Deletes expired sessions now, in batches of `cleanupBatchSize`, resting after each batch
   * for as long as it took; resolves with how many went. The periodic cleanup does the same.
   */
  clearExpired(): Promise<number>;
  /** Like the promise form of clearExpired(), then calls back with how many went. */
  clearExpired(callback: (error: unknown, deleted?: number) => void): void;
  clearExpired(callback?: Callback<number>): Promise<number> | void {
    const sweep = () =>
      sweepInBatches(
        (limit) => this.#table.clearExpiredBatch(limit),
        this.#options.cleanupBatchSize,
      );
    return respond(this.#tracer.run("clearExpired", sweep), callback);
  }

  /**
   * The live sessions of the user `userId` (as the `userId` option names owners), newest
   * expiry first, each with its id, expiry and data: for a "your devices" page. Read by index.
   */
  sessionsOf(userId: string | number): Promise<UserSession[]>;
  /** sessionsOf(), the callback way. */
  sessionsOf(
    userId: string | number,
    callback: (error: unknown, sessions?: UserSession[]) => void,
  ): void;
  sessionsOf(
    userId: string | number,
    callback?: Callback<UserSession[]>,
  ): Promise<UserSession[]> | void {
    return respond(this.#tracer.run("sessionsOf", () => this.#users.sessionsOf(userId)), callback);
  }

  /** How many live sessions the user `userId` has. */
  countOf(userId: string | number): Promise<number>;
  /** countOf(), the callback way. */
  countOf(userId: string | number, callback: (error: unknown, count?: number) => void): void;
  countOf(userId: string | number, callback?: Callback<number>): Promise<number> | void {
    return respond(this.#tracer.run("countOf", () => this.#users.countOf(userId)), callback);
  }

  /**
   * Logs the user `userId` out everywhere: deletes all their sessions but `except` (e.g. the
   * current one, `req.sessionID`); resolves with how many went. A save from a request that read
   * one of them before does not bring it back.
   */
  destroyUser(userId: string | number, options?: { except?: string }): Promise<number>;
  /** destroyUser() without options, the callback way. */
  destroyUser(
    userId: string | number,
    callback: (error: unknown, deleted?: number) => void,
  ): void;
  /** destroyUser(), the callback way. */
  destroyUser(
    userId: string | number,
    options: { except?: string },
    callback: (error: unknown, deleted?: number) => void,
  ): void;
  destroyUser(
    userId: string | number,
    options?: { except?: string } | Callback<number>,
    callback?: Callback<number>,
  ): Promise<number> | void {
    const done = typeof options === "function" ? options : callback;
    const except = typeof options === "object" && options !== null ? options.except : undefined;
    return respond(
      this.#tracer.run("destroyUser", () => this.#users.destroyUser(userId, except)),
      done,
    );
  }

  /** A snapshot of the store's counters. */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  /**
   * Stops the cleanup timer and health probes, waits for the statements under way (each ends
   * by its deadline, so this is bounded by `queryTimeout` even when the server is gone) and,
   * when the store created its own knex instance, destroys it. A knex instance passed in is
   * left open. Idempotent.
   */
  close(): Promise<void>;
  /** Like the promise form of close(), then calls back. */
  close(callback: (error?: unknown) => void): void;
  close(callback?: Callback<void>): Promise<void> | void {
    this.#closing ??= this.#shutdown();
    return respond(this.#closing, callback);
  }

  #unreadable(event: UnreadableEvent): void {
    if (this.listenerCount("unreadable") > 0) this.emit("unreadable", event);
    else this.#warn(`session ${JSON.stringify(event.sid)}: ${event.message}`);
  }

  /** A set-up error, once: to `error` listeners, else as an error-level line. */
  #report(error: SessionStoreError): void {
    const key = `${error.code} ${error.message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (this.listenerCount("error") > 0) this.emit("error", error);
    else console.error(error.message);
  }

  /** A statement (or the start-up check) sent again: counted, and told to `retry` listeners. */
  #retried(operation: string, attempt: number, error: unknown): void {
    this.#stats.retries++;
    this.emit("retry", { operation, attempt, error });
  }

  #warn(message: string): void {
    if (this.listenerCount("warning") > 0) this.emit("warning", message);
    else console.warn(`knex-mysql-session: ${message}`);
  }

  async #shutdown(): Promise<void> {
    this.#health.stop();
    await this.#cleanup?.stop();
    // A start-up under way finishes its DDL (within its deadlines) before the connections go.
    await this.#startup.close();
    await this.#db.close();
    await this.#ownKnex?.destroy();
  }
}
