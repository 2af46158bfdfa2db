// The bench's own database (created and dropped per run) and fast bulk loads into it.
import mysql from "mysql2/promise";
import { randomBytes } from "node:crypto";
import { toSqlDateTime } from "../src/time.ts";
import { type Payload, SESSIONS_PER_USER, sidOf } from "./payload.ts";

/** `url` with its database replaced by `database`. */
export function urlFor(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

export interface BenchDatabase {
  name: string;
  url: string;
  /** An admin connection to the bench database, for loads and checks. */
  admin: mysql.Connection;
  drop(): Promise<void>;
}

/** Creates kms_bench_<random> on the server of `serverUrl`. */
export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `kms_bench_${randomBytes(4).toString("hex")}`;
  const root = await mysql.createConnection(serverUrl);
  try {
    await root.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
  } finally {
    await root.end();
  }
  const url = urlFor(serverUrl, name);
  const admin = await mysql.createConnection(url);
  await admin.query("CREATE TABLE bench_digits (d TINYINT NOT NULL PRIMARY KEY)");
  await admin.query("INSERT INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)");
  return {
    name,
    url,
    admin,
    async drop() {
      try {
        await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await admin.end();
      }
    },
  };
}

/** Where a store keeps a session's id, data and expiry. */
export interface TableLayout {
  table: string;
  sid: string;
  sess: string;
  expires: string;
  /** DATETIME in UTC (this store, connect-session-knex) or Unix seconds (express-mysql-session). */
  expiresKind: "datetime" | "unix";
  /** The owner column, where the store fills it (this store with `userId`): loads fill it too. */
  owner?: string;
}

/** Rows per INSERT ... SELECT: one statement, one transaction of ~50 MB at 1 KB a row. */
const CHUNK = 50_000;
/** 10^5 numbers from five copies of the digits table. */
const NUMBERS = "SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS i " +
  "FROM bench_digits a CROSS JOIN bench_digits b CROSS JOIN bench_digits c " +
  "CROSS JOIN bench_digits e CROSS JOIN bench_digits f";

/**
 * Stores `count` sessions sidOf(prefix, from), sidOf(prefix, from + step), … (step 1 unless
 * given), built in the server (INSERT ... SELECT), expiring at `expiresAt`, each owned by
 * ownerOf(its sid) where the layout has an owner column; existing ids are replaced.
 */
export async function bulkLoad(
  admin: mysql.Connection,
  layout: TableLayout,
  payload: Payload,
  range: { prefix: string; from: number; count: number; expiresAt: number; step?: number },
  onProgress: (loaded: number) => void = () => {},
): Promise<void> {
  const { head, middle, fillLength, tail } = payload.sqlPieces();
  const digits = sidOf(range.prefix, 0).length - range.prefix.length;
  const step = range.step ?? 1;
  const expires = layout.expiresKind === "unix"
    ? Math.round(range.expiresAt / 1000)
    : toSqlDateTime(range.expiresAt);
  const { table, sid, sess, expires: expiresColumn, owner } = layout;
  // k: the index of each session; its owner as ownerOf and userOf name it.
  const sql = `REPLACE INTO \`${table}\` (\`${sid}\`, \`${sess}\`, \`${expiresColumn}\`` +
    (owner ? `, \`${owner}\`) ` : ") ") +
    "SELECT CONCAT(?, LPAD(m.k, ?, '0')), " +
    "CONCAT(?, ?, LPAD(m.k, ?, '0'), ?, REPEAT('x', ?), ?), ?" +
    (owner ? ", CONCAT(?, 'u', m.k DIV ?) " : " ") +
    `FROM (SELECT n.i * ? + ? AS k FROM (${NUMBERS}) n WHERE n.i < ?) m`;
  for (let done = 0; done < range.count; done += CHUNK) {
    const size = Math.min(CHUNK, range.count - done);
    await admin.query(sql, [
      range.prefix,
      digits,
      head,
      range.prefix,
      digits,
      middle,
      fillLength,
      tail,
      expires,
      ...(owner ? [range.prefix, SESSIONS_PER_USER] : []),
      step,
      range.from + done * step,
      size,
    ]);
    onProgress(done + size);
  }
}
