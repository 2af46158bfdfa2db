// The `encryption` option as the user gives it, and its checks: keys read from bytes, hex or
// base64 and refused when they look chosen rather than drawn at random, and the window in which
// plain rows still read as sessions (`acceptPlaintextUntil`). A mistake throws a TypeError at
// start-up that names the field and never echoes a key. Sealing and opening are encryption.ts's.
import { clock } from "./clock.ts";
import { type Bytes, fromBase64Url } from "./base64url.ts";
import { describeValue, optionError } from "./option_errors.ts";

/**
 * The option `encryption` of the store: encrypt every session written, and open sealed
 * sessions when they are read.
 *
 * Each key is 32 random bytes (AES-256), given as one of:
 * - a `Uint8Array` (a Node `Buffer` is one) of exactly 32 bytes;
 * - 64 hexadecimal digits;
 * - base64 or base64url text of exactly 32 bytes (43 characters, or 44 with `=` padding).
 *
 * Surrounding whitespace in a string is ignored. Generate a key with `openssl rand -base64 32`,
 * `openssl rand -hex 32` or `crypto.getRandomValues(new Uint8Array(32))`. A key that looks
 * chosen rather than random (all zero, a repeated pattern, a counting sequence, text passed as
 * bytes, few distinct values, or text from a short alphabet such as a phrase) is refused.
 *
 * **Rotation.** The first key seals every write; every key opens. To rotate, put the new key
 * first and keep the old ones after it until every session sealed with them has expired (one
 * session lifetime); then remove them. A row sealed with a key that is no longer listed reads
 * as no session. Rotate well before one key has sealed 2^32 writes: AES-GCM with random
 * 96-bit IVs is only specified up to that many messages per key.
 *
 * **Plain rows.** A row holding plain session JSON reads as no session (reason `"plaintext"`),
 * unless `acceptPlaintextUntil` is set and has not passed: see there.
 *
 * **What it protects.** Someone who can read the table cannot read sessions, and someone who
 * can write it cannot alter a sealed session, forge one, or move one to another session id,
 * without it reading as no session. It does not stop someone who can write the table from
 * putting back an older sealed row of the same session id (a replay), from changing the
 * `expired` column, or from deleting rows; session ids and expiry times stay in clear text.
 *
 * The top-level key `"$kms"` marks a sealed row: a plain session must not use it.
 */
export interface EncryptionOptions {
  /** The keys, newest first: the first seals, all open. At least one. */
  keys: (string | Uint8Array)[];
  /**
   * Until when a row holding plain session JSON (written before encryption was enabled)
   * reads as that session; it is sealed the next time the session is saved (a touch does not
   * rewrite it). From this instant on, plain rows read as no session and are reported with
   * reason `"plaintext"`. Default: none, plain rows are refused.
   *
   * A `Date`, an ISO 8601 string (`"2025-07-01"`, midnight UTC, or a date and time with `Z` or
   * an offset, e.g. `"2025-07-01T12:00:00+02:00"`), or milliseconds since the epoch; at most
   * 90 days after the store starts. While the window is open, anyone who can write the table
   * can plant a plain session: set it to one session lifetime ahead for a migration, and
   * remove it afterwards.
   */
  acceptPlaintextUntil?: Date | string | number;
  /**
   * Removed: plain rows are refused by default, and `acceptPlaintextUntil` opens a window
   * with an end. Giving `acceptPlaintext` throws a TypeError.
   */
  acceptPlaintext?: never;
}

