// `backfill`: gives sessions written before the owner column (schema 2) their owner, read from
// a path into each session's data, in batches, resumable, under live traffic. A store fills the
// column on every save; this is for sessions that are not saved again before they are needed
// by sessionsOf or destroyUser.
import { ER, errnoOf } from "../../driver_errors.ts";
import { SessionCipher } from "../../encryption.ts";
import { SessionReader } from "../../session_reader.ts";
import { positiveIntegerOption, schemaNames, TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, withConnection } from "../command.ts";
import { CliError, usageError } from "../failures.ts";
import { println } from "../io.ts";
import { createProgress } from "../progress.ts";

/** The value at a dot path (`passport.user`) of a session, own keys only. */
function valueAt(session: unknown, path: string[]): unknown {
  let value = session;
  for (const key of path) {
    if (typeof value !== "object" || value === null || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The user_id column's width, which a plain (not encrypted) user id must fit. */
const MAX_USER_ID = 255;

/** A user id as the store's userId option takes it: a non-empty string or a finite number. */
function userIdOf(value: unknown): string | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** The path option as keys: letters, digits, _ and $, separated by dots. */
function pathOption(value: unknown): string[] {
  if (typeof value !== "string" || !/^[\w$]+(\.[\w$]+)*$/.test(value)) {
    throw usageError(
      "backfill: --user-path is required, as the dot path of the user id in a session's data " +
        "(e.g. --user-path passport.user, or --user-path userId)",
    );
  }
  return value.split(".");
}

/** The cipher from the keys in the environment variable `name` (comma-separated, newest first). */
function cipherFrom(name: unknown, env: Record<string, string | undefined>) {
  if (name === undefined) return undefined;
  const keys = env[name as string];
  if (!keys) {
    throw usageError(
      `backfill: --keys-env ${name}: the environment variable ${name} is not set (it holds the ` +
        "store's encryption keys, comma-separated, newest first)",
    );
  }
  // The keys stay out of argv (visible to every user of the machine) and out of messages.
  return new SessionCipher({ keys: keys.split(",").map((key) => key.trim()) });
}

export const backfillCommand: Command = {
  spec: {
    name: "backfill",
    summary: "give sessions saved before schema 2 their owner (user_id), in batches",
    positionals: [],
    options: [
      ...TABLE_OPTIONS,
      {
        name: "user-path",
        type: "string",
        value: "<path>",
        description: "where the user id is in a session's data, e.g. passport.user",
      },
      {
        name: "keys-env",
        type: "string",
        value: "<VAR>",
        description: "environment variable with the encryption keys, comma-separated",
      },
      {
        name: "batch-size",
        type: "string",
        value: "<rows>",
        description: "rows per batch",
        default: "500",
      },
      URL_OPTION,
    ],
    details: "Sets `user_id` of every live session that has none and whose data holds a user id\n" +
      "at --user-path, as the store's `userId` option would (a keyed hash of it when the\n" +
      "sessions are encrypted: give the keys through --keys-env). Sessions saved by a store\n" +
      "with `userId` get their owner on their next save anyway; this fills the others now.\n" +
      "Batches in sid order, each one short UPDATE per session that still has no owner, so it\n" +
      "runs under live traffic and a run that stops resumes where it stopped: run it again.\n" +
      "Needs SELECT and UPDATE on the table.",
  },
  async run({ values }, io) {
    const names = schemaNames(values);
    const path = pathOption(values["user-path"]);
    const cipher = cipherFrom(values["keys-env"], io.env);
    const batchSize = positiveIntegerOption(values, "batch-size");
    let unreadable = 0;
    const reader = new SessionReader(cipher, () => unreadable++);
    await withConnection(values.url, io, async (connection) => {
      const { db } = connection;
      const table = `\`${names.table}\``;
      const sid = `\`${names.sid}\``;
      const [todo] = await connection.step("SELECT", () =>
        db.execute<{ n: number | string }>(
          `SELECT COUNT(*) AS n FROM ${table} WHERE user_id IS NULL AND expired > UTC_TIMESTAMP()`,
          [],
        )).catch((error) => {
          if (errnoOf(error) === ER.BAD_FIELD) {
            throw new CliError(
              `table \`${names.table}\` has no column \`user_id\`: run upgrade --table ` +
                `${names.table} first (schema 2 adds it)`,
            );
          }
          throw error;
        });
      const total = Number(todo?.n ?? 0);
      const progress = createProgress(io.stdout, "backfilling", total);
      let scanned = 0;
      let owned = 0;
      let tooLong = 0;
      let after: string | undefined;
      for (;;) {
        const rows = await connection.step(
          "SELECT",
          () =>
            db.execute<{ sid: string; sess: unknown }>(
              `SELECT ${sid} AS sid, sess FROM ${table} WHERE user_id IS NULL ` +
                `AND expired > UTC_TIMESTAMP()${after === undefined ? "" : ` AND ${sid} > ?`} ` +
                `ORDER BY ${sid} LIMIT ${batchSize}`,
              after === undefined ? [] : [after],
            ),
        );
        if (rows.length === 0) break;
        const owners: [string, string][] = [];
        for (const row of rows) {
          const session = await reader.read(row.sess, row.sid);
          const id = userIdOf(session ? valueAt(session, path) : undefined);
          if (id === undefined) continue;
          if (!cipher && [...id].length > MAX_USER_ID) {
            tooLong++;
            continue;
          }
          owners.push([row.sid, cipher ? (await cipher.ownerHashes(id))[0] as string : id]);
        }
        if (owners.length > 0) {
          // One statement per batch; only rows that still have none: a store may have saved
          // one with its owner meanwhile.
          const result = await connection.step("UPDATE", () =>
            db.query(
              `UPDATE ${table} SET user_id = CASE ${sid} ` +
                owners.map(() => "WHEN ? THEN ?").join(" ") +
                ` END WHERE ${sid} IN (${owners.map(() => "?").join(", ")}) AND user_id IS NULL`,
              [...owners.flat(), ...owners.map(([key]) => key)],
            ));
          owned += Number((result as { affectedRows?: number }).affectedRows ?? 0);
        }
        scanned += rows.length;
        after = rows[rows.length - 1]!.sid;
        progress.update(Math.min(scanned, total));
      }
      progress.finish(Math.min(scanned, total));
      println(
        io.stdout,
        `${owned} session(s) given their owner, of ${scanned} without one` +
          (tooLong > 0 ? `; ${tooLong} with a user id over ${MAX_USER_ID} characters skipped` : ""),
      );
      if (unreadable > 0) {
        throw new CliError(
          `${unreadable} session(s) could not be read: ` +
            (cipher
              ? "are the keys in --keys-env the store's (every key it may have sealed with)?"
              : "they are encrypted: give the store's keys with --keys-env <VAR>"),
        );
      }
    });
    return 0;
  },
};
