// The bound: the least a correct MySQL session store can do. One prepared statement per
// operation on a mysql2 pool, callback API, no validation beyond what correctness needs.
// With `procedures`, it writes through this project's stored procedures instead of plain
// INSERT/UPDATE/DELETE: the bound of the design, apart from how a store implements it.
import { type SessionData, Store } from "express-session";
import mysql from "mysql2";
import { statements } from "../src/sql.ts";
import { toSqlDateTime } from "../src/time.ts";

type Callback = (error?: unknown) => void;
type GetCallback = (error: unknown, session?: SessionData | null) => void;

export class BoundStore extends Store {
  readonly pool: mysql.Pool;
  readonly #get: string;
  readonly #set: string;
  readonly #touch: string;
  readonly #destroy: string;
  /** Writes through this project's procedures, whose touch takes (sid, expiry, now). */
  readonly #procedures: boolean;

  /** Uses `table` with the layout of this project's sessions table (sid, sess, expired). */
  constructor(
    url: string,
    table: string,
    pool: { connectionLimit: number; idleTimeout: number; procedures: boolean },
  ) {
    super();
    this.pool = mysql.createPool({
      uri: url,
      connectionLimit: pool.connectionLimit,
      idleTimeout: pool.idleTimeout,
    });
    this.#get = `SELECT sess FROM \`${table}\` WHERE sid = ? AND expired > ?`;
    this.#procedures = pool.procedures;
    if (pool.procedures) {
      const sql = statements({ table, sid: "sid" });
      this.#set = sql.set;
      this.#touch = sql.touch;
      this.#destroy = sql.destroy;
      return;
    }
    this.#set = `INSERT INTO \`${table}\` (sid, sess, expired) VALUES (?, ?, ?) ` +
      "ON DUPLICATE KEY UPDATE sess = VALUES(sess), expired = VALUES(expired)";
    this.#touch = `UPDATE \`${table}\` SET expired = ? WHERE sid = ? AND expired > ?`;
    this.#destroy = `DELETE FROM \`${table}\` WHERE sid = ?`;
  }

  override get(sid: string, callback: GetCallback): void {
    this.pool.execute(this.#get, [sid, toSqlDateTime(Date.now())], (error, rows) => {
      if (error) return callback(error);
      const row = (rows as { sess: string }[])[0];
      if (!row) return callback(null, null);
      let session: SessionData;
      try {
        session = typeof row.sess === "string" ? JSON.parse(row.sess) : row.sess;
      } catch (parseError) {
        return callback(parseError);
      }
      callback(null, session);
    });
  }

  override set(sid: string, session: SessionData, callback: Callback = () => {}): void {
    const expires = toSqlDateTime(expiryOf(session));
    this.pool.execute(
      this.#set,
      [sid, JSON.stringify(session), expires],
      (error) => callback(error ?? undefined),
    );
  }

  override touch(sid: string, session: SessionData, callback: Callback = () => {}): void {
    const now = Date.now();
    const expires = toSqlDateTime(expiryOf(session, now));
    const values = this.#procedures
      ? [sid, expires, toSqlDateTime(now)]
      : [expires, sid, toSqlDateTime(now)];
    this.pool.execute(this.#touch, values, (error) => callback(error ?? undefined));
  }

  override destroy(sid: string, callback: Callback = () => {}): void {
    this.pool.execute(this.#destroy, [sid], (error) => callback(error ?? undefined));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.pool.end(() => resolve()));
  }
}

function expiryOf(session: SessionData, now = Date.now()): number {
  const { expires, maxAge } = session.cookie ?? {};
  if (expires) return new Date(expires).getTime();
  return now + (typeof maxAge === "number" ? maxAge : 86_400_000);
}
