// The bound: the least a correct MySQL session store can do. One prepared statement per
// operation on a mysql2 pool, callback API, no validation beyond what correctness needs.
// Its writes are the very statements of this project's stored procedures for the server (on
// MySQL the set procedure's row alias, on MariaDB its VALUES()), sent as prepared statements;
// or it CALLs the procedures instead: the bound of the design, apart from how a store
// implements it. The two differ only by the CALL: what a CALL costs on that server. It can also
// CALL schema 1's procedures on a schema 1 table (no owner column): what the owner column costs.
import { type SessionData, Store } from "express-session";
import mysql from "mysql2";
import { readFile } from "node:fs/promises";
import type { ServerKind } from "../src/server.ts";
import { SID_COLLATION } from "../src/server.ts";
import { createProcedureSql, withoutComments } from "../src/sql.ts";
import { toSqlDateTime } from "../src/time.ts";
import { root } from "./root.ts";

type Callback = (error?: unknown) => void;
type GetCallback = (error: unknown, session?: SessionData | null) => void;

const WRITES = ["set", "touch", "destroy"] as const;
type Write = (typeof WRITES)[number];

/** The CREATE PROCEDURE of each write, which the bound sends the body of, or CALLs. */
export type WriteProcedures = Record<Write, string>;

/** A schema's writes, and whether its destroy leaves a marker that reads must skip. */
export interface Schema {
  procedures: WriteProcedures;
  markers: boolean;
}

function eachWrite<T>(make: (write: Write) => T): Record<Write, T> {
  return Object.fromEntries(WRITES.map((write) => [write, make(write)])) as Record<Write, T>;
}

/** A write: its SQL, and the names of the procedure parameters its placeholders stand for. */
interface WriteStatement {
  sql: string;
  parameters: string[];
}

/** This project's procedures (the current schema) of `table` on `server`. */
export function currentSchema(table: string, server: ServerKind): Schema {
  const type = { charset: "utf8mb4", collation: SID_COLLATION[server] };
  return {
    procedures: eachWrite((write) =>
      createProcedureSql({ table, sid: "sid" }, write, { sid: type, user: type }, server)
    ),
    markers: true,
  };
}

/**
 * Schema 1, as knex-mysql-session 0.1.0 installed it (tests/fixtures/schema_v1.sql: a table
 * without the owner column, and procedures named `<table>_<name>_v1`), for `table` on
 * `server`: the statements that install it, and its writes.
 */
export async function schemaV1(
  table: string,
  server: ServerKind,
): Promise<{ install: string[]; schema: Schema }> {
  const text = await readFile(`${root}tests/fixtures/schema_v1.sql`, "utf8");
  const install = text.replaceAll("{{table}}", table)
    .replaceAll("{{sid_collation}}", SID_COLLATION[server]).split("\n-- ;\n");
  const procedures = eachWrite((write) => {
    const found = install.find((sql) => sql.includes(`PROCEDURE \`${table}_${write}_v1\``));
    if (!found) throw new Error(`tests/fixtures/schema_v1.sql: no ${write} procedure`);
    return found;
  });
  return { install, schema: { procedures, markers: false } };
}

/**
 * The write that procedure `create` (its CREATE PROCEDURE) makes: the statement it runs, with
 * each parameter `p_x` a placeholder, or (`call`) the CALL of the procedure, its parameters in
 * their order. A `SELECT ROW_COUNT()` after it (destroy's) is left out of the plain form: it
 * returns what the reply to a plain statement already carries (affectedRows).
 */
export function writeStatement(create: string, call: boolean): WriteStatement {
  create = withoutComments(create);
  if (call) {
    const name = /CREATE PROCEDURE `(\w+)`/.exec(create)?.[1];
    const parameters = [...create.matchAll(/\bIN p_(\w+)/g)].map((match) => match[1] as string);
    return { sql: `CALL \`${name}\`(${parameters.map(() => "?").join(", ")})`, parameters };
  }
  const procedureBody = /\bBEGIN\b([\s\S]*)\bEND\s*$/.exec(create)?.[1] ?? "";
  // set's upsert is its ELSE branch (the IF branch updates a session the store has seen).
  const body = (/\bELSE\b([\s\S]*?)\bEND IF\b/.exec(procedureBody)?.[1] ?? procedureBody).split(";")
    .map((statement) => statement.trim().replace(/\s+/g, " "))
    .filter((statement) => statement && !/^SELECT ROW_COUNT\(\)/i.test(statement));
  if (body.length !== 1) {
    throw new Error(`the procedure is not one statement:\n${create}`);
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

  /**
   * Uses `table` with the layout of this project's sessions table (sid, sess, expired), and
   * writes as `schema`'s procedures do: their statements, or (`call`) CALLs of them; its reads
   * skip a destroyed session's marker where the schema leaves one.
   */
  constructor(
    url: string,
    table: string,
    pool: { connectionLimit: number; idleTimeout: number },
    schema: Schema,
    call: boolean,
  ) {
    super();
    this.pool = mysql.createPool({
      uri: url,
      connectionLimit: pool.connectionLimit,
      idleTimeout: pool.idleTimeout,
    });
    this.#get = `SELECT sess FROM \`${table}\` WHERE sid = ? AND expired > ?` +
      (schema.markers ? " AND NOT destroyed" : "");
    this.#writes = eachWrite((write) => writeStatement(schema.procedures[write], call));
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
    // No owner: a hand-written store's save. (Schema 1's set takes none.)
    this.#write("set", { sid, sess: JSON.stringify(session), expired, user: null }, callback);
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
