// What a driver's reply or failure says beyond the rows: a CALL's count, the first result set of
// a CALL that selects, and whether a failure came before the statement was sent.

/** Failures before the statement reached the driver: the server cannot have run it. */
const unsent = new WeakSet<object>();

/** Whether `error` happened before its statement was handed to the driver. */
export function neverSent(error: unknown): boolean {
  return typeof error === "object" && error !== null && unsent.has(error);
}

/** Records that `error` happened before its statement was handed to the driver. */
export function markUnsent<T>(error: T): T {
  if (typeof error === "object" && error !== null) unsent.add(error);
  return error;
}

/** The changed rows an OK packet reports (mysql2's ResultSetHeader, mysql's OkPacket). */
export function affectedRows(result: unknown): number {
  const packet = Array.isArray(result) ? result[result.length - 1] : result;
  return Number((packet as { affectedRows?: unknown } | undefined)?.affectedRows ?? 0);
}

/**
 * A SELECT yields its rows; a CALL yields `[rows, okPacket]` when the procedure selects and an
 * OK packet alone when it does not.
 */
export function firstResultSet<Row>(result: unknown): Row[] {
  if (!Array.isArray(result)) return [];
  if (result.length > 0 && Array.isArray(result[0])) return result[0] as Row[];
  return result as Row[];
}