const KEY_BYTES = 32;
const ACCEPTED_KEY_FORM = "32 bytes: a Uint8Array of length 32, 64 hex digits, " +
  "or base64/base64url text of 32 bytes (e.g. the output of `openssl rand -base64 32`)";
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^(?:[A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?$/;
const GENERATE_KEY = "generate a random key with `openssl rand -base64 32`, " +
  "`openssl rand -hex 32` or crypto.getRandomValues(new Uint8Array(32))";

const DAY = 86_400_000;
/** How far ahead of the store's start `acceptPlaintextUntil` may be. */
export const MAX_PLAINTEXT_WINDOW_DAYS = 90;
export const PLAINTEXT_UNTIL = "encryption.acceptPlaintextUntil";
const PLAINTEXT_UNTIL_FORMS =
  "a Date, an ISO 8601 string (a date such as 2025-07-01, read as midnight UTC, or a date and " +
  "time ending in Z or an offset such as +02:00), or milliseconds since the epoch";
/** 2001-09-09T01:46:40Z: a number below it is more likely seconds than milliseconds. */
const MIN_EPOCH_MS = 1e12;
const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/** The 32 bytes of `keys[index]` (a copy), or a TypeError that does not echo the value. */
function keyBytes(value: unknown, index: number): Bytes {
  const field = `encryption.keys[${index}]`;
  let bytes: Bytes | undefined;
  let weakness: string | undefined;
  if (value instanceof Uint8Array && value.length === KEY_BYTES) {
    bytes = value.slice();
    weakness = weakPattern(bytes) ?? weakBytes(bytes);
  } else if (typeof value === "string") {
    const text = value.trim();
    if (HEX_KEY.test(text)) {
      bytes = Uint8Array.from(
        { length: KEY_BYTES },
        (_, i) => parseInt(text.slice(i * 2, i * 2 + 2), 16),
      );
      weakness = weakPattern(bytes) ?? weakHexText(text) ?? weakBytes(bytes);
    } else if (BASE64_KEY.test(text)) {
      const unpadded = text.replace(/=$/, "");
      bytes = fromBase64Url(unpadded.replace(/\+/g, "-").replace(/\//g, "_")) as Bytes;
      weakness = weakPattern(bytes) ?? weakBase64Text(unpadded) ?? weakBytes(bytes);
    }
  }
  if (!bytes) {
    throw optionError(
      field,
      `must be ${ACCEPTED_KEY_FORM}`,
      typeof value === "string"
        ? "a string that encodes no 32 bytes in these forms"
        : describeValue(value, true),
    );
  }
  if (weakness) {
    throw optionError(
      field,
      `is not a random key: it ${weakness}. A key drawn at random fails this check with ` +
        `probability below 1e-9: ${GENERATE_KEY}`,
    );
  }
  return bytes;
}

// Weak keys. Each rule below refuses a key that looks chosen by a person or a program rather
// than drawn at random; next to each is the probability that a uniformly random key of that
// form trips it (the false rejection), computed exactly or bounded from above. Summed per
// form: about 4.6e-14 for bytes, 6.9e-10 for hex, 8.2e-10 for base64. The messages say which
// rule failed and never show the key.

/** A short repeating pattern of bytes, or of steps between them; undefined when none. */
function weakPattern(bytes: Uint8Array): string | undefined {
  // A period p <= 16 (bytes[i] === bytes[i - p] for every i >= p) fixes the last 32 - p
  // bytes: false rejection sum over p = 1..16 of 2^(-8 (32 - p)), below 2^-127. Covers all
  // zero, one byte repeated, and patterns such as "deadbeef" repeated.
  const period = periodOf(bytes, 16);
  if (period === 1) {
    return bytes[0] === 0 ? "is all zero bytes" : "is one byte value repeated 32 times";
  }
  if (period !== undefined) return `repeats a pattern of ${period} bytes`;
  // The same on the 31 steps bytes[i + 1] - bytes[i] (mod 256), with a period p <= 15:
  // counting sequences such as 00 01 02 ... or 10 20 30 .... False rejection below 2^-127.
  const steps = bytes.subarray(1).map((byte, i) => (byte - (bytes[i] as number)) & 255);
  if (periodOf(steps, 15) !== undefined) {
    return "counts up or down in a repeating pattern of steps";
  }
  return undefined;
}

/** The smallest period up to `max` of `values`, or undefined. */
function periodOf(values: Uint8Array, max: number): number | undefined {
  for (let period = 1; period <= max; period++) {
    let i = period;
    while (i < values.length && values[i] === values[i - period]) i++;
    if (i === values.length) return period;
  }
  return undefined;
}

/** Bytes that are text, or too few distinct values; undefined when neither. */
function weakBytes(bytes: Uint8Array): string | undefined {
  // Every byte a printable ASCII character, tab, line feed or carriage return (98 of 256
  // values): a password passed as bytes (Buffer.from("a 32-character passphrase......")), or
  // the hex or base64 of one. False rejection (98/256)^32, about 4.6e-14.
  if (
    bytes.every((byte) =>
      (byte >= 0x20 && byte <= 0x7e) || byte === 9 || byte === 10 || byte === 13
    )
  ) {
    return "is 32 characters of text, not random bytes (a password or phrase?)";
  }
  // Fewer than 16 distinct values among the 32 bytes (a random key has about 30): false
  // rejection 3.2e-17, the exact occupancy probability of at most 15 of 256 values.
  const distinct = new Set(bytes).size;
  if (distinct < 16) {
    return `has only ${distinct} distinct byte values (a random key has about 30)`;
  }
  return undefined;
}

/** 64 hex digits that use few of the 16 digits; undefined otherwise. */
function weakHexText(text: string): string | undefined {
  // Fewer than 11 distinct hex digits, case aside (random hex uses almost all 16; digits only
  // uses 10): false rejection 6.8e-10, the exact probability of at most 10 of 16 in 64 draws.
  const distinct = new Set(text.toLowerCase()).size;
  return distinct < 11
    ? `uses only ${distinct} of the 16 hex digits (random hex uses nearly all of them)`
    : undefined;
}

/** Base64 text drawn from a short alphabet (a phrase, a word typed twice); undefined otherwise. */
function weakBase64Text(text: string): string | undefined {
  // Bounds below are computed for the first 42 characters, each uniform over 64 (the 43rd
  // carries 4 bits): counting one character less can only make these events more likely.
  // Fewer than 18 distinct characters among the 43 (random text has about 31): false
  // rejection at most 2.0e-10.
  const distinct = new Set(text).size;
  if (distinct < 18) {
    return `uses only ${distinct} distinct characters (random base64 of 32 bytes uses about 31)`;
  }
  // Letters of one case only: 38 of the 64 characters lack upper-case letters, and 38 lack
  // lower-case ones, so false rejection at most 2 (38/64)^42, about 6.2e-10.
  if (!/[A-Z]/.test(text) || !/[a-z]/.test(text)) {
    return "has letters of one case only, like typed text (random base64 mixes both cases)";
  }
  return undefined;
}

/**
 * Checks the `encryption` option and returns it with every key as its own copy of 32 bytes,
 * or undefined when the option is absent.
 *
 * @throws TypeError naming the offending field (`encryption.keys[1]`, …) and the accepted
 * form, never echoing a key.
 */
export function validateEncryptionOptions(value: unknown): ValidEncryptionOptions | undefined {
  return value === undefined ? undefined : checkEncryptionOptions(value);
}

/** {@link EncryptionOptions} after validation: keys as bytes, the window as a Date. */
export interface ValidEncryptionOptions extends EncryptionOptions {
  keys: Uint8Array<ArrayBuffer>[];
  /** Absent when plain rows are refused. */
  acceptPlaintextUntil?: Date;
}

/** {@link validateEncryptionOptions} for an option that is present. */
export function checkEncryptionOptions(value: unknown): ValidEncryptionOptions {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw optionError(
      "encryption",
      "must be an object { keys: [...] }",
      describeValue(value, true),
    );
  }
  for (const name of Object.keys(value)) {
    if (name === "acceptPlaintext") {
      throw removedAcceptPlaintext((value as Record<string, unknown>)[name]);
    }
    if (name !== "keys" && name !== "acceptPlaintextUntil") {
      throw new TypeError(
        `knex-mysql-session: unknown option "encryption.${name}" ` +
          "(accepted: keys, acceptPlaintextUntil)",
      );
    }
  }
  const { keys, acceptPlaintextUntil } = value as {
    keys?: unknown;
    acceptPlaintextUntil?: unknown;
  };
  if (!Array.isArray(keys) || keys.length === 0) {
    throw optionError(
      "encryption.keys",
      `must be a non-empty array of keys, newest first, each ${ACCEPTED_KEY_FORM}`,
      Array.isArray(keys) ? "an empty array" : describeValue(keys, true),
    );
  }
  const until = acceptPlaintextUntil === undefined
    ? undefined
    : new Date(plaintextUntil(acceptPlaintextUntil, clock.now()));
  const decoded = keys.map(keyBytes);
  decoded.forEach((key, index) => {
    const first = decoded.findIndex((other) => sameBytes(other, key));
    if (first !== index) {
      throw optionError(
        `encryption.keys[${index}]`,
        `is the same key as encryption.keys[${first}]: list each key once`,
      );
    }
  });
  return until === undefined ? { keys: decoded } : { keys: decoded, acceptPlaintextUntil: until };
}

function removedAcceptPlaintext(value: unknown): TypeError {
  return optionError(
    "encryption.acceptPlaintext",
    value === false
      ? "was removed: plain rows are now refused by default, so leave it out"
      : "was removed: plain rows are now refused by default. To read rows written before " +
        `encryption was enabled for a while, set ${PLAINTEXT_UNTIL} to a date one session ` +
        `lifetime ahead (at most ${MAX_PLAINTEXT_WINDOW_DAYS} days), and remove it afterwards`,
  );
}

/** `acceptPlaintextUntil` as milliseconds since the epoch, checked against `now`. */
function plaintextUntil(value: unknown, now: number): number {
  let ms: number;
  if (Object.prototype.toString.call(value) === "[object Date]") {
    ms = Date.prototype.getTime.call(value);
    if (Number.isNaN(ms)) {
      throw optionError(PLAINTEXT_UNTIL, "is an invalid Date", "Invalid Date");
    }
  } else if (typeof value === "string") {
    ms = parseIsoDate(value);
  } else if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw optionError(PLAINTEXT_UNTIL, `must be ${PLAINTEXT_UNTIL_FORMS}`, String(value));
    }
    if (value < MIN_EPOCH_MS) {
      throw optionError(
        PLAINTEXT_UNTIL,
        `must be milliseconds since the epoch, from ${MIN_EPOCH_MS} (${iso(MIN_EPOCH_MS)}) on ` +
          `(got ${value}, which is ${iso(value)}: seconds instead of milliseconds?). To refuse ` +
          "plain rows, leave the option out",
      );
    }
    ms = value;
  } else {
    throw optionError(
      PLAINTEXT_UNTIL,
      `must be ${PLAINTEXT_UNTIL_FORMS}`,
      describeValue(value, true),
    );
  }
  const latest = now + MAX_PLAINTEXT_WINDOW_DAYS * DAY;
  if (ms > latest) {
    throw optionError(
      PLAINTEXT_UNTIL,
      `must be at most ${MAX_PLAINTEXT_WINDOW_DAYS} days after the store starts (${
        iso(latest)
      }): while it is open, anyone who can write the table can plant a plain session, so it ` +
        `is for one migration, about one session lifetime, not for good`,
      iso(ms),
    );
  }
  return ms;
}

/** Milliseconds since the epoch of an ISO 8601 date, or date and time with a zone. */
function parseIsoDate(text: string): number {
  const shown = describeValue(text);
  const match = ISO_DATE.exec(text);
  if (!match) {
    throw optionError(PLAINTEXT_UNTIL, `must be ${PLAINTEXT_UNTIL_FORMS}`, shown);
  }
  const [, year, month, day, hour, minute, second = "0", fraction = "0", zone] = match;
  if (hour !== undefined && zone === undefined) {
    throw optionError(
      PLAINTEXT_UNTIL,
      `must end in Z or an offset such as +02:00 when it gives a time: without one it would ` +
        `be read in the local time zone of each server`,
      shown,
    );
  }
  const fields = [year, month, day, hour ?? "0", minute ?? "0", second].map(Number) as number[];
  const [y, mo, d, h, mi, s] = fields as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s, Number(fraction.padEnd(3, "0")));
  const date = new Date(ms);
  let offset = 0;
  if (zone !== undefined && zone !== "Z") {
    const [oh, om] = zone.slice(1).split(":").map(Number) as [number, number];
    offset = (zone[0] === "-" ? -1 : 1) * (oh * 60 + om) * 60_000;
    if (oh > 23 || om > 59) {
      throw optionError(PLAINTEXT_UNTIL, "has an offset out of range", shown);
    }
  }
  if (
    date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d ||
    h > 23 || mi > 59 || s > 59
  ) {
    throw optionError(PLAINTEXT_UNTIL, "is not a valid date and time", shown);
  }
  return ms - offset;
}

/** `ms` as an ISO 8601 UTC date and time, or as the number when no Date can hold it. */
function iso(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/**
 * What a store with `options` should say at start-up about its plaintext window, if it has one:
 * that plain rows read as sessions until it ends, or that it ended and the option can go.
 */
export function plaintextWindowNote(
  options: ValidEncryptionOptions | undefined,
  now: number,
): string | undefined {
  const until = options?.acceptPlaintextUntil;
  if (!until) return undefined;
  return until.getTime() > now
    ? `${PLAINTEXT_UNTIL}: rows of plain session JSON read as sessions until ` +
      `${until.toISOString()} (each is sealed when next saved); remove the option once they are`
    : `${PLAINTEXT_UNTIL} ended at ${until.toISOString()}: plain rows are refused; remove the ` +
      "option";
}
