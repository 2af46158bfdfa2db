// The bound: the least a correct MySQL session store can do. One prepared statement per
// operation on a mysql2 pool, callback API, no validation beyond what correctness needs.
// Its writes are the very statements of this project's stored procedures for the server (on
// MySQL the set procedure's row alias, on MariaDB its VALUES()), sent as prepared statements;
// with `procedures`, it CALLs the procedures instead: the bound of the design, apart from how
// a store implements it. The two differ only by the CALL: what a CALL costs on that server.
import { type SessionData, Store } from "express-session";
import mysql from "mysql2";
import type { ServerKind } from "../src/server.ts";
import { SID_COLLATION } from "../src/server.ts";
import { createProcedureSql, statements, withoutComments } from "../src/sql.ts";
import { toSqlDateTime } from "../src/time.ts";

type Callback = (error?: unknown) => void;
type GetCallback = (error: unknown, session?: SessionData | null) => void;

type Write = "set" | "touch" | "destroy";

/** A write: its SQL, and the names of the procedure parameters its placeholders stand for. */
interface WriteStatement {
  sql: string;
  parameters: string[];
}

/**
 * Write `procedure` of `table` on `server`: the statement the procedure runs, with each
 * parameter `p_x` a placeholder, or (`call`) the CALL of the procedure, its parameters in their
 * order. A `SELECT ROW_COUNT()` after it (destroy's) is left out of the plain form: it returns
 * what the reply to a plain statement already carries (affectedRows).
 */
export function writeStatement(
  table: string,
  procedure: Write,
  server: ServerKind,
  call: boolean,
): WriteStatement {
  const names = { table, sid: "sid" };
  const type = { charset: "utf8mb4", collation: SID_COLLATION[server] };
  const create = withoutComments(
    createProcedureSql(names, procedure, { sid: type, user: type }, server),
  );
  if (call) {
    const parameters = [...create.matchAll(/\bIN p_(\w+)/g)].map((match) => match[1] as string);
    return { sql: statements(names)[procedure], parameters };
  }
  const procedureBody = /\bBEGIN\b([\s\S]*)\bEND\s*$/.exec(create)?.[1] ?? "";
  // set's upsert is its ELSE branch (the IF branch updates a session the store has seen).
  const body = (/\bELSE\b([\s\S]*?)\bEND IF\b/.exec(procedureBody)?.[1] ?? procedureBody).split(";")
    .map((statement) => statement.trim().replace(/\s+/g, " "))
    .filter((statement) => statement && !/^SELECT ROW_COUNT\(\)/i.test(statement));
  if (body.length !== 1) {
    throw new Error(`the ${procedure} procedure is not one statement:\n${create}`);
  }
  const parameters: string[] = [];
  const sql = (body[0] as string).replace(/\bp_(\w+)\b/g, (_, name: string) => {
    parameters.push(name);
    return "?";
  });
  return { sql, parameters };
}

export class BoundStore extends Store {
  readonly pool: mysql.Pool;
  readonly #get: string;
  readonly #writes: Record<Write, WriteStatement>;

  /** Uses `table` with the layout of this project's sessions table (sid, sess, expired). */
  constructor(
    url: string,
    table: string,
    pool: { connectionLimit: number; idleTimeout: number },
    writes: { server: ServerKind; procedures: boolean },
  ) {
    super();
    this.pool = mysql.createPool({
      uri: url,
      connectionLimit: pool.connectionLimit,
      idleTimeout: pool.idleTimeout,
    });
    this.#get = `SELECT sess FROM \`${table}\` WHERE sid = ? AND expired > ?`;
    const write = (name: Write) => writeStatement(table, name, writes.server, writes.procedures);
    this.#writes = { set: write("set"), touch: write("touch"), destroy: write("destroy") };
  }

  /** Runs write `name` with its parameters by name. */
  #write(name: Write, values: Record<string, string | number | null>, callback: Callback): void {
    const { sql, parameters } = this.#writes[name];
    this.pool.execute(
      sql,
      // A name without a value is a bug that mysql2 reports: it refuses undefined.
      parameters.map((parameter) => values[parameter] as string | number | null),
      (error) => callback(error ?? undefined),
    );
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
    const expired = toSqlDateTime(expiryOf(session));
    // No owner, and always the upsert (a CALL's p_existing = 0): a hand-written store's save.
    this.#write(
      "set",
      { sid, sess: JSON.stringify(session), expired, user: null, existing: 0 },
      callback,
    );
  }

  override touch(sid: string, session: SessionData, callback: Callback = () => {}): void {
    const now = Date.now();
    const expired = toSqlDateTime(expiryOf(session, now));
    this.#write("touch", { sid, expired, now: toSqlDateTime(now) }, callback);
  }

  override destroy(sid: string, callback: Callback = () => {}): void {
    this.#write("destroy", { sid }, callback);
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
