// The sessions the bench stores: express-session's shape, about `size` bytes of JSON, each
// carrying its own id so that a read can be checked (a wrong result is a failure).
import type { SessionData } from "express-session";

export const DAY = 86_400_000;

/** Like express-session's ids: 32 characters. */
export function sidOf(prefix: string, index: number): string {
  return prefix + String(index).padStart(32 - prefix.length, "0");
}

/** How many sessions each bench user owns, where sessions have owners (see ownerOf). */
export const SESSIONS_PER_USER = 4;

/** User `user` of the sessions of `prefix`: the owner of sidOf(prefix, 4 * user) … + 3. */
export function userOf(prefix: string, user: number): string {
  return `${prefix}u${user}`;
}

/**
 * The owner of session sidOf(prefix, i), as bulkLoad writes it: userOf(prefix, i / 4, rounded
 * down). The bench's prefixes end in a non-digit, so the index is the sid's trailing digits.
 */
export function ownerOf(sid: string): string {
  const digits = /\d*$/.exec(sid)?.[0] ?? "";
  return userOf(
    sid.slice(0, sid.length - digits.length),
    Math.floor(Number(digits) / SESSIONS_PER_USER),
  );
}

/** The bench's `userId` option: a session's owner, from the id it carries (its marker). */
export function sessionOwner(session: SessionData): string | null {
  const { marker } = session as { marker?: string };
  return marker === undefined ? null : ownerOf(marker);
}

export interface BenchSession {
  cookie: {
    originalMaxAge: number;
    expires: string;
    secure: boolean;
    httpOnly: boolean;
    path: string;
  };
  marker: string;
  user: { id: number; name: string; roles: string[] };
  views: number;
  data: string;
}

const SID_TOKEN = "@@SID@@";
const DATA_TOKEN = "@@DATA@@";

/** Builds sessions of one size that expire at one moment. */
export class Payload {
  readonly size: number;
  readonly expiresAt: number;
  readonly #fill: string;

  constructor(size: number, expiresAt = Date.now() + 7 * DAY) {
    this.size = size;
    this.expiresAt = expiresAt;
    const skeleton = JSON.stringify(this.#build(sidOf("s", 0), "")).length;
    this.#fill = "x".repeat(Math.max(0, size - skeleton));
  }

  #build(sid: string, data: string): BenchSession {
    return {
      cookie: {
        originalMaxAge: DAY,
        expires: new Date(this.expiresAt).toISOString(),
        secure: false,
        httpOnly: true,
        path: "/",
      },
      marker: sid,
      user: { id: 42, name: "bench user", roles: ["reader", "writer"] },
      views: 0,
      data,
    };
  }

  /** A fresh session object for `sid` (stores may keep or mutate what they are given). */
  session(sid: string): BenchSession & SessionData {
    return this.#build(sid, this.#fill) as BenchSession & SessionData;
  }

  /** Whether `value` is the session stored for `sid`. */
  matches(value: unknown, sid: string): boolean {
    const session = value as Partial<BenchSession> | null | undefined;
    return session?.marker === sid && session.data === this.#fill &&
      session.cookie?.path === "/";
  }

  /**
   * The session's JSON as three SQL pieces, for bulk loads that build it in the server:
   * JSON = head + sid + middle + fill + tail.
   */
  sqlPieces(): { head: string; middle: string; fillLength: number; tail: string } {
    const text = JSON.stringify(this.#build(SID_TOKEN, DATA_TOKEN));
    const [head, rest] = text.split(SID_TOKEN) as [string, string];
    const [middle, tail] = rest.split(DATA_TOKEN) as [string, string];
    return { head, middle, fillLength: this.#fill.length, tail };
  }
}
