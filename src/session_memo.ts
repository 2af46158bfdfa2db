import { storedTime } from "./time.ts";

/** A cookie's settings but its expiry: what only a save of the session keeps. */
interface CookieSettings {
  originalMaxAge: number | null;
  /** The other settings (secure, sameSite, domain, …) that JSON keeps, by name. */
  others: Map<string, unknown>;
}

/** What the store last read or wrote for a session: its expiry and its cookie's settings. */
interface Remembered {
  /** The expiry as the column holds it (whole seconds, in ms). */
  expires: number;
  /** The cookie's settings, once a touch has asked (see `copy`). */
  cookie: CookieSettings | undefined;
  /**
   * A copy of the cookie whose settings are not worked out yet: only if a touch asks (most
   * sessions are read and saved many times for each touch that must compare).
   */
  copy: unknown;
  /** The memo's count of insertions when this entry was last put at the newest end. */
  inserted: number;
  /** Its id, and its neighbours in the order of age (see SessionMemo's #oldest). */
  sid: string;
  older: Remembered | undefined;
  newer: Remembered | undefined;
}

/**
 * express-session's touch sets `maxAge = originalMaxAge`, whose setter sets `originalMaxAge`
 * again from the clock, a millisecond off when the clock ticks in between: a difference this
 * small is that, not the app's change.
 */
const MAX_AGE_JITTER = 1_000;

/**
 * The cookie as JSON has it: a Cookie's toJSON gives its settings as a plain object (nothing
 * is copied: every touch asks). Undefined for no object, or a toJSON that throws.
 */
function cookieData(cookie: unknown): Record<string, unknown> | undefined {
  if (typeof cookie !== "object" || cookie === null) return undefined;
  try {
    const data = typeof (cookie as { toJSON?: unknown }).toJSON === "function"
      ? (cookie as { toJSON(): unknown }).toJSON()
      : cookie;
    return typeof data === "object" && data !== null ? data as Record<string, unknown> : undefined;
  } catch {
    return undefined; // a toJSON that throws: no settings to compare
  }
}

/** Whether a remembered copy of a cookie holds the very values of `data`, its expiry aside. */
function sameValues(copy: unknown, data: Record<string, unknown>): boolean {
  const kept = copy as Record<string, unknown>;
  let count = 0;
  for (const key in data) {
    if (key !== "expires" && kept[key] !== data[key]) return false;
    count++;
  }
  for (const _ in kept) count--;
  return count === 0;
}

/** Whether `key` of a cookie is a setting that JSON keeps (no undefined, function or symbol). */
function isSetting(key: string, value: unknown): boolean {
  return key !== "originalMaxAge" && key !== "expires" && value !== undefined &&
    typeof value !== "function" && typeof value !== "symbol";
}

/**
 * The cookie's settings, without its expiry: every touch moves `expires` (express-session
 * resets it to now + originalMaxAge), but a change of `maxAge`, `secure`, `sameSite`, … is the
 * app's, and only a save of the session keeps it.
 */
function cookieSettings(cookie: unknown): CookieSettings | undefined {
  const data = cookieData(cookie);
  if (!data) return undefined;
  try {
    JSON.stringify(data); // once per session remembered, when a touch first asks
  } catch {
    return undefined; // a value JSON refuses (a BigInt, a toJSON that throws): nothing to compare
  }
  const others = new Map<string, unknown>();
  for (const key of Object.keys(data)) if (isSetting(key, data[key])) others.set(key, data[key]);
  const { originalMaxAge } = data;
  return { originalMaxAge: typeof originalMaxAge === "number" ? originalMaxAge : null, others };
}

/** Whether two settings' values store the same JSON (a Date and its ISO string do). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  try {
    return JSON.stringify(a) === JSON.stringify(b);
  } catch {
    return false; // a value's toJSON that throws: no settings to compare
  }
}

/**
 * Whether `cookie` has `settings`, as stored JSON would: the same settings by name, in any
 * order (MySQL's JSON column reorders keys), compared where they are (every touch asks).
 */
function hasSettings(settings: CookieSettings, cookie: unknown): boolean {
  const data = cookieData(cookie);
  if (!data) return false;
  let count = 0;
  for (const key of Object.keys(data)) {
    const value = data[key];
    if (!isSetting(key, value)) continue;
    count++;
    if (!settings.others.has(key) || !sameJson(settings.others.get(key), value)) return false;
  }
  if (count !== settings.others.size) return false;
  const maxAge = typeof data.originalMaxAge === "number" ? data.originalMaxAge : null;
  if (settings.originalMaxAge === null || maxAge === null) {
    return settings.originalMaxAge === maxAge;
  }
  return Math.abs(settings.originalMaxAge - maxAge) <= MAX_AGE_JITTER;
}

