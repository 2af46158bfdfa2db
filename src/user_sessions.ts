// @ts-types="@types/express-session"
import type { SessionData } from "express-session";
import { checkSid } from "./codec.ts";
import type { SessionCipher } from "./encryption.ts";
import { SessionStoreError } from "./errors.ts";
import type { SessionReader } from "./session_reader.ts";
import type { Statements } from "./sql.ts";
import { READ, type StatementRunner, WRITE } from "./statement_runner.ts";
import { toSqlDateTime, withStoredExpiry } from "./time.ts";
import { clock } from "./clock.ts";

/** One of a user's sessions, as `sessionsOf` lists them. */
export interface UserSession {
  /** The session id (what express-session calls req.sessionID). */
  id: string;
  /** When it expires (whole seconds). */
  expires: Date;
  /** The session's data, as get() gives it. */
  session: SessionData;
}

export interface UserSessionsOptions {
  runner: StatementRunner;
  sql: Statements;
  reader: SessionReader;
  /** With encryption, owners are stored as keyed hashes of the user id. */
  cipher: SessionCipher | undefined;
  /** The `userId` option: who owns a session. */
  userId: ((session: SessionData) => unknown) | undefined;
  warn: (message: string) => void;
}

/**
 * Sessions by owner: what the `user_id` column holds for a session (its user's id, or that
 * id's keyed hash with encryption) and the lookups by user (sessionsOf, countOf, destroyUser),
 * which use the owner index.
 */
export class UserSessions {
  readonly #options: UserSessionsOptions;
  #warnedNoOwners = false;

  constructor(options: UserSessionsOptions) {
    this.#options = options;
  }

  /**
   * What the `user_id` column holds for `session`: its owner (hashed with encryption), or null;
   * at once (no promise) when the store saves no owners, the common case on every save.
   */
  ownerOf(session: SessionData): string | null | Promise<string | null> {
    return this.#options.userId ? this.#ownerOf(session, this.#options.userId) : null;
  }

  async #ownerOf(
    session: SessionData,
    userId: (session: SessionData) => unknown,
  ): Promise<string | null> {
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

  /** The user's live sessions, newest expiry first. */
  async sessionsOf(userId: string | number): Promise<UserSession[]> {
    const { runner, sql, reader } = this.#options;
    const now = toSqlDateTime(clock.now());
    const found: UserSession[] = [];
    for (const key of await this.#lookupKeys(userId)) {
      const rows = await runner.rows<
        { sid: string; sess: unknown; expires_at: number | string; owner: string | null }
      >("sessionsOf", sql.sessionsOf, [key, now], READ);
      for (const row of rows) {
        const session = await reader.read(row.sess, row.sid, row.owner);
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

  /** How many live sessions the user has. */
  async countOf(userId: string | number): Promise<number> {
    const { runner, sql } = this.#options;
    const now = toSqlDateTime(clock.now());
    let count = 0;
    for (const key of await this.#lookupKeys(userId)) {
      const [row] = await runner.rows<{ live: number | string }>(
        "countOf",
        sql.countOf,
        [key, now],
        READ,
      );
      count += Number(row?.live ?? 0);
    }
    return count;
  }

  /** Destroys the user's sessions but `except`, leaving markers; how many went. */
  async destroyUser(userId: string | number, except: unknown): Promise<number> {
    if (except !== undefined) checkSid(except);
    const { runner, sql } = this.#options;
    let deleted = 0;
    for (const key of await this.#lookupKeys(userId)) {
      deleted += await runner.write("destroyUser", sql.destroyUser, [key, except ?? null], WRITE);
    }
    return deleted;
  }

  /** The owner keys of a lookup by user. */
  #lookupKeys(userId: unknown): Promise<string[]> {
    if (!this.#options.userId && !this.#warnedNoOwners) {
      // A lookup by user on a store that saves no owners finds only what others saved.
      this.#warnedNoOwners = true;
      this.#options.warn(
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
    const { cipher } = this.#options;
    if (cipher) return await cipher.ownerHashes(text);
    if ([...text].length > 255) {
      throw new SessionStoreError(
        "ERR_INVALID_SESSION",
        `${what} a user id of ${[...text].length} characters: the user_id column holds 255`,
      );
    }
    return [text];
  }
}
