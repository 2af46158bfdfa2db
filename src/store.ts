// @ts-types="@types/express-session"
import { type SessionData, Store } from "express-session";
import type { Knex } from "knex";
import process from "node:process";
import { CleanupScheduler, sweepInBatches } from "./cleanup.ts";
import { checkPacketSize, checkSession, checkSid, encodeSession } from "./codec.ts";
import { createOwnKnex } from "./connection.ts";
import { Database } from "./database.ts";
import { plaintextWindowNote, SessionCipher, type UnreadableReason } from "./encryption.ts";
import { databaseError, isConnectionError, isSetupError, SessionStoreError } from "./errors.ts";
import { SessionMemo } from "./session_memo.ts";
import { ConnectionHealth } from "./health.ts";
import { type KnexMySQLStoreOptions, type ResolvedOptions, resolveOptions } from "./options.ts";
import { certainlyNotApplied, isTransientError, isWriteConflict, retryAfter } from "./retry.ts";
import { prepareSchema } from "./schema.ts";
import { SessionReader } from "./session_reader.ts";
import { type Statements, statements } from "./sql.ts";
import { Startup } from "./startup.ts";
import { expiryOf, toSqlDateTime, withStoredExpiry } from "./time.ts";
import { clock } from "./clock.ts";

/** The `user_id` column as a read returns it: a sealed session must open with it. */
type Owner = string | null;

/** A session as `all()` returns it: the stored data plus its id. */
export type SessionWithId = SessionData & { id: string };

/** Counters of what the store did beyond plain reads and writes; see `stats()`. */
export interface StoreStats {
  /** Statements sent again after a failure that allowed it (each also emitted as `retry`). */
  retries: number;
  /** Expired sessions deleted by the periodic sweep and by `clearExpired()`. */
  sessionsSwept: number;
  /**
   * Sweeps cut short because another app instance was deleting the same rows (a lock
   * conflict, or a certification conflict on Galera): that instance finishes the work.
   */
  sweepConflicts: number;
}

/** One of a user's sessions, as `sessionsOf` lists them. */
export interface UserSession {
  /** The session id (what express-session calls req.sessionID). */
  id: string;
  /** When it expires (whole seconds). */
  expires: Date;
  /** The session's data, as get() gives it. */
  session: SessionData;
}

/** The payload of the `retry` event. */
export interface RetryEvent {
  /** The store operation: get, set, touch, destroy, all, length, clear or cleanup. */
  operation: string;
  /** 1 for the first retry. */
  attempt: number;
  /** The failure that allowed it. */
  error: unknown;
}

/** The payload of the `unreadable` event: a stored session that reads as no session. */
export interface UnreadableEvent {
  /** The session id whose stored row could not be opened. */
  sid: string;
  /** Why it could not be opened. */
  reason: UnreadableReason;
  /** What happened and what to do about it, for a log line. */
  message: string;
}

/**
 * The store's options after validation, as `store.options` shows them (connect-session-knex v5
 * code reads them there): defaults applied, aliases merged, and no key material.
 */
export interface StoreOptions {
  /** The knex instance in use: the one given, or the one the store made (close() destroys it). */
  readonly knex: Knex;
  /** The sessions table (option `tablename`). */
  readonly tableName: string;
  /** The session-id column (option `sidfieldname`). */
  readonly sidFieldName: string;
  /** Whether start-up installs what is missing of the schema (option `createtable`). */
  readonly createTable: boolean;
  /** Milliseconds between sweeps; 0 when this store does not sweep. */
  readonly cleanupInterval: number;
  /** The most expired sessions one call of the sweep deletes. */
  readonly cleanupBatchSize: number;
  /** Called with the error of a failed sweep. */
  readonly onDbCleanupError: (error: unknown) => void;
  /** Whether `touch` is turned off. */
  readonly disableTouch: boolean;
  /** Milliseconds within which a touch that would move the expiry less is not written. */
  readonly touchAfter: number;
  /** The deadline of every statement, in milliseconds. */
  readonly queryTimeout: number;
  /** The most resends of one statement; `Infinity` when only `queryTimeout` limits them. */
  readonly maxRetries: number;
  /** The base of the resends' backoff, in milliseconds. */
  readonly retryDelay: number;
  /** Whether sessions are encrypted (the keys are not shown). */
  readonly encrypted: boolean;
}

