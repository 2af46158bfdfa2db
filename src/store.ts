// @ts-types="@types/express-session"
import { type SessionData, Store } from "express-session";
import type { Knex } from "knex";
import process from "node:process";
import { clearTimeout, setTimeout } from "node:timers";
import { CleanupScheduler, sweepInBatches } from "./cleanup.ts";
import { checkPacketSize, checkSession, checkSid, encodeSession } from "./codec.ts";
import { createOwnKnex } from "./connection.ts";
import { Database } from "./database.ts";
import { SessionCipher, type UnreadableReason } from "./encryption.ts";
import { SessionReader } from "./session_reader.ts";
import { databaseError, isConnectionError, SessionStoreError } from "./errors.ts";
import { type KnexMySQLStoreOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { isTransientError, isWriteConflict, retryAfter, type RetryPolicy } from "./retry.ts";
import { prepareSchema, type ServerFacts } from "./schema.ts";
import { type Statements, statements } from "./sql.ts";
import { expiryOf, storedTime, toSqlDateTime } from "./time.ts";

/** A session as `all()` returns it: the stored data plus its id. */
export type SessionWithId = SessionData & { id: string };

/** Counters of what the store did beyond plain reads and writes; see `stats()`. */
export interface StoreStats {
  /** Statements sent again after a transient failure (each also emitted as `retry`). */
  retries: number;
  /** Expired sessions deleted by the periodic sweep and by `clearExpired()`. */
  sessionsSwept: number;
  /**
   * Sweeps cut short because another app instance was deleting the same rows (a lock
   * conflict, or a certification conflict on Galera): that instance finishes the work.
   */
  sweepConflicts: number;
}

/** The payload of the `retry` event. */
export interface RetryEvent {
  /** The store operation: get, set, touch, destroy, all, length, clear or cleanup. */
  operation: string;
  /** 1 for the first retry. */
  attempt: number;
  /** The transient error that caused it. */
  error: unknown;
}

/** The payload of the `unreadable` event: a stored session that reads as no session. */
export interface UnreadableEvent {
  sid: string;
  reason: UnreadableReason;
  message: string;
}

type Callback<T> = (error: unknown, value?: T) => void;

/** How many sessions the store remembers the stored expiry of, to skip needless touches. */
const REMEMBERED_EXPIRIES = 10_000;
const FIRST_RECONNECT_DELAY = 250;
const MAX_RECONNECT_DELAY = 5_000;

function closedError(): SessionStoreError {
  return new SessionStoreError("ERR_STORE_CLOSED", "the store was closed");
}

/**
 * An express-session store on MySQL or MariaDB through knex. Reads are plain SELECTs; every
 * write is a CALL of a stored procedure, so the app's account needs only SELECT on the table
 * and EXECUTE on the procedures.
 *
 * Every method takes express-session's callback, called once and asynchronously, and returns
 * a Promise instead when called without one.
 *
 * Events: `connect` when the database is usable, `disconnect` when it is not (express-session
 * then serves requests without a session until `connect`), `warning` with a message about
 * something that weakens the store (printed with console.warn when nobody listens), `retry`
 * ({@link RetryEvent}) each time a statement is sent again after a transient failure,
 * `unreadable` ({@link UnreadableEvent}) when a stored session cannot be opened (tampered,
 * sealed with an unknown key, sealed while the store has no `encryption`, or not a JSON
 * object) and so reads as no session (printed with console.warn when nobody listens).
 */
export class KnexMySQLStore extends Store {
  readonly #options: ResolvedOptions;
  readonly #knex: Knex;
  readonly #ownsKnex: boolean;
  readonly #db: Database;
  readonly #sql: Statements;
  readonly #cleanup: CleanupScheduler | undefined;
  readonly #recentExpiry = new Map<string, number>();
  readonly #retryPolicy: RetryPolicy;
  readonly #cipher: SessionCipher | undefined;
  readonly #reader: SessionReader;
  readonly #stats: StoreStats = { retries: 0, sessionsSwept: 0, sweepConflicts: 0 };
  #startup: Promise<ServerFacts> | undefined;
  #facts: ServerFacts | undefined;
  #state: "starting" | "connected" | "disconnected" = "starting";
  #checkingConnection = false;
  #reconnecting = false;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeReconnect: (() => void) | undefined;
  #closing: Promise<void> | undefined;

  /** @throws TypeError when an option is unknown, misspelt or out of range. */
  constructor(options: KnexMySQLStoreOptions = {}) {
    super();
    this.#options = resolveOptions(options, { MYSQL_URL: process.env.MYSQL_URL });
    const { knex, connection } = this.#options;
    this.#ownsKnex = knex === undefined;
    this.#knex = knex ??
      createOwnKnex(connection as NonNullable<typeof connection>, (message) => this.#warn(message));
    this.#db = new Database(this.#knex);
    this.#retryPolicy = {
      maxRetries: this.#options.maxRetries,
      retryDelay: this.#options.retryDelay,
    };
    const { encryption } = this.#options;
    this.#cipher = encryption ? new SessionCipher(encryption) : undefined;
    this.#reader = new SessionReader(this.#cipher, (event) => this.#unreadable(event));
    this.#sql = statements({ table: this.#options.tableName, sid: this.#options.sidFieldName });
    if (this.#options.cleanupInterval > 0) {
      this.#cleanup = new CleanupScheduler({
        interval: this.#options.cleanupInterval,
        batchSize: this.#options.cleanupBatchSize,
        sweepBatch: (limit) => this.#clearExpiredBatch(limit),
        onError: this.#options.onDbCleanupError,
      });
    }
    this.#start();
  }

  /**
   * Resolves when the schema is usable (installed with `createtable`, or checked without).
   * Rejects when start-up fails; the next operation (or a background probe) tries again.
   */
  get ready(): Promise<void> {
    const ready = this.#start().then(() => undefined);
    ready.catch(() => {}); // An unawaited `ready` must not be an unhandled rejection.
    return ready;
  }

  /** The table this store uses. */
  get tableName(): string {
    return this.#options.tableName;
  }

  get(sid: string): Promise<SessionData | null>;
  get(sid: string, callback: (error: unknown, session?: SessionData | null) => void): void;
  get(sid: string, callback?: Callback<SessionData | null>): Promise<SessionData | null> | void {
    return respond(this.#get(sid), callback);
  }

  set(sid: string, session: SessionData): Promise<void>;
  set(sid: string, session: SessionData, callback: (error?: unknown) => void): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return respond(this.#set(sid, session), callback);
  }

  override touch(sid: string, session: SessionData): Promise<void>;
  override touch(sid: string, session: SessionData, callback: (error?: unknown) => void): void;
  override touch(
    sid: string,
    session: SessionData,
    callback?: Callback<void>,
  ): Promise<void> | void {
    return respond(this.#touch(sid, session), callback);
  }

  destroy(sid: string): Promise<void>;
  destroy(sid: string, callback: (error?: unknown) => void): void;
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    return respond(this.#destroy(sid), callback);
  }

  /** Every live session, each with its id in `id` (which replaces a stored `id` key). */
  override all(): Promise<SessionWithId[]>;
  override all(callback: (error: unknown, sessions?: SessionWithId[]) => void): void;
  override all(callback?: Callback<SessionWithId[]>): Promise<SessionWithId[]> | void {
    return respond(this.#all(), callback);
  }

  /** How many sessions are live (not expired). */
  override length(): Promise<number>;
  override length(callback: (error: unknown, length?: number) => void): void;
  override length(callback?: Callback<number>): Promise<number> | void {
    return respond(this.#length(), callback);
  }

  /** Deletes every session. */
  override clear(): Promise<void>;
  override clear(callback: (error?: unknown) => void): void;
  override clear(callback?: Callback<void>): Promise<void> | void {
    return respond(this.#clear(), callback);
  }

  /**
   * Deletes expired sessions now, in batches of `cleanupBatchSize`, resting after each batch
   * for as long as it took; resolves with how many went. The periodic cleanup does the same.
   */
  clearExpired(): Promise<number> {
    return sweepInBatches(
      (limit) => this.#clearExpiredBatch(limit),
      this.#options.cleanupBatchSize,
    );
  }

  /** A snapshot of the store's counters. */
  stats(): StoreStats {
    return { ...this.#stats };
  }

  /**
   * Stops the cleanup timer and reconnection probes and, when the store created its own knex
   * instance, destroys it. A knex instance passed in is left open. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #get(sid: string): Promise<SessionData | null> {
    checkSid(sid);
    if (!this.#facts) await this.#start();
    const rows = await this.#rows<{ sess: unknown; expires_at: number | string }>(
      "get",
      this.#sql.get,
      [sid, toSqlDateTime(Date.now())],
    );
    const row = rows[0];
    if (!row) {
      this.#recentExpiry.delete(sid);
      return null;
    }
    this.#rememberExpiry(sid, Number(row.expires_at) * 1000);
    return await this.#reader.read(row.sess, sid);
  }

  async #set(sid: string, session: SessionData): Promise<void> {
    checkSid(sid);
    const json = encodeSession(session);
    const expires = expiryOf(session, Date.now(), this.#options.ttl);
    const { maxAllowedPacket } = this.#facts ?? await this.#start();
    const stored = this.#cipher ? await this.#cipher.seal(json, sid) : json;
    checkPacketSize(stored, sid, maxAllowedPacket);
    await this.#rows("set", this.#sql.set, [sid, stored, toSqlDateTime(expires)]);
    this.#rememberExpiry(sid, expires);
  }

  async #touch(sid: string, session: SessionData): Promise<void> {
    checkSid(sid);
    checkSession(session);
    if (this.#options.disableTouch) return;
    const now = Date.now();
    const expires = expiryOf(session, now, this.#options.ttl);
    if (this.#touchWouldKeep(sid, expires)) return;
    if (!this.#facts) await this.#start();
    await this.#rows("touch", this.#sql.touch, [sid, toSqlDateTime(expires), toSqlDateTime(now)]);
    this.#rememberExpiry(sid, expires);
  }

  async #destroy(sid: string): Promise<void> {
    checkSid(sid);
    if (!this.#facts) await this.#start();
    await this.#rows("destroy", this.#sql.destroy, [sid]);
    this.#recentExpiry.delete(sid);
  }

  async #all(): Promise<SessionWithId[]> {
    if (!this.#facts) await this.#start();
    const rows = await this.#rows<{ sid: string; sess: unknown }>("all", this.#sql.all, [
      toSqlDateTime(Date.now()),
    ]);
    const sessions = await Promise.all(
      rows.map(async (row) => {
        const session = await this.#reader.read(row.sess, row.sid);
        return session && Object.assign(session, { id: row.sid });
      }),
    );
    return sessions.filter((session) => session !== null);
  }

  #unreadable(event: UnreadableEvent): void {
    if (this.listenerCount("unreadable") > 0) this.emit("unreadable", event);
    else this.#warn(`session ${JSON.stringify(event.sid)}: ${event.message}`);
  }

  async #length(): Promise<number> {
    if (!this.#facts) await this.#start();
    const [row] = await this.#rows<{ live: number | string }>("length", this.#sql.length, [
      toSqlDateTime(Date.now()),
    ]);
    return Number(row?.live ?? 0);
  }

  async #clear(): Promise<void> {
    if (!this.#facts) await this.#start();
    await this.#rows("clear", this.#sql.clear, []);
    this.#recentExpiry.clear();
  }

  /** One batch of a sweep; 0 ends the sweep. */
  async #clearExpiredBatch(limit: number): Promise<number> {
    if (!this.#facts) await this.#start();
    try {
      const [row] = await this.#rows<{ deleted: number | string }>(
        "cleanup",
        this.#sql.clearExpired,
        [toSqlDateTime(Date.now()), limit],
        // A conflict means another instance is sweeping the same rows: leave it to that one.
        (error) => isTransientError(error) && !isWriteConflict(error),
      );
      const deleted = Number(row?.deleted ?? 0);
      this.#stats.sessionsSwept += deleted;
      return deleted;
    } catch (error) {
      if (!isWriteConflict((error as { cause?: unknown }).cause)) throw error;
      this.#stats.sweepConflicts++;
      return 0;
    }
  }

  /**
   * Runs a statement, retrying transient failures; a failure comes back as a SessionStoreError
   * naming the operation.
   */
  #rows<Row>(
    operation: string,
    sql: string,
    values: unknown[],
    retryable: (error: unknown) => boolean = isTransientError,
  ): Promise<Row[]> {
    const attempt = () => this.#db.rows<Row>(sql, values);
    return attempt().catch(async (error) => {
      try {
        return await retryAfter(error, attempt, this.#retryPolicy, (count, cause) => {
          this.#stats.retries++;
          this.emit("retry", { operation, attempt: count, error: cause } satisfies RetryEvent);
        }, retryable);
      } catch (final) {
        if (isConnectionError(final)) this.#checkConnection();
        throw databaseError(operation, final);
      }
    });
  }

  #start(): Promise<ServerFacts> {
    if (this.#closing) return Promise.reject(closedError());
    if (this.#facts) return Promise.resolve(this.#facts);
    if (!this.#startup) {
      const { tableName, sidFieldName, createTable } = this.#options;
      const attempt = prepareSchema(
        this.#db,
        { table: tableName, sid: sidFieldName },
        createTable,
      ).catch((error) => {
        throw databaseError("start-up", error);
      });
      this.#startup = attempt;
      attempt.then(
        (facts) => {
          if (this.#closing) return;
          this.#facts = facts;
          for (const warning of facts.warnings) this.#warn(warning);
          this.#markConnected();
          this.#cleanup?.start();
        },
        () => {
          this.#startup = undefined;
          this.#markDisconnected();
        },
      );
    }
    return this.#startup;
  }

  #warn(message: string): void {
    if (this.listenerCount("warning") > 0) this.emit("warning", message);
    else console.warn(`knex-mysql-session: ${message}`);
  }

  #markConnected(): void {
    if (this.#state === "connected" || this.#closing) return;
    this.#state = "connected";
    this.emit("connect");
  }

  #markDisconnected(): void {
    if (this.#state === "disconnected" || this.#closing) return;
    this.#state = "disconnected";
    this.emit("disconnect");
    void this.#reconnect();
  }

  /** After a connection error: is the database gone, or was it one bad connection? */
  #checkConnection(): void {
    if (this.#checkingConnection || this.#state !== "connected") return;
    this.#checkingConnection = true;
    this.#db.rows("SELECT 1", []).then(
      () => {},
      () => this.#markDisconnected(),
    ).finally(() => {
      this.#checkingConnection = false;
    });
  }

  /** Probes the database with backoff until it answers, then emits `connect`. */
  async #reconnect(): Promise<void> {
    if (this.#reconnecting) return;
    this.#reconnecting = true;
    let delay = FIRST_RECONNECT_DELAY;
    while (!this.#closing && this.#state === "disconnected") {
      await new Promise<void>((resolve) => {
        this.#wakeReconnect = resolve;
        this.#reconnectTimer = setTimeout(resolve, delay);
        this.#reconnectTimer.unref();
      });
      if (this.#closing) break;
      try {
        if (this.#facts) await this.#db.rows("SELECT 1", []);
        else await this.#start();
        this.#markConnected();
      } catch {
        delay = Math.min(delay * 2, MAX_RECONNECT_DELAY);
      }
    }
    this.#reconnecting = false;
  }

  /**
   * Whether a touch of `sid` to `expires` may be skipped: the stored expiry this store last read
   * or wrote is already that second (the column holds whole seconds, so the write would change
   * nothing), or, with `touchAfter`, less than `touchAfter` earlier. A row another app instance
   * wrote since this store saw it keeps that newer write.
   */
  #touchWouldKeep(sid: string, expires: number): boolean {
    const stored = this.#recentExpiry.get(sid);
    if (stored === undefined) return false;
    const { touchAfter } = this.#options;
    return storedTime(expires) === stored || (touchAfter > 0 && expires - stored < touchAfter);
  }

  /** Remembers the expiry stored for `sid` (see #touchWouldKeep). */
  #rememberExpiry(sid: string, expires: number): void {
    this.#recentExpiry.delete(sid); // re-inserted last: the Map's order is its age
    this.#recentExpiry.set(sid, storedTime(expires));
    if (this.#recentExpiry.size > REMEMBERED_EXPIRIES) {
      this.#recentExpiry.delete(this.#recentExpiry.keys().next().value as string);
    }
  }

  async #shutdown(): Promise<void> {
    this.#facts = undefined;
    clearTimeout(this.#reconnectTimer);
    this.#wakeReconnect?.();
    await this.#cleanup?.stop();
    // Let a start-up in flight finish its DDL before the connections go.
    await this.#startup?.catch(() => {});
    if (this.#ownsKnex) await this.#knex.destroy();
  }
}

/**
 * Delivers an operation's outcome the way express-session expects: to the callback, once and
 * asynchronously, or as the returned promise when there is no callback. An exception thrown
 * by the callback is rethrown outside the promise chain, as from any Node callback, rather
 * than turned into a rejection nobody handles.
 */
function respond<T>(work: Promise<T>, callback: Callback<T> | undefined): Promise<T> | void {
  if (typeof callback !== "function") return work;
  work.then((value) => deliver(callback, null, value), (error) => deliver(callback, error));
}

function deliver<T>(callback: Callback<T>, error: unknown, value?: T): void {
  try {
    callback(error, value);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}
