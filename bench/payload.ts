// The sessions the bench stores: express-session's shape, about `size` bytes of JSON, each
// carrying its own id so that a read can be checked (a wrong result is a failure).
import type { SessionData, Store } from "express-session";

export const DAY = 86_400_000;

/** Like express-session's ids: 32 characters. */
export const sidOf = (prefix: string, index: number) =>
  prefix + String(index).padStart(32 - prefix.length, "0");

/** How many sessions each bench user owns, where sessions have owners (see ownerOf). */
export const SESSIONS_PER_USER = 4;

/** User `user` of the sessions of `prefix`: the owner of sidOf(prefix, 4 * user) … + 3. */
export const userOf = (prefix: string, user: number) => `${prefix}u${user}`;

/**
 * The owner of session sidOf(prefix, i), as bulkLoad writes it: userOf(prefix, i / 4, rounded
 * down). The bench's prefixes end in a non-digit, so the index is the sid's trailing digits.
 */
export function ownerOf(sid: string): string {
  const digits = /\d*$/.exec(sid)?.[0] ?? "";
  const user = Math.floor(Number(digits) / SESSIONS_PER_USER);
  return userOf(sid.slice(0, sid.length - digits.length), user);
}

/** The bench's `userId` option: a session's owner, from the id it carries (its marker). */
export const sessionOwner = ({ marker }: SessionData & { marker?: string }) =>
  marker === undefined ? null : ownerOf(marker);

function build(expiresAt: number, sid: string, data: string) {
  const expires = new Date(expiresAt).toISOString();
  return {
    cookie: { originalMaxAge: DAY, expires, secure: false, httpOnly: true, path: "/" },
    marker: sid,
    user: { id: 42, name: "bench user", roles: ["reader", "writer"] },
    views: 0,
    data,
  };
}

/** Builds sessions of one size that expire at one moment. */
export class Payload {
  readonly expiresAt = Date.now() + 7 * DAY;
  readonly #fill: string;

  constructor(size: number) {
    const skeleton = JSON.stringify(build(this.expiresAt, sidOf("s", 0), "")).length;
    this.#fill = "x".repeat(Math.max(0, size - skeleton));
  }

  /** A fresh session object for `sid` (stores may keep or mutate what they are given). */
  session(sid: string): ReturnType<typeof build> & SessionData {
    return build(this.expiresAt, sid, this.#fill) as ReturnType<typeof build> & SessionData;
  }

  /** Stores sessions sidOf(prefix, 0 … count - 1) through `store`, 50 at a time. */
  async seed(store: Store, prefix: string, count: number): Promise<void> {
    const set = (sid: string) =>
      new Promise<void>((ok, fail) => store.set(sid, this.session(sid), (e) => e ? fail(e) : ok()));
    for (let i = 0; i < count; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, (_, k) => set(sidOf(prefix, i + k))),
      );
    }
  }

  /** Whether `value` is the session stored for `sid`. */
  matches(value: unknown, sid: string): boolean {
    const session = value as Partial<ReturnType<typeof build>> | null | undefined;
    return session?.marker === sid && session.data === this.#fill &&
      session.cookie?.path === "/";
  }

  /**
   * The session's JSON as three SQL pieces, for bulk loads that build it in the server:
   * JSON = head + sid + middle + fill + tail.
   */
  sqlPieces(): { head: string; middle: string; fillLength: number; tail: string } {
    const text = JSON.stringify(build(this.expiresAt, "@@SID@@", "@@DATA@@"));
    const [head, middle, tail] = text.split(/@@SID@@|@@DATA@@/) as [string, string, string];
    return { head, middle, fillLength: this.#fill.length, tail };
  }
}