/** Each event of the store and its listener's arguments: `store.on(name, listener)`. */
export interface StoreEvents {
  /** The database is usable: after start-up, and after it answers again. */
  connect: [];
  /** The database stopped answering: express-session serves requests without a session. */
  disconnect: [];
  /** A set-up error (ERR_SCHEMA, ERR_ACCESS_DENIED, ERR_CONFIG), once each, naming its fix. */
  error: [error: SessionStoreError];
  /** Something that weakens the store but does not stop it. */
  warning: [message: string];
  /** A statement was sent again. */
  retry: [event: RetryEvent];
  /** A stored session could not be opened and reads as no session. */
  unreadable: [event: UnreadableEvent];
}

/** A listener of the store's event `E`, called with that event's arguments. */
export type StoreListener<E extends keyof StoreEvents> = (...args: StoreEvents[E]) => void;

type Callback<T> = (error: unknown, value?: T) => void;

/**
 * What may be sent again after a failure. A read, after any transient failure. A write only
 * when it certainly changed nothing: resending one whose reply was lost could undo a later
 * write (a logout). A sweep batch, like a read, except after a conflict: another instance is
 * sweeping the same rows, and leaving them to it is the point.
 */
type Resendable = (error: unknown) => boolean;
const READ: Resendable = isTransientError;
const WRITE: Resendable = certainlyNotApplied;
const SWEEP: Resendable = (error) => isTransientError(error) && !isWriteConflict(error);

/** What a write whose reply never came says: it may have been applied, and was not resent. */
const UNKNOWN_OUTCOME = "the server may or may not have applied the write, and it was not " +
  "sent again, as a late copy could undo a later write";

/** Whether `error` is a deadline the database layer enforced (no reply, or no connection). */
function isTimeout(error: unknown): boolean {
  const code = error instanceof SessionStoreError ? error.code : undefined;
  return code === "ERR_TIMEOUT" || code === "ERR_POOL_TIMEOUT";
}

/** How many sessions the store remembers the expiry and cookie of (see SessionMemo). */
const REMEMBERED_SESSIONS = 10_000;
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
 * Events:
 * - `connect` when the database is usable, `disconnect` when it stops answering (express-session
 *   then serves requests without a session until `connect`);
 * - `error` ({@link SessionStoreError}) once per set-up error (ERR_SCHEMA, ERR_ACCESS_DENIED,
 *   ERR_CONFIG), whose message names the fix; printed with console.error when nobody listens.
 *   Operations fail at once with it until the set-up is fixed (checked again every 10 s and on
 *   each read of `ready`);
 * - `warning` with a message about something that weakens the store (console.warn when nobody
 *   listens);
 * - `retry` ({@link RetryEvent}) each time a statement is sent again;
 * - `unreadable` ({@link UnreadableEvent}) when a stored session cannot be opened (tampered,
 *   sealed with an unknown key, sealed while the store has no `encryption`, or not a JSON
 *   object) and so reads as no session (console.warn when nobody listens).
 */
