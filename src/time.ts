import type { SessionData } from "express-session";
import { SessionStoreError } from "./errors.ts";

/** The last second a DATETIME column can hold. */
const MAX_DATETIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * `ms` since the epoch as a UTC DATETIME literal, 'YYYY-MM-DD hh:mm:ss'. Sent as a string so
 * that neither the driver's `timezone` setting nor the connection's `time_zone` shifts it;
 * whole seconds so that MySQL (which rounds fractions) and MariaDB (which truncates them) store
 * the same value.
 */
export function toSqlDateTime(ms: number): string {
  return new Date(Math.min(ms, MAX_DATETIME_MS)).toISOString().slice(0, 19).replace("T", " ");
}

function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "string" || typeof value === "number") return new Date(value).getTime();
  return undefined;
}

/**
 * When a session expires, in ms since the epoch: its cookie's `expires`, else now plus the
 * cookie's `maxAge`, else now plus `ttl(session)`.
 */
export function expiryOf(
  session: SessionData,
  now: number,
  ttl: (session: SessionData) => number,
): number {
  const cookie = session.cookie as { expires?: unknown; maxAge?: unknown } | undefined;
  const expires = timeOf(cookie?.expires);
  if (expires !== undefined && Number.isFinite(expires)) return expires;
  const maxAge = cookie?.maxAge;
  if (typeof maxAge === "number" && Number.isFinite(maxAge)) return now + maxAge;
  let lifetime: unknown;
  try {
    lifetime = ttl(session);
  } catch (cause) {
    throw new SessionStoreError("ERR_INVALID_SESSION", "the ttl function threw", { cause });
  }
  if (typeof lifetime !== "number" || !Number.isFinite(lifetime)) {
    throw new SessionStoreError(
      "ERR_INVALID_SESSION",
      `the ttl function must return a finite number of milliseconds (got ${String(lifetime)})`,
    );
  }
  return now + lifetime;
}