/**
 * What this store last read or wrote for recent sessions, so that a touch that would change
 * nothing is not sent and a touch that carries a cookie change is sent as a save instead. Only
 * an economy: what keeps a destroyed session destroyed is its marker in the database, never
 * this memory. Bounded: the oldest entry goes first. A session seen again is moved to the
 * newest end once it is in the older half: every session seen is remembered for at least half
 * the capacity's new entries, and a session read on every request is not moved on every read.
 */
export class SessionMemo {
  readonly #capacity: number;
  readonly #sessions = new Map<string, Remembered>();
  /**
   * The ends of the entries' own list, oldest to newest. Not the Map's insertion order: a Map
   * leaves a deleted entry's slot empty until it grows, and its first entry is found by walking
   * every empty slot before it, so forgetting the oldest that way cost 3 to 8 µs a new session
   * once sessions came and went (an iterator kept from one forgetting to the next holds on to
   * every table the Map outgrows instead).
   */
  #oldest: Remembered | undefined;
  #newest: Remembered | undefined;
  #insertions = 0;

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
    const data = cookieData(cookie);
    const remembered = this.#sessions.get(sid);
    const kept = remembered?.copy;
    // A session read again mostly has the cookie it had: the copy made then serves (a new one
    // for every read of it would be kept alive past young collections, for nothing). Otherwise
    // toJSON's object is already fresh, and a plain cookie is copied.
    const copy = kept !== undefined && data !== undefined && sameValues(kept, data)
      ? kept
      : data !== undefined && data === cookie
      ? { ...data }
      : data;
    this.#put(sid, remembered, storedTime(expires), undefined, copy);
  }

  /**
   * A touch to this expiry was made: the row holds it, or a later one it had (a touch never
   * brings an expiry forward); the cookie's settings stay what they were.
   */
  touched(sid: string, expires: number): void {
    const remembered = this.#sessions.get(sid);
    if (!remembered) return;
    const stored = Math.max(storedTime(expires), remembered.expires);
    this.#put(sid, remembered, stored, remembered.cookie, remembered.copy);
  }

  /** The session is gone (destroyed, or read as missing). */
  forget(sid: string): void {
    const remembered = this.#sessions.get(sid);
    if (remembered) this.#drop(remembered);
  }

  /** Every session is gone (clear()). */
  clear(): void {
    this.#sessions.clear();
    this.#oldest = this.#newest = undefined;
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
    if (remembered.copy !== undefined) {
      remembered.cookie = cookieSettings(remembered.copy);
      remembered.copy = undefined;
    }
    return remembered.cookie !== undefined && !hasSettings(remembered.cookie, cookie);
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

  /** Puts what is remembered of `sid`, whose entry (`remembered`, if any) was just looked up. */
  #put(
    sid: string,
    remembered: Remembered | undefined,
    expires: number,
    cookie: CookieSettings | undefined,
    copy: unknown,
  ): void {
    if (!remembered) {
      const entry: Remembered = {
        expires,
        cookie,
        copy,
        inserted: ++this.#insertions,
        sid,
        older: undefined,
        newer: undefined,
      };
      this.#sessions.set(sid, entry);
      this.#append(entry);
      if (this.#sessions.size > this.#capacity) this.#drop(this.#oldest as Remembered);
      return;
    }
    remembered.expires = expires; // updated in place: no new entry to collect
    remembered.cookie = cookie;
    remembered.copy = copy;
    if (this.#insertions - remembered.inserted < this.#capacity / 2) return;
    remembered.inserted = ++this.#insertions;
    this.#unlink(remembered);
    this.#append(remembered);
  }

  #drop(entry: Remembered): void {
    this.#sessions.delete(entry.sid);
    this.#unlink(entry);
  }

  /** Puts an unlinked `entry` at the newest end. */
  #append(entry: Remembered): void {
    entry.older = this.#newest;
    if (this.#newest) this.#newest.newer = entry;
    else this.#oldest = entry;
    this.#newest = entry;
  }

  #unlink(entry: Remembered): void {
    const { older, newer } = entry;
    if (older) older.newer = newer;
    else this.#oldest = newer;
    if (newer) newer.older = older;
    else this.#newest = older;
    entry.older = entry.newer = undefined;
  }
}
