// @ts-types="@types/express-session"
import type { SessionData } from "express-session";
import { checkPacketSize, checkSession, checkSid, encodeSession } from "./codec.ts";
import type { SessionCipher } from "./encryption.ts";
import { isWriteConflict } from "./driver_errors.ts";
import type { SessionMemo } from "./session_memo.ts";
import type { SessionReader } from "./session_reader.ts";
import type { Statements } from "./sql.ts";
import { READ, type StatementRunner, SWEEP, WRITE } from "./statement_runner.ts";
import type { Startup } from "./startup.ts";
import type { Coalescing } from "./statement_batches.ts";
import type { ServerFacts } from "./schema_setup.ts";
import {
  batchLimit,
  destroyBatches,
  getBatches,
  setBatchBytes,
  setBatches,
  touchBatches,
} from "./statement_batches.ts";
import { expiryOf, toSqlDateTime, withStoredExpiry } from "./time.ts";
import type { UserSessions } from "./user_sessions.ts";
import { clock } from "./clock.ts";

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
  /** SELECTs that answered several gets waiting for a connection at once. */
  getBatches: number;
  /** Gets answered by those SELECTs. */
  batchedGets: number;
  /** CALLs that saved the sessions of several saves waiting for a connection at once. */
  setBatches: number;
  /** Saves made by those CALLs. */
  batchedSets: number;
  /** CALLs that extended the sessions of several touches waiting for a connection at once. */
  touchBatches: number;
  /** Touches made by those CALLs. */
  batchedTouches: number;
  /** CALLs that ended the sessions of several destroys waiting for a connection at once. */
  destroyBatches: number;
  /** Destroys made by those CALLs. */
  batchedDestroys: number;
}

/** How each kind of operation goes out together, for the server facts they were made for. */
interface StatementBatches {
  facts: ServerFacts;
  gets: Coalescing | undefined;
  sets: Coalescing | undefined;
  touches: Coalescing | undefined;
  destroys: Coalescing | undefined;
}

/** Every counter at 0. */
export function noStats(): StoreStats {
  return {
    retries: 0,
    sessionsSwept: 0,
    sweepConflicts: 0,
    getBatches: 0,
    batchedGets: 0,
    setBatches: 0,
    batchedSets: 0,
    touchBatches: 0,
    batchedTouches: 0,
    destroyBatches: 0,
    batchedDestroys: 0,
  };
}

export interface SessionTableOptions {
  runner: StatementRunner;
  sql: Statements;
  reader: SessionReader;
  /** With encryption, sessions are sealed with their id and owner. */
  cipher: SessionCipher | undefined;
  owners: Pick<UserSessions, "ownerOf">;
  /** Expiries and cookies of recent sessions, to skip touches that would change nothing. */
  memo: SessionMemo;
  /** The server's facts (max_allowed_packet), once the start-up check has passed. */
  startup: Startup;
  /** The store's counters, of which the sweep keeps its own. */
  stats: StoreStats;
  ttl: (session: SessionData) => number;
  disableTouch: boolean;
  touchAfter: number;
}

/**
 * The session operations as statements: what each express-session method sends, with which
 * values and resend rule, and what it makes of the rows. Reads are SELECTs, writes CALLs.
 */
export class SessionTable {
  readonly #options: SessionTableOptions;
  readonly #runner: SessionTableOptions["runner"];
  readonly #sql: SessionTableOptions["sql"];
  readonly #reader: SessionTableOptions["reader"];
  readonly #cipher: SessionTableOptions["cipher"];
  readonly #owners: SessionTableOptions["owners"];
  readonly #memo: SessionTableOptions["memo"];
  readonly #startup: SessionTableOptions["startup"];
  readonly #stats: SessionTableOptions["stats"];
  /** How each kind of operation goes out together, for the server facts they were made for. */
  #batches: StatementBatches | undefined;

  constructor(options: SessionTableOptions) {
    this.#options = options;
    this.#runner = options.runner;
    this.#sql = options.sql;
    this.#reader = options.reader;
    this.#cipher = options.cipher;
    this.#owners = options.owners;
    this.#memo = options.memo;
    this.#startup = options.startup;
    this.#stats = options.stats;
  }

  async get(sid: string): Promise<SessionData | null> {
    checkSid(sid);
    const rows = await this.#runner.rows<
      { sess: unknown; expires_at: number | string; owner: string | null }
    >(
      "get",
      this.#sql.get,
      [sid, toSqlDateTime(clock.now())],
      READ,
      this.#batchesFor(this.#startup.facts)?.gets,
    );
    const row = rows[0];
    const read = row ? this.#reader.read(row.sess, sid, row.owner) : null;
    // Awaited only when sealed: awaiting a plain value would still cost a turn of the queue.
    const session = read instanceof Promise ? await read : read;
    if (!row || !session) {
      this.#memo.forget(sid);
      return null;
    }
    this.#memo.remember(sid, Number(row.expires_at) * 1000, session.cookie);
    return withStoredExpiry(session, row.expires_at);
  }

