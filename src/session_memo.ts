import { storedTime } from "./time.ts";

/** A cookie's settings but its expiry: what only a save of the session keeps. */
interface CookieSettings {
  originalMaxAge: number | null;
  /** The other settings (secure, sameSite, domain, …), as sorted JSON. */
  others: string;
}

/** What the store last read or wrote for a session: its expiry and its cookie's settings. */
interface Remembered {
  /** The expiry as the column holds it (whole seconds, in ms). */
  expires: number;
  /**
   * The cookie's settings; or a copy of the cookie, whose settings are worked out only if a
   * touch asks (most sessions are read and saved many times for each touch that must compare).
   */
  cookie: CookieSettings | { copy: unknown } | undefined;
}

/**
 * express-session's touch sets `maxAge = originalMaxAge`, whose setter sets `originalMaxAge`
 * again from the clock, a millisecond off when the clock ticks in between: a difference this
 * small is that, not the app's change.
 */
const MAX_AGE_JITTER = 1_000;

/**
 * The cookie's settings, without its expiry: every touch moves `expires` (express-session
 * resets it to now + originalMaxAge), but a change of `maxAge`, `secure`, `sameSite`, … is the
 * app's, and only a save of the session keeps it. Keys are sorted: MySQL's JSON column
 * reorders them.
 */
function cookieSettings(cookie: unknown): CookieSettings | undefined {
  if (typeof cookie !== "object" || cookie === null) return undefined;
  try {
    // A Cookie's toJSON gives its settings as a plain object; nothing is copied (every touch
    // asks, so this is on the hot path): the pairs are serialized as they are read.
    const data = typeof (cookie as { toJSON?: unknown }).toJSON === "function"
      ? (cookie as { toJSON(): unknown }).toJSON()
      : cookie;
    if (typeof data !== "object" || data === null) return undefined;
    const record = data as Record<string, unknown>;
    const { originalMaxAge } = record;
    // What a JSON round trip (the stored row) keeps: no undefined, function or symbol value.
    const others = Object.keys(record).filter((key) =>
      key !== "originalMaxAge" && key !== "expires" && isJsonValue(record[key])
    ).sort();
    return {
      originalMaxAge: typeof originalMaxAge === "number" ? originalMaxAge : null,
      others: JSON.stringify(others.map((key) => [key, record[key]])),
    };
  } catch {
    return undefined; // a toJSON or a value's toJSON that throws: no settings to compare
  }
}

function isJsonValue(value: unknown): boolean {
  return value !== undefined && typeof value !== "function" && typeof value !== "symbol";
}

function sameSettings(a: CookieSettings | undefined, b: CookieSettings | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.others !== b.others) return false;
  if (a.originalMaxAge === null || b.originalMaxAge === null) {
    return a.originalMaxAge === b.originalMaxAge;
  }
  return Math.abs(a.originalMaxAge - b.originalMaxAge) <= MAX_AGE_JITTER;
}

/**
 * What this store last read or wrote for recent sessions, so that a touch that would change
 * nothing is not sent and a touch that carries a cookie change is sent as a save instead. Only
 * an economy: what keeps a destroyed session destroyed is its marker in the database, never
 * this memory. Bounded: the oldest entry goes first (a Map keeps insertion order, and each
 * remember moves its entry to the end).
 */
export class SessionMemo {
  readonly #capacity: number;
  readonly #sessions = new Map<string, Remembered>();

  /** `capacity`: how many sessions it remembers, the least recently seen forgotten first. */
  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /**
   * A get read, or a set wrote, this expiry and cookie. The cookie is copied (its toJSON's
   * fresh object, or a shallow copy: a cookie's values are plain values), so that a later change
   * by the app is one, and its settings are worked out only if a touch asks.
   */
  remember(sid: string, expires: number, cookie: unknown): void {
    let copy: unknown;
    try {
      copy = typeof cookie !== "object" || cookie === null
        ? undefined
        : typeof (cookie as { toJSON?: unknown }).toJSON === "function"
        ? (cookie as { toJSON(): unknown }).toJSON()
        : { ...cookie };
    } catch {
      copy = undefined; // a toJSON that throws: no settings to compare, as cookieSettings says
    }
    this.#put(sid, {
      expires: storedTime(expires),
      cookie: copy === undefined ? undefined : { copy },
    });
  }

  /**
   * A touch to this expiry was made: the row holds it, or a later one it had (a touch never
   * brings an expiry forward); the cookie's settings stay what they were.
   */
  touched(sid: string, expires: number): void {
    const remembered = this.#sessions.get(sid);
    if (!remembered) return;
    const stored = Math.max(storedTime(expires), remembered.expires);
    this.#put(sid, { expires: stored, cookie: remembered.cookie });
  }

  /** The session is gone (destroyed, or read as missing). */
  forget(sid: string): void {
    this.#sessions.delete(sid);
  }

  /** Every session is gone (clear()). */
  clear(): void {
    this.#sessions.clear();
  }

  /**
   * Whether a touch of `sid` at `now` carries a change of its cookie's settings (e.g. the app
   * set `req.session.cookie.maxAge`) since this store last read or wrote it, while it is still
   * live: then only a save keeps the change. Unknown or expired sessions are not: a touch of
   * them is sent as a touch, which never brings an expired session back.
   */
  cookieChanged(sid: string, cookie: unknown, now: number): boolean {
    const remembered = this.#sessions.get(sid);
    if (remembered === undefined || remembered.expires <= now) return false;
    if (remembered.cookie !== undefined && "copy" in remembered.cookie) {
      remembered.cookie = cookieSettings(remembered.cookie.copy);
    }
    return remembered.cookie !== undefined &&
      !sameSettings(remembered.cookie, cookieSettings(cookie));
  }

  /**
   * Whether a touch of `sid` to `expires` may be skipped: the stored expiry this store last
   * read or wrote is already that second (the write would change nothing), or, with
   * `touchAfter`, less than `touchAfter` earlier. A row another app instance wrote since this
   * store saw it keeps that newer write.
   */
  touchWouldKeep(sid: string, expires: number, touchAfter: number): boolean {
    const stored = this.#sessions.get(sid)?.expires;
    if (stored === undefined) return false;
    return storedTime(expires) === stored || (touchAfter > 0 && expires - stored < touchAfter);
  }

  #put(sid: string, remembered: Remembered): void {
    this.#sessions.delete(sid); // re-inserted last: the Map's order is its age
    this.#sessions.set(sid, remembered);
    if (this.#sessions.size > this.#capacity) {
      this.#sessions.delete(this.#sessions.keys().next().value as string);
    }
  }
}