export class KnexMySQLStore extends Store {
  readonly #options: ResolvedOptions;
  readonly #view: StoreOptions;
  /** The knex instance the store made for itself, which close() destroys; undefined when given. */
  readonly #ownKnex: Knex | undefined;
  readonly #db: Database;
  readonly #sql: Statements;
  readonly #startup: Startup;
  readonly #health: ConnectionHealth;
  readonly #cleanup: CleanupScheduler | undefined;
  readonly #cipher: SessionCipher | undefined;
  readonly #reader: SessionReader;
  readonly #memo = new SessionMemo(REMEMBERED_SESSIONS);
  readonly #stats: StoreStats = { retries: 0, sessionsSwept: 0, sweepConflicts: 0 };
  /** Set-up errors already reported (code and message), so that each is reported once. */
  readonly #reported = new Set<string>();
  #warnedNoOwners = false;
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
    this.#view = Object.freeze({
      knex: knex ?? this.#ownKnex as Knex,
      tableName,
      sidFieldName,
      createTable: this.#options.createTable,
      cleanupInterval: this.#options.cleanupInterval,
      cleanupBatchSize: this.#options.cleanupBatchSize,
      onDbCleanupError: this.#options.onDbCleanupError,
      disableTouch: this.#options.disableTouch,
      touchAfter: this.#options.touchAfter,
      queryTimeout,
      maxRetries: this.#options.maxRetries,
      retryDelay: this.#options.retryDelay,
      encrypted: encryption !== undefined,
    });
    const names = { table: tableName, sid: sidFieldName };
    this.#sql = statements(names);
    this.#startup = new Startup({
      check: () =>
        prepareSchema(this.#db, names, this.#options.createTable).catch((error) => {
          throw databaseError("start-up", error);
        }),
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
    this.#cipher = encryption ? new SessionCipher(encryption) : undefined;
    this.#reader = new SessionReader(this.#cipher, (event) => this.#unreadable(event));
    if (this.#options.cleanupInterval > 0) {
      this.#cleanup = new CleanupScheduler({
        interval: this.#options.cleanupInterval,
        batchSize: this.#options.cleanupBatchSize,
        sweepBatch: (limit) => this.#clearExpiredBatch(limit),
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
    return respond(this.#get(sid), callback);
  }

  /** Saves a session, with its expiry, inserting or replacing it. */
  set(sid: string, session: SessionData): Promise<void>;
  /** Saves a session, with its expiry, inserting or replacing it; then calls back. */
  set(sid: string, session: SessionData, callback: (error?: unknown) => void): void;
  set(sid: string, session: SessionData, callback?: Callback<void>): Promise<void> | void {
    return respond(this.#set(sid, session), callback);
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
    return respond(this.#touch(sid, session), callback);
  }

  /** Deletes a session; resolves whether there was one to delete. */
  destroy(sid: string): Promise<boolean>;
  /** Deletes a session; calls back with whether there was one to delete. */
  destroy(sid: string, callback: (error: unknown, destroyed?: boolean) => void): void;
  destroy(sid: string, callback?: Callback<boolean>): Promise<boolean> | void {
    return respond(this.#destroy(sid), callback);
  }

  /** Every live session, each with its id in `id` (which replaces a stored `id` key). */
  override all(): Promise<SessionWithId[]>;
  /** Calls back with every live session, each with its id in `id`. */
  override all(callback: (error: unknown, sessions?: SessionWithId[]) => void): void;
  override all(callback?: Callback<SessionWithId[]>): Promise<SessionWithId[]> | void {
    return respond(this.#all(), callback);
  }

  /** How many sessions are live (not expired). */
  override length(): Promise<number>;
  /** Calls back with how many sessions are live (not expired). */
  override length(callback: (error: unknown, length?: number) => void): void;
  override length(callback?: Callback<number>): Promise<number> | void {
    return respond(this.#length(), callback);
  }

  /** Deletes every session; resolves with how many there were. */
  override clear(): Promise<number>;
  /** Deletes every session; calls back with how many there were. */
  override clear(callback: (error: unknown, deleted?: number) => void): void;
  override clear(callback?: Callback<number>): Promise<number> | void {
    return respond(this.#clear(), callback);
  }

  /**
   * Deletes expired sessions now, in batches of `cleanupBatchSize`, resting after each batch
   * for as long as it took; resolves with how many went. The periodic cleanup does the same.
   */
  clearExpired(): Promise<number>;
  /** Like the promise form of clearExpired(), then calls back with how many went. */
  clearExpired(callback: (error: unknown, deleted?: number) => void): void;
  clearExpired(callback?: Callback<number>): Promise<number> | void {
    const sweep = sweepInBatches(
      (limit) => this.#clearExpiredBatch(limit),
      this.#options.cleanupBatchSize,
    );
    return respond(sweep, callback);
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
    return respond(this.#sessionsOf(userId), callback);
  }

  /** How many live sessions the user `userId` has. */
  countOf(userId: string | number): Promise<number>;
  /** countOf(), the callback way. */
  countOf(userId: string | number, callback: (error: unknown, count?: number) => void): void;
  countOf(userId: string | number, callback?: Callback<number>): Promise<number> | void {
    return respond(this.#countOf(userId), callback);
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
    return respond(this.#destroyUser(userId, except), done);
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

  async #get(sid: string): Promise<SessionData | null> {
    checkSid(sid);
    const rows = await this.#run<{ sess: unknown; expires_at: number | string; owner: Owner }>(
      "get",
      this.#sql.get,
      [sid, toSqlDateTime(clock.now())],
      READ,
    );
    const row = rows[0];
    const session = row ? await this.#reader.read(row.sess, sid, row.owner) : null;
    if (!row || !session) {
      this.#memo.forget(sid);
      return null;
    }
    this.#memo.remember(sid, Number(row.expires_at) * 1000, session.cookie);
    return withStoredExpiry(session, row.expires_at);
  }

  async #set(sid: string, session: SessionData): Promise<void> {
    checkSid(sid);
    const json = encodeSession(session);
    const expires = expiryOf(session, clock.now(), this.#options.ttl);
    const { maxAllowedPacket } = this.#startup.facts ?? await this.#startup.started();
    const owner = await this.#ownerOf(session);
    // Sealed with its owner: a row whose user_id is changed or erased no longer opens.
    const stored = this.#cipher ? await this.#cipher.seal(json, sid, owner) : json;
    checkPacketSize(stored, sid, maxAllowedPacket);
    // A destroyed session's marker stays: the procedure does not save over it.
    await this.#write("set", this.#sql.set, [sid, stored, toSqlDateTime(expires), owner], WRITE);
    this.#memo.remember(sid, expires, session.cookie);
  }

  async #touch(sid: string, session: SessionData): Promise<void> {
    checkSid(sid);
    checkSession(session);
    // express-session touches a session whose data did not change, even when the app changed
    // its cookie (req.session.cookie.maxAge = …): only a save keeps that, as MemoryStore does.
    const now = clock.now();
    if (this.#memo.cookieChanged(sid, session.cookie, now)) return await this.#set(sid, session);
    if (this.#options.disableTouch) return;
    const expires = expiryOf(session, now, this.#options.ttl);
    if (this.#memo.touchWouldKeep(sid, expires, this.#options.touchAfter)) return;
    await this.#write(
      "touch",
      this.#sql.touch,
      [sid, toSqlDateTime(expires), toSqlDateTime(now)],
      WRITE,
    );
    this.#memo.touched(sid, expires);
  }

  async #destroy(sid: string): Promise<boolean> {
    checkSid(sid);
    const destroyed = await this.#write("destroy", this.#sql.destroy, [sid], WRITE);
    this.#memo.forget(sid);
    return destroyed > 0;
  }

  async #all(): Promise<SessionWithId[]> {
    const rows = await this.#run<
      { sid: string; sess: unknown; expires_at: number | string; owner: Owner }
    >(
      "all",
      this.#sql.all,
      [toSqlDateTime(clock.now())],
      READ,
    );
    const sessions = await Promise.all(
      rows.map(async (row) => {
        const session = await this.#reader.read(row.sess, row.sid, row.owner);
        return session && Object.assign(withStoredExpiry(session, row.expires_at), { id: row.sid });
      }),
    );
    return sessions.filter((session) => session !== null);
  }

  async #length(): Promise<number> {
    const [row] = await this.#run<{ live: number | string }>(
      "length",
      this.#sql.length,
      [toSqlDateTime(clock.now())],
      READ,
    );
    return Number(row?.live ?? 0);
  }

  async #clear(): Promise<number> {
    const [row] = await this.#run<{ deleted: number | string }>(
      "clear",
      this.#sql.clear,
      [],
      WRITE,
    );
    this.#memo.clear();
    return Number(row?.deleted ?? 0);
  }

  /** One batch of a sweep; 0 ends the sweep. */
  async #clearExpiredBatch(limit: number): Promise<number> {
    try {
      const deleted = await this.#write(
        "cleanup",
        this.#sql.clearExpired,
        [toSqlDateTime(clock.now()), limit],
        SWEEP,
      );
      this.#stats.sessionsSwept += deleted;
      return deleted;
    } catch (error) {
      if (!isWriteConflict((error as { cause?: unknown }).cause)) throw error;
      this.#stats.sweepConflicts++;
      return 0;
    }
  }

  /** What the `user_id` column holds for `session`: its owner (hashed with encryption), or null. */
  async #ownerOf(session: SessionData): Promise<string | null> {
    const { userId } = this.#options;
    if (!userId) return null;
    let owner: unknown;
    try {
      owner = userId(session);
    } catch (cause) {
      throw new SessionStoreError("ERR_INVALID_SESSION", "the userId function threw", { cause });
    }
    if (owner === null || owner === undefined) return null;
    const [key] = await this.#ownerKeys(owner, "the userId function returned");
    return key as string;
  }

  /** The owner keys of a lookup by user (sessionsOf, countOf, destroyUser). */
  #lookupKeys(userId: unknown): Promise<string[]> {
    if (!this.#options.userId && !this.#warnedNoOwners) {
      // A lookup by user on a store that saves no owners finds only what others saved.
      this.#warnedNoOwners = true;
      this.#warn(
        "sessionsOf, countOf and destroyUser look sessions up by owner, and the option userId " +
          "is not set: this store saves sessions without one, so they find only sessions that " +
          "other app instances saved with userId",
      );
    }
    return this.#ownerKeys(userId, "userId is");
  }

  /**
   * What the `user_id` column holds for the user `userId`: the id as text, or with encryption
   * its keyed hash under each key (newest first: saves write the first, lookups try all).
   */
  async #ownerKeys(userId: unknown, what: string): Promise<string[]> {
    const text = typeof userId === "number" && Number.isFinite(userId)
      ? String(userId)
      : typeof userId === "string" && userId.length > 0 && userId.isWellFormed()
      ? userId
      : undefined;
    if (text === undefined) {
      throw new SessionStoreError(
        "ERR_INVALID_SESSION",
        `${what} not a user id: a non-empty string or a finite number (got ${
          typeof userId === "string" ? "a string that is empty or not well-formed" : typeof userId
        })`,
      );
    }
    if (this.#cipher) return await this.#cipher.ownerHashes(text);
    if ([...text].length > 255) {
      throw new SessionStoreError(
        "ERR_INVALID_SESSION",
        `${what} a user id of ${[...text].length} characters: the user_id column holds 255`,
      );
    }
    return [text];
  }

  async #sessionsOf(userId: string | number): Promise<UserSession[]> {
    const now = toSqlDateTime(clock.now());
    const found: UserSession[] = [];
    for (const key of await this.#lookupKeys(userId)) {
      const rows = await this.#run<
        { sid: string; sess: unknown; expires_at: number | string; owner: Owner }
      >(
        "sessionsOf",
        this.#sql.sessionsOf,
        [key, now],
        READ,
      );
      for (const row of rows) {
        const session = await this.#reader.read(row.sess, row.sid, row.owner);
        if (session) {
          found.push({
            id: row.sid,
            expires: new Date(Number(row.expires_at) * 1000),
            session: withStoredExpiry(session, row.expires_at),
          });
        }
      }
    }
    return found.sort((a, b) => b.expires.getTime() - a.expires.getTime());
  }

  async #countOf(userId: string | number): Promise<number> {
    const now = toSqlDateTime(clock.now());
    let count = 0;
    for (const key of await this.#lookupKeys(userId)) {
      const [row] = await this.#run<{ live: number | string }>(
        "countOf",
        this.#sql.countOf,
        [key, now],
        READ,
      );
      count += Number(row?.live ?? 0);
    }
    return count;
  }

  async #destroyUser(userId: string | number, except: unknown): Promise<number> {
    if (except !== undefined) checkSid(except);
    let deleted = 0;
    for (const key of await this.#lookupKeys(userId)) {
      deleted += await this.#write(
        "destroyUser",
        this.#sql.destroyUser,
        [key, except ?? null],
        WRITE,
      );
    }
    return deleted;
  }

  #unreadable(event: UnreadableEvent): void {
    if (this.listenerCount("unreadable") > 0) this.emit("unreadable", event);
    else this.#warn(`session ${JSON.stringify(event.sid)}: ${event.message}`);
  }

  /** A SELECT (or a CALL that selects), resolving to its rows; see #send. */
  #run<Row>(
    operation: string,
    sql: string,
    values: unknown[],
    resendable: Resendable,
  ): Promise<Row[]> {
    return this.#send(
      operation,
      (msLeft) => this.#db.execute<Row>(sql, values, msLeft),
      resendable,
    );
  }

  /** A CALL that selects nothing, resolving to the rows it changed; see #send. */
  #write(
    operation: string,
    sql: string,
    values: unknown[],
    resendable: Resendable,
  ): Promise<number> {
    return this.#send(operation, (msLeft) => this.#db.write(sql, values, msLeft), resendable);
  }

  /**
   * The one path of every statement: once the schema is known usable, straight to the
   * database (the hot path: no retry machinery on the first attempt); a failure goes to
   * #recover. `attempt` sends the statement once, within `msLeft` ms (the default deadline
   * when undefined).
   */
  #send<T>(
    operation: string,
    attempt: (msLeft?: number) => Promise<T>,
    resendable: Resendable,
  ): Promise<T> {
    if (!this.#startup.facts) {
      return this.#startup.started().then(() => this.#send(operation, attempt, resendable));
    }
    const deadline = clock.monotonic() + this.#options.queryTimeout;
    return attempt().catch((error) =>
      this.#recover(operation, attempt, resendable, deadline, error)
    );
  }

  /** Sends the statement again while that is safe and its deadline allows, or reports why not. */
  async #recover<T>(
    operation: string,
    attempt: (msLeft: number) => Promise<T>,
    resendable: Resendable,
    deadline: number,
    error: unknown,
  ): Promise<T> {
    try {
      return await retryAfter(
        error,
        attempt,
        deadline,
        this.#options,
        (attempt, cause) => {
          // A connection that failed: is the server gone? Ask now, not at the deadline.
          if (isConnectionError(cause)) this.#health.suspect();
          this.#stats.retries++;
          this.emit("retry", { operation, attempt, error: cause } satisfies RetryEvent);
        },
        // The database layer's own errors (a deadline, a full queue, closing) are final.
        (cause) => !this.#closing && !(cause instanceof SessionStoreError) && resendable(cause),
      );
    } catch (final) {
      throw this.#failure(operation, final, resendable === WRITE);
    }
  }

  /** The error an operation reports, after telling whoever needs to know. */
  #failure(operation: string, cause: unknown, write: boolean): SessionStoreError {
    const unanswered = isConnectionError(cause) || isTimeout(cause);
    const failure = databaseError(
      operation,
      cause,
      write && unanswered && !certainlyNotApplied(cause) ? UNKNOWN_OUTCOME : undefined,
    );
    if (isSetupError(failure)) {
      this.#report(failure);
      // A table or procedure gone at run time: the next operation runs the start-up check
      // again, which reinstalls it with createtable, or fails fast with the fix.
      if (failure.code === "ERR_SCHEMA") this.#startup.invalidate();
    } else if (unanswered) {
      this.#health.suspect();
    }
    return failure;
  }

  /** A set-up error, once: to `error` listeners, else as an error-level line. */
  #report(error: SessionStoreError): void {
    const key = `${error.code} ${error.message}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    if (this.listenerCount("error") > 0) this.emit("error", error);
    else console.error(error.message);
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