  /**
   * How gets, saves, touches and destroys waiting at once go out as one statement each, once the
   * server is known: none where max_allowed_packet leaves no room for more than one, and touches
   * alone where the sid column compares ids otherwise than JavaScript (case-insensitive, PAD
   * SPACE): there a row (or a destroy's answer) could go to another id, or of two saves of one
   * row the wrong one be kept.
   */
  #batchesFor(facts: ServerFacts | undefined): StatementBatches | undefined {
    if (!facts) return undefined;
    if (this.#batches?.facts !== facts) {
      const max = batchLimit(facts.maxAllowedPacket);
      const byId = max > 1 && facts.sidComparesLikeJavaScript;
      const stats = this.#stats;
      // Counts each combined statement into `statements` and the operations it answered into
      // `operations`.
      const counted =
        (statements: keyof StoreStats, operations: keyof StoreStats) => (size: number) => {
          stats[statements]++;
          stats[operations] += size;
        };
      const sql = this.#sql;
      const bytes = setBatchBytes(facts.maxAllowedPacket);
      this.#batches = {
        facts,
        gets: byId ? getBatches(sql.getMany, max, counted("getBatches", "batchedGets")) : undefined,
        sets: byId
          ? setBatches(sql.setMany, max, bytes, counted("setBatches", "batchedSets"))
          : undefined,
        touches: max > 1
          ? touchBatches(sql.touchMany, max, counted("touchBatches", "batchedTouches"))
          : undefined,
        destroys: byId
          ? destroyBatches(sql.destroyMany, max, counted("destroyBatches", "batchedDestroys"))
          : undefined,
      };
    }
    return this.#batches;
  }

  async set(sid: string, session: SessionData): Promise<void> {
    checkSid(sid);
    const json = encodeSession(session);
    const expires = expiryOf(session, clock.now(), this.#options.ttl);
    const facts = this.#startup.facts ?? await this.#startup.started();
    const found = this.#owners.ownerOf(session);
    const owner = typeof found === "object" && found !== null ? await found : found;
    // Sealed with its owner: a row whose user_id is changed or erased no longer opens.
    const stored = this.#cipher ? await this.#cipher.seal(json, sid, owner) : json;
    checkPacketSize(stored, sid, facts.maxAllowedPacket);
    // A destroyed session's marker stays: the procedure does not save over it.
    await this.#runner.write(
      "set",
      this.#sql.set,
      [sid, stored, toSqlDateTime(expires), owner],
      WRITE,
      this.#batchesFor(facts)?.sets,
    );
    this.#memo.remember(sid, expires, session.cookie);
  }

  async touch(sid: string, session: SessionData): Promise<void> {
    checkSid(sid);
    checkSession(session);
    // express-session touches a session whose data did not change, even when the app changed
    // its cookie (req.session.cookie.maxAge = …): only a save keeps that, as MemoryStore does.
    const now = clock.now();
    if (this.#memo.cookieChanged(sid, session.cookie, now)) {
      return await this.set(sid, session);
    }
    if (this.#options.disableTouch) return;
    const expires = expiryOf(session, now, this.#options.ttl);
    if (this.#memo.touchWouldKeep(sid, expires, this.#options.touchAfter)) return;
    await this.#runner.write(
      "touch",
      this.#sql.touch,
      [sid, toSqlDateTime(expires), toSqlDateTime(now)],
      WRITE,
      this.#batchesFor(this.#startup.facts)?.touches,
    );
    this.#memo.touched(sid, expires);
  }

  async destroy(sid: string): Promise<boolean> {
    checkSid(sid);
    const destroyed = await this.#runner.write(
      "destroy",
      this.#sql.destroy,
      [sid],
      WRITE,
      this.#batchesFor(this.#startup.facts)?.destroys,
    );
    this.#memo.forget(sid);
    return destroyed > 0;
  }

  async all(): Promise<SessionWithId[]> {
    const rows = await this.#runner.rows<
      { sid: string; sess: unknown; expires_at: number | string; owner: string | null }
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

  async length(): Promise<number> {
    const [row] = await this.#runner.rows<{ live: number | string }>(
      "length",
      this.#sql.length,
      [toSqlDateTime(clock.now())],
      READ,
    );
    return Number(row?.live ?? 0);
  }

  async clear(): Promise<number> {
    const [row] = await this.#runner.rows<{ deleted: number | string }>(
      "clear",
      this.#sql.clear,
      [],
      WRITE,
    );
    this.#memo.clear();
    return Number(row?.deleted ?? 0);
  }

  /** One batch of a sweep; 0 ends the sweep. */
  async clearExpiredBatch(limit: number): Promise<number> {
    try {
      const deleted = await this.#runner.write(
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
}
