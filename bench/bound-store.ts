// The bound: the least a correct MySQL session store can do, one prepared statement per operation
// on a mysql2 pool. `bound` sends the very statements of this project's procedures (read from sql/);
// `bound-call` CALLs the procedures (the design's bound; the two differ by what a CALL costs);
// `bound-v1` CALLs schema 1's on a schema 1 table (no owner column, no markers: the seed's bound).
import { type SessionData, Store } from "express-session";
import mysql from "mysql2";
import { SCHEMA_VERSION } from "../mod.ts";
import { serverKind, sqlDateTime, sqlFile } from "./database.ts";

type Callback = (error?: unknown) => void;
type Statement = { sql: string; parameters: string[] };
const WRITES = ["set", "touch", "destroy"] as const;

/**
 * The write that procedure `create` (its CREATE PROCEDURE) makes: the one statement it runs,
 * each parameter `p_x` a placeholder, or (`call`) the CALL of the procedure, its parameters in
 * their order; and the names of the parameters its placeholders stand for.
 */
function writeStatement(create: string, call: boolean): Statement {
  create = create.replace(/^\s*--.*$/gm, "");
  if (call) {
    const name = /CREATE PROCEDURE `(\w+)`/.exec(create)?.[1];
    const parameters = [...create.matchAll(/\bIN p_(\w+)/g)].map((match) => match[1] as string);
    return { sql: `CALL \`${name}\`(${parameters.map(() => "?").join(", ")})`, parameters };
  }
  const body = (/\bBEGIN\b([\s\S]*)\bEND\s*$/.exec(create)?.[1] ?? "").split(";")
    .map((statement) => statement.trim().replace(/\s+/g, " ")).filter(Boolean);
  if (body.length !== 1) throw new Error(`the procedure is not one statement:\n${create}`);
  const parameters: string[] = [];
  const sql = (body[0] as string).replace(/\bp_(\w+)\b/g, (_, name: string) => {
    parameters.push(name);
    return "?";
  });
  return { sql, parameters };
}

/** The procedures of `variant` (CREATE PROCEDUREs, in WRITES' order) and what installs it. */
function schema(variant: string, table: string, server: "mariadb" | "mysql", call: boolean) {
  // The sid column's collation in a fresh install (sql/table.sql): MariaDB before 11.4.5 knows
  // no utf8mb4_0900_bin, MySQL no *_nopad_bin.
  const collation = server === "mariadb" ? "utf8mb4_nopad_bin" : "utf8mb4_0900_bin";
  if (variant === "bound-v1") {
    // Schema 1, as knex-mysql-session 0.1.0 installed it: procedures `<table>_<write>_v1`.
    const install = sqlFile("tests/fixtures/schema_v1.sql", { table, sid_collation: collation })
      .split("\n-- ;\n");
    const procedure = (write: string) =>
      install.find((sql) => sql.includes(`PROCEDURE \`${table}_${write}_v1\``)) as string;
    return { install, procedures: WRITES.map(procedure) };
  }
  const values = {
    ...{ table, sid: "sid", schema_version: SCHEMA_VERSION },
    ...{ sid_charset: "utf8mb4", sid_collation: collation },
    ...{ user_charset: "utf8mb4", user_collation: collation },
  };
  // set has a form per server (set.mysql.sql, set.mariadb.sql); the others one for both.
  const file = (write: string) => `sql/procedures/${write === "set" ? `set.${server}` : write}.sql`;
  const procedures = WRITES.map((write) => sqlFile(file(write), values));
  return { install: [sqlFile("sql/table.sql", values), ...(call ? procedures : [])], procedures };
}

/**
 * Makes `variant`'s table `table` (and its procedures, where it CALLs them) and its store on a
 * pool of its own: sid, sess and expired as this project's sessions table has them.
 */
export async function boundStore(
  variant: "bound" | "bound-call" | "bound-v1",
  url: string,
  table: string,
  options: { connectionLimit: number; idleTimeout: number },
) {
  const call = variant !== "bound";
  const connection = await mysql.createConnection(url).promise();
  try {
    const [rows] = await connection.query("SELECT VERSION() AS version");
    const server = serverKind((rows as { version: string }[])[0]?.version ?? "");
    const { install, procedures } = schema(variant, table, server, call);
    for (const sql of install) await connection.query(sql);
    const writes = WRITES.map((write, i) => [write, writeStatement(procedures[i] as string, call)]);
    const get = `SELECT sess FROM \`${table}\` WHERE sid = ? AND expired > ?` +
      (variant === "bound-v1" ? "" : " AND NOT destroyed");
    const pool = mysql.createPool({ uri: url, ...options });
    return new BoundStore(pool, get, Object.fromEntries(writes) as BoundStore["writes"]);
  } finally {
    await connection.end();
  }
}

class BoundStore extends Store {
  constructor(
    readonly pool: mysql.Pool,
    readonly getSql: string,
    readonly writes: Record<(typeof WRITES)[number], Statement>,
  ) {
    super();
  }

  /** Runs a write with its parameters by name. */
  write(name: keyof BoundStore["writes"], values: Record<string, unknown>, callback: Callback) {
    const { sql, parameters } = this.writes[name];
    // A name without a value is a bug that mysql2 reports: it refuses undefined.
    const bound = parameters.map((parameter) => values[parameter] as string | number | null);
    this.pool.execute(sql, bound, (error) => callback(error ?? undefined));
  }

  override get(sid: string, callback: (error: unknown, session?: SessionData | null) => void) {
    this.pool.execute(this.getSql, [sid, sqlDateTime(Date.now())], (error, rows) => {
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

  override set(sid: string, session: SessionData, callback: Callback = () => {}) {
    const expired = sqlDateTime(expiryOf(session));
    // No owner: a hand-written store's save. (Schema 1's set takes none.)
    this.write("set", { sid, sess: JSON.stringify(session), expired, user: null }, callback);
  }

  override touch(sid: string, session: SessionData, callback: Callback = () => {}) {
    const now = Date.now();
    const expired = sqlDateTime(expiryOf(session, now));
    this.write("touch", { sid, expired, now: sqlDateTime(now) }, callback);
  }

  override destroy(sid: string, callback: Callback = () => {}) {
    this.write("destroy", { sid }, callback);
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
