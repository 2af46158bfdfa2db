// @ts-types="@types/express-session"
import type { SessionData } from "express-session";
import { SessionStoreError } from "./errors.ts";

/** The first and last second a DATETIME column is documented to hold. */
const MIN_DATETIME_MS = Date.UTC(1000, 0, 1);
const MAX_DATETIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * `ms` since the epoch as a UTC DATETIME literal, 'YYYY-MM-DD hh:mm:ss'. Sent as a string so
 * that neither the driver's `timezone` setting nor the connection's `time_zone` shifts it;
 * whole seconds so that MySQL (which rounds fractions) and MariaDB (which truncates them) store
 * the same value.
 */
export function toSqlDateTime(ms: number): string {
  const second = storedTime(ms) / 1000;
  // Every read formats "now" and every write "now + maxAge": the same few seconds over and
  // over, so the last strings made are kept (formatting a Date is a hot spot of the store).
  for (const entry of recentDateTimes) if (entry.second === second) return entry.text;
  const text = new Date(second * 1000).toISOString().slice(0, 19).replace("T", " ");
  recentDateTimes[nextSlot] = { second, text };
  nextSlot = (nextSlot + 1) % recentDateTimes.length;
  return text;
}

/**
 * The time a DATETIME column holds for `ms`: whole seconds, clamped at both ends (a far-past
 * expiry, maxAge -1e300, must store as expired, not throw), in ms since the epoch.
 */
export function storedTime(ms: number): number {
  return Math.floor(Math.min(Math.max(ms, MIN_DATETIME_MS), MAX_DATETIME_MS) / 1000) * 1000;
}

const recentDateTimes = Array.from({ length: 4 }, () => ({ second: NaN, text: "" }));
let nextSlot = 0;

function timeOf(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value === "string") return Date.parse(value); // no Date made: every read asks
  if (typeof value === "number") return new Date(value).getTime();
  return undefined;
}

/**
 * `session` with its cookie's `expires` as its row holds it (`expiresAt`, seconds since the
 * epoch): a touch moves the row's expiry and not the stored cookie, so a read gives the session
 * as it stands, as MemoryStore does. A cookie whose expiry the row holds (in whole seconds,
 * clamped to DATETIME's range, and rounded up by some other stores) keeps its milliseconds; a
 * cookie without one (a browser-session cookie) is left as it is.
 */
export function withStoredExpiry(session: SessionData, expiresAt: number | string): SessionData {
  const cookie = session.cookie as { expires?: unknown } | undefined;
  const expires = timeOf(cookie?.expires);
  const stored = Number(expiresAt) * 1000;
  if (
    cookie && expires !== undefined && Number.isFinite(expires) && Number.isFinite(stored) &&
    Math.abs(stored - storedTime(expires)) > 1000
  ) {
    cookie.expires = new Date(stored).toISOString();
  }
  return session;
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
