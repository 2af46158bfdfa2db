// The read pipeline, in one place: a stored `sess` value → parsed JSON → opened (when sealed) →
// a session, or "no session" with the reason, reported once through `onUnreadable`.
// @ts-types="@types/express-session"
import type { SessionData } from "express-session";
import { isSealedEnvelope, type SessionCipher, type UnreadableReason } from "./encryption.ts";

/** A stored session that reads as no session, and why. */
export interface Unreadable {
  sid: string;
  reason: UnreadableReason;
  message: string;
}

const PREFIX = "the stored session cannot be read: ";

/**
 * Turns what the server returned for `sess` into a session. MariaDB's JSON column comes back as
 * the text written; MySQL's binary JSON comes back already parsed, with its keys reordered
 * (and as text with `jsonStrings`, or as bytes through some drivers), so whether a row is
 * sealed is decided on the parsed value, never on how its text begins.
 */
export class SessionReader {
  readonly #cipher: SessionCipher | undefined;
  readonly #onUnreadable: (event: Unreadable) => void;
  readonly #decoder = new TextDecoder();

  constructor(cipher: SessionCipher | undefined, onUnreadable: (event: Unreadable) => void) {
    this.#cipher = cipher;
    this.#onUnreadable = onUnreadable;
  }

  /**
   * The session stored for `sid` (whose row names `owner` in `user_id`, which a sealed
   * session must have been sealed with), or null (reported) when the row cannot be read: one bad row
   * must not fail the user's every request (get) or everyone's listing (all). Synchronous
   * unless the row is sealed, so that plain reads cost no extra promise.
   */
  read(
    stored: unknown,
    sid: string,
    owner: string | null = null,
  ): SessionData | null | Promise<SessionData | null> {
    let value = stored;
    try {
      if (typeof value === "string") value = JSON.parse(value);
      else if (value instanceof Uint8Array) value = JSON.parse(this.#decoder.decode(value));
    } catch {
      return this.#unreadable(sid, "malformed", "it is not valid JSON");
    }
    if (isSealedEnvelope(value)) {
      if (!this.#cipher) {
        return this.#unreadable(
          sid,
          "unknown-key",
          "it is encrypted and the store has no `encryption` option",
        );
      }
      return this.#cipher.unseal(value, sid, owner).then((opened) => {
        if (!opened.ok) return this.#unreadable(sid, opened.reason, opened.detail);
        try {
          return this.#session(JSON.parse(opened.json), sid);
        } catch {
          return this.#unreadable(sid, "malformed", "its sealed content is not valid JSON");
        }
      });
    }
    if (this.#cipher && !this.#cipher.acceptsPlaintext()) {
      return this.#unreadable(sid, "plaintext", this.#cipher.plaintextRefusal());
    }
    return this.#session(value, sid);
  }

  #session(value: unknown, sid: string): SessionData | null {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      return this.#unreadable(sid, "malformed", "it is not a JSON object");
    }
    // JSON.parse (ours or the driver's) makes `__proto__` an own data property: stored keys
    // never reach a prototype.
    return value as SessionData;
  }

  #unreadable(sid: string, reason: UnreadableReason, detail: string): null {
    this.#onUnreadable({ sid, reason, message: PREFIX + detail });
    return null;
  }
}
