// The bench's own database (created and dropped per run), fast bulk loads into it, and the
// repository's SQL files, which the hand-written stores read their statements from.
import mysql from "mysql2/promise";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Payload, SESSIONS_PER_USER, sidOf } from "./payload.ts";
import { note, progress } from "./progress.ts";

/** The repository: one level up from bench/, or two from bench/.build/ (see run.mjs). */
export const root = fileURLToPath(
  new URL(import.meta.url.endsWith(".mjs") ? "../.." : "..", import.meta.url),
);

/** File `path` of the repository, each {{name}} in it replaced by values[name]. */
export function sqlFile(path: string, values: Record<string, string | number>): string {
  return readFileSync(`${root}${path}`, "utf8").replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (values[key] === undefined) throw new Error(`${path}: no value for {{${key}}}`);
    return String(values[key]);
  });
}

export const serverKind = (version: string) => /mariadb/i.test(version) ? "mariadb" : "mysql";

/**
 * `ms` as a UTC DATETIME, in whole seconds. The few a busy store writes every second (now, now
 * plus the cookie's age) are formatted once: formatting a Date is a hot spot of a store.
 */
const formatted = new Map<number, string>();
export function sqlDateTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (!formatted.has(second)) {
    if (formatted.size >= 4) formatted.clear();
    formatted.set(second, new Date(second * 1000).toISOString().slice(0, 19).replace("T", " "));
  }
  return formatted.get(second) as string;
}

export type BenchDatabase = Awaited<ReturnType<typeof createBenchDatabase>>;

/** Creates kms_bench_<random> on the server of `serverUrl`, and an admin connection to it. */
export async function createBenchDatabase(serverUrl: string) {
  const name = `kms_bench_${randomBytes(4).toString("hex")}`;
  const server = await mysql.createConnection(serverUrl);
  await server.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`).finally(() =>
    server.end()
  );
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const admin = await mysql.createConnection(url.toString());
  await admin.query("CREATE TABLE bench_digits (d TINYINT NOT NULL PRIMARY KEY)");
  await admin.query("INSERT INTO bench_digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)");
  const [rows] = await admin.query("SELECT VERSION() AS version");
  const drop = () => admin.query(`DROP DATABASE IF EXISTS \`${name}\``).finally(() => admin.end());
  const version = (rows as { version: string }[])[0]?.version ?? "unknown";
  return { name, url: url.toString(), version, admin, drop };
}

/**
 * Where a store keeps a session: its table; the columns of its id, data, expiry and (where the
 * store fills it: this store with `userId`) owner; its expiry as UTC DATETIME or Unix seconds
 * (express-mysql-session's).
 */
export type TableLayout = { table: string; columns: string[]; unix?: boolean };

/** Rows per INSERT ... SELECT: one statement, one transaction of ~50 MB at 1 KB a row. */
const CHUNK = 50_000;
/** 10^5 numbers from five copies of the digits table. */
const NUMBERS = "SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS i " +
  "FROM bench_digits a CROSS JOIN bench_digits b CROSS JOIN bench_digits c " +
  "CROSS JOIN bench_digits e CROSS JOIN bench_digits f";

/**
 * Stores `count` sessions sidOf(prefix, from), sidOf(prefix, from + step), … (step 1 unless
 * given), built in the server (INSERT ... SELECT), expiring at `expiresAt`, each owned by
 * ownerOf(its sid) where the layout has an owner column; existing ids are replaced. Shows its
 * progress, and its time at the end, where it says `what` it loads.
 */
export async function bulkLoad(
  admin: mysql.Connection,
  { table, columns, unix }: TableLayout,
  payload: Payload,
  range: { prefix: string; from: number; count: number; expiresAt: number; step?: number },
  what?: string,
): Promise<void> {
  const started = Date.now();
  const { prefix, from, count, step = 1 } = range;
  const { head, middle, fillLength, tail } = payload.sqlPieces();
  const digits = sidOf(prefix, 0).length - prefix.length;
  const expires = unix ? Math.round(range.expiresAt / 1000) : sqlDateTime(range.expiresAt);
  const owner = columns.length > 3;
  // k: the index of each session; its owner as ownerOf and userOf name it.
  const sql = `REPLACE INTO \`${table}\` (${columns.map((c) => `\`${c}\``).join(", ")}) ` +
    "SELECT CONCAT(?, LPAD(m.k, ?, '0')), " +
    "CONCAT(?, ?, LPAD(m.k, ?, '0'), ?, REPEAT('x', ?), ?), ?" +
    (owner ? ", CONCAT(?, 'u', m.k DIV ?) " : " ") +
    `FROM (SELECT n.i * ? + ? AS k FROM (${NUMBERS}) n WHERE n.i < ?) m`;
  for (let done = 0; done < count; done += CHUNK) {
    const size = Math.min(CHUNK, count - done);
    await admin.query(sql, [
      ...[prefix, digits, head, prefix, digits, middle, fillLength, tail, expires],
      ...(owner ? [prefix, SESSIONS_PER_USER] : []),
      ...[step, from + done * step, size],
    ]);
    if (what) progress(`loading ${what}: ${done + size}/${count}`);
  }
  if (what) note(`loaded ${count} ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
