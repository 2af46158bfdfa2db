import { toSqlDateTime } from "../../time.ts";
import type { Connection } from "../admin_connection.ts";
import { type Io, println } from "../io.ts";
import { createProgress } from "../progress.ts";
import { dropProcedures, installSchema } from "../schema_state.ts";
import { copyBatchSql, type CopySpec, type Plan } from "./plan.ts";

/** How the plan runs: batch size, and where progress and step lines go. */
export interface ExecuteOptions {
  batchSize: number;
  io: Io;
}

/** The key a resumed copy continues after: the largest already in the target, source order. */
async function resumeKey(connection: Connection, copy: CopySpec): Promise<unknown> {
  const { charset, collation } = copy.key;
  const ordered = charset && collation
    ? `CONVERT(\`${copy.sid}\` USING ${charset}) COLLATE ${collation}`
    : `\`${copy.sid}\``;
  const [row] = await connection.db.execute<{ last: unknown }>(
    `SELECT MAX(${ordered}) AS last FROM \`${copy.to}\``,
    [],
  );
  return row?.last ?? undefined;
}

async function count(connection: Connection, sql: string, values: unknown[]): Promise<number> {
  const [row] = await connection.db.execute<{ n: number | string }>(sql, values);
  return Number(row?.n ?? 0);
}

/**
 * Copies in key order, one batch per statement, so that each statement is short (row locks,
 * replication events) and a run that dies resumes where the target's rows end.
 */
async function runCopy(connection: Connection, copy: CopySpec, options: ExecuteOptions) {
  const key = `\`${copy.key.name}\``;
  const now = copy.now === "unix-seconds"
    ? Math.floor(Date.now() / 1000)
    : toSqlDateTime(Date.now());
  const total = await count(connection, `SELECT COUNT(*) AS n FROM \`${copy.from}\``, []);
  let lower = copy.resume ? await resumeKey(connection, copy) : undefined;
  let scanned = lower === undefined
    ? 0
    : await count(connection, `SELECT COUNT(*) AS n FROM \`${copy.from}\` WHERE ${key} <= ?`, [
      lower,
    ]);
  if (scanned > 0) println(options.io.stdout, `resuming: ${scanned} of ${total} rows were done`);
  const progress = createProgress(options.io.stdout, "copying", total);
  progress.update(scanned);
  for (;;) {
    const [boundary] = await connection.db.execute<{ k: unknown }>(
      `SELECT ${key} AS k FROM \`${copy.from}\`${lower === undefined ? "" : ` WHERE ${key} > ?`} ` +
        `ORDER BY ${key} LIMIT 1 OFFSET ${options.batchSize - 1}`,
      lower === undefined ? [] : [lower],
    );
    const upper = boundary?.k;
    const sql = copyBatchSql(copy, { lower: lower !== undefined, upper: upper !== undefined });
    const values = [
      ...(lower === undefined ? [] : [lower]),
      ...(upper === undefined ? [] : [upper]),
      now,
    ];
    await connection.step("INSERT", () => connection.db.query(sql, values));
    if (upper === undefined) break;
    lower = upper;
    scanned += options.batchSize;
    progress.update(scanned);
  }
  progress.finish(total);
  const copied = await count(connection, `SELECT COUNT(*) AS n FROM \`${copy.to}\``, []);
  println(options.io.stdout, `${copied} live session(s) in \`${copy.to}\` (of ${total} rows read)`);
}

/** Runs the plan's steps in order, saying what each does. */
export async function executePlan(
  connection: Connection,
  plan: Plan,
  options: ExecuteOptions,
): Promise<void> {
  for (const [index, step] of plan.steps.entries()) {
    println(options.io.stdout, `${index + 1}. ${step.description}`);
    switch (step.kind) {
      case "sql":
        await connection.step(step.privilege, () => connection.db.query(step.sql));
        break;
      case "copy":
        await connection.step("SELECT", () => runCopy(connection, step.copy, options));
        break;
      case "drop-procedures":
        await dropProcedures(connection, step.procedures);
        break;
      case "install": {
        const outcome = await installSchema(connection, step.names, options.io);
        for (const warning of outcome.warnings) println(options.io.stderr, `warning: ${warning}`);
        break;
      }
    }
  }
}
