// @ts-types="@types/express-session"
import type { SessionData } from "express-session";
import { SessionStoreError } from "./errors.ts";

/** The sid column is VARCHAR(255): 255 characters (code points), not UTF-16 units. */
const MAX_SID_LENGTH = 255;

/**
 * Throws unless `sid` can be stored as itself. A lone surrogate would be replaced by U+FFFD on
 * the way to the server, so two different ids could name one row: refuse it instead.
 */
export function checkSid(sid: unknown): asserts sid is string {
  if (typeof sid !== "string" || sid.length === 0) {
    throw new SessionStoreError(
      "ERR_INVALID_SID",
      `a session id must be a non-empty string (got ${
        typeof sid === "string" ? "an empty string" : typeof sid
      })`,
    );
  }
  // Fast path: 255 UTF-16 units are at most 255 code points.
  if (sid.length > MAX_SID_LENGTH && countCodePoints(sid) > MAX_SID_LENGTH) {
    throw new SessionStoreError(
      "ERR_INVALID_SID",
      `a session id must be at most ${MAX_SID_LENGTH} characters (got ${countCodePoints(sid)})`,
    );
  }
  if (!sid.isWellFormed()) {
    throw new SessionStoreError(
      "ERR_INVALID_SID",
      "a session id must be well-formed Unicode (it holds a lone surrogate)",
    );
  }
}

function countCodePoints(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** The UTF-8 size of `text` in bytes, without encoding it. */
function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      // A surrogate pair is one 4-byte code point.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** Throws unless `session` is a session object (not null, not an array). */
export function checkSession(session: unknown): asserts session is SessionData {
  if (typeof session !== "object" || session === null || Array.isArray(session)) {
    throw new SessionStoreError(
      "ERR_INVALID_SESSION",
      `a session must be an object (got ${
        session === null ? "null" : Array.isArray(session) ? "an array" : typeof session
      })`,
    );
  }
}

/** The session as JSON text, or a SessionStoreError saying why it has none. */
export function encodeSession(session: unknown): string {
  checkSession(session);
  let json: string | undefined;
  try {
    json = JSON.stringify(session);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new SessionStoreError(
      "ERR_INVALID_SESSION",
      `the session cannot be stored as JSON: ${detail}`,
      { cause },
    );
  }
  // A toJSON() returning undefined (or a function) leaves nothing to store.
  if (typeof json !== "string") {
    throw new SessionStoreError(
      "ERR_INVALID_SESSION",
      "the session cannot be stored as JSON: its toJSON() returned no JSON value",
    );
  }
  return json;
}

/** Room for the packet header and the other parameters of a CALL. */
const PACKET_OVERHEAD = 1024;

/**
 * Throws when a write of `json` for `sid` would exceed the server's max_allowed_packet: the
 * server answers an oversized packet by dropping the connection, not with an SQL error.
 */
export function checkPacketSize(json: string, sid: string, maxAllowedPacket: number): void {
  // Fast path: a UTF-16 unit is at most 3 bytes of UTF-8.
  if ((json.length + sid.length) * 3 + PACKET_OVERHEAD <= maxAllowedPacket) return;
  const bytes = utf8Length(json) + utf8Length(sid) + PACKET_OVERHEAD;
  if (bytes > maxAllowedPacket) {
    throw new SessionStoreError(
      "ERR_SESSION_TOO_LARGE",
      `session ${JSON.stringify(sid)} is ${bytes} bytes as JSON, more than the server's ` +
        `max_allowed_packet (${maxAllowedPacket} bytes): store less in the session or raise ` +
        "max_allowed_packet",
    );
  }
}
