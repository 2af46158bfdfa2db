// The scale phase's server setting: InnoDB's buffer pool sized for the tables it measures, as
// a production server is sized for its working set. The default pool (128 MB on MariaDB and
// MySQL) holds the 10,000-session table but not the 1,000,000-session one (about 1.2 GB, twice
// that with the expired rows of the sweep), and no store can make reads from disk as fast as
// reads from memory. The setting is restored when the phase ends.
import type mysql from "mysql2/promise";
import { note } from "./progress.ts";

/** What the scale phase ran with. */
export interface BufferPool {
  /** innodb_buffer_pool_size before the phase, bytes. */
  before: number;
  /** innodb_buffer_pool_size during the phase, bytes. */
  during: number;
}

const MIB = 2 ** 20;
/** InnoDB's own overhead per row (record header, page fill, the expired and owner indexes), bytes. */
const ROW_OVERHEAD = 400;

async function poolSize(admin: mysql.Connection): Promise<number> {
  const [rows] = await admin.query("SELECT @@GLOBAL.innodb_buffer_pool_size AS size");
  return Number((rows as { size: number | string }[])[0]?.size);
}

/**
 * Waits for an online resize to finish (MariaDB and MySQL resize in the background). The status
 * is empty or "Completed resizing buffer pool at …" once done (MySQL keeps the latter).
 */
async function settle(admin: mysql.Connection, bytes: number): Promise<void> {
  for (let waited = 0; waited < 120_000; waited += 250) {
    const [rows] = await admin.query("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_resize_status'");
    const status = String((rows as { Value?: string }[])[0]?.Value ?? "");
    const busy = !/^completed/i.test(status) && /resizing|withdrawing|allocating/i.test(status);
    if (await poolSize(admin) >= bytes && !busy) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  note("buffer pool: resize still running after 2 minutes; measuring anyway");
}

/**
 * Runs `phase` with a buffer pool large enough for `rows` rows of `payload` bytes ("auto"), or
 * with the server's setting as it is ("keep"). A server account that may not change it keeps
 * its setting, with a note.
 */
export async function withBufferPool<T>(
  admin: mysql.Connection,
  mode: "auto" | "keep",
  rows: number,
  payload: number,
  phase: () => Promise<T>,
): Promise<{ result: T; bufferPool: BufferPool }> {
  const before = await poolSize(admin);
  const wanted = Math.ceil(rows * (payload + ROW_OVERHEAD) * 1.25 / (128 * MIB)) * 128 * MIB;
  if (mode === "keep" || before >= wanted) {
    return { result: await phase(), bufferPool: { before, during: before } };
  }
  try {
    await admin.query("SET GLOBAL innodb_buffer_pool_size = ?", [wanted]);
  } catch (error) {
    note(`buffer pool: kept at ${before / MIB} MB, cannot resize: ${(error as Error).message}`);
    return { result: await phase(), bufferPool: { before, during: before } };
  }
  await settle(admin, wanted);
  const during = await poolSize(admin);
  note(`buffer pool: ${before / MIB} MB -> ${during / MIB} MB for the scale phase`);
  try {
    return { result: await phase(), bufferPool: { before, during } };
  } finally {
    await admin.query("SET GLOBAL innodb_buffer_pool_size = ?", [before]);
    note(`buffer pool: back to ${before / MIB} MB`);
  }
}
