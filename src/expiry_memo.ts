import { storedTime } from "./time.ts";

/**
 * The expiry (whole seconds, as the column holds it) this store last read or wrote for recent
 * sessions, so that a touch that would store the same second, or (with touchAfter) one pushed
 * back too recently, is not sent. Bounded: the oldest entry goes first (a Map keeps insertion
 * order, and each remember moves its entry to the end).
 */
export class ExpiryMemo {
  readonly #capacity: number;
  readonly #expiries = new Map<string, number>();

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  remember(sid: string, expires: number): void {
    this.#expiries.delete(sid);
    this.#expiries.set(sid, storedTime(expires));
    if (this.#expiries.size > this.#capacity) {
      this.#expiries.delete(this.#expiries.keys().next().value as string);
    }
  }

  forget(sid: string): void {
    this.#expiries.delete(sid);
  }

  clear(): void {
    this.#expiries.clear();
  }

  /**
   * Whether a touch of `sid` to `expires` may be skipped: the stored expiry this store last
   * read or wrote is already that second (the write would change nothing), or, with
   * `touchAfter`, less than `touchAfter` earlier. A row another app instance wrote since this
   * store saw it keeps that newer write.
   */
  touchWouldKeep(sid: string, expires: number, touchAfter: number): boolean {
    const stored = this.#expiries.get(sid);
    if (stored === undefined) return false;
    return storedTime(expires) === stored || (touchAfter > 0 && expires - stored < touchAfter);
  }
}
