// How far a long ALTER TABLE (the index of schema 2's owner column on a big table) has got,
// shown while it runs: MariaDB reports it in information_schema.PROCESSLIST (PROGRESS, a
// percentage); MySQL in performance_schema's stage events when their consumer is on (it is off
// by default, and the CLI does not change server settings), else as the time it has taken.
import { setTimeout as sleep } from "node:timers/promises";
import type { Connection } from "./admin_connection.ts";
import type { Io } from "./io.ts";
import { println } from "./io.ts";
import { createProgress } from "./progress.ts";

const POLL_MS = 1_000;

/** The percentage done of an ALTER TABLE on `table` that runs now, null if unknown, or undefined if none runs. */
async function alterProgress(
  connection: Connection,
  table: string,
): Promise<number | null | undefined> {
  const [running] = await connection.db.execute<{ progress: number | string | null }>(
    connection.server.kind === "mariadb"
      ? "SELECT PROGRESS AS progress FROM information_schema.PROCESSLIST " +
        "WHERE COMMAND = 'Query' AND INFO LIKE ?"
      : "SELECT NULL AS progress FROM information_schema.PROCESSLIST " +
        "WHERE COMMAND = 'Query' AND INFO LIKE ?",
    // The statement as sent starts with its sql/ file's comment lines.
    [`%ALTER TABLE \`${table.replace(/_/g, "\\_")}\`%`],
  );
  if (!running) return undefined;
  if (running.progress !== null) return Number(running.progress);
  const [stage] = await connection.db.execute<{ done: number | string; total: number | string }>(
    "SELECT WORK_COMPLETED AS done, WORK_ESTIMATED AS total FROM " +
      "performance_schema.events_stages_current WHERE EVENT_NAME LIKE 'stage/innodb/alter%'",
    [],
  ).catch(() => []);
  return stage && Number(stage.total) > 0 ? (Number(stage.done) / Number(stage.total)) * 100 : null;
}

/**
 * Runs `work` (which may ALTER `table`), printing the ALTER's progress on stdout while it
 * runs: a bar on a terminal, a line a second otherwise. Prints nothing for a quick ALTER.
 */
export async function withAlterProgress<T>(
  connection: Connection,
  table: string,
  io: Io,
  work: () => Promise<T>,
): Promise<T> {
  let finished = false;
  let succeeded = false;
  const watching = (async () => {
    const started = Date.now();
    let progress: ReturnType<typeof createProgress> | undefined;
    let lastElapsed = 0;
    while (!finished) {
      await sleep(POLL_MS);
      if (finished) break;
      const done = await alterProgress(connection, table).catch(() => undefined);
      if (done === undefined) continue;
      // MariaDB reports 0% through an index build's scan: no better than the time taken.
      if (done === null || (done === 0 && !progress)) {
        const elapsed = Math.round((Date.now() - started) / 1000);
        if (elapsed - lastElapsed >= 5) {
          lastElapsed = elapsed;
          println(io.stdout, `altering \`${table}\`: ${elapsed} s so far`);
        }
        continue;
      }
      progress ??= createProgress(io.stdout, `altering \`${table}\``, 100);
      progress.update(Math.floor(done));
    }
    if (succeeded) progress?.finish(100);
  })();
  try {
    const result = await work();
    succeeded = true;
    return result;
  } finally {
    finished = true;
    await watching;
  }
}
