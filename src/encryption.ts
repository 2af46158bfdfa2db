// Encryption at rest: the session JSON is sealed with AES-256-GCM (Web Crypto, so the same code
// runs on Node and Deno) before it is written, and opened after it is read. The sealed form is
// itself JSON, because the `sess` column is a JSON column:
//
//   {"$kms":1,"k":"<key id>","iv":"<base64url, 12 bytes>","ct":"<base64url ciphertext + tag>"}
//
// The additional authenticated data is the session id, so a sealed payload copied to another
// row does not open there.

/**
 * The option `encryption` of the store: encrypt every session written, and open sealed
 * sessions when they are read.
 *
 * Each key is 32 bytes (AES-256), given as one of:
 * - a `Uint8Array` (a Node `Buffer` is one) of exactly 32 bytes;
 * - 64 hexadecimal digits;
 * - base64 or base64url text of exactly 32 bytes (43 characters, or 44 with `=` padding).
 *
 * Surrounding whitespace in a string is ignored. Generate a key with, for example,
 * `openssl rand -base64 32`.
 *
 * **Rotation.** The first key seals every write; every key opens. To rotate, put the new key
 * first and keep the old ones after it until every session sealed with them has expired (one
 * session lifetime); then remove them. A row sealed with a key that is no longer listed reads
 * as no session. Rotate well before one key has sealed 2^32 writes: AES-GCM with random
 * 96-bit IVs is only specified up to that many messages per key.
 *
 * **Migration.** Rows written before encryption was enabled (plain session JSON) stay
 * readable and are sealed the next time they are written, unless `acceptPlaintext` is false.
 *
 * **What it protects.** Someone who can read the table cannot read sessions, and someone who
 * can write it cannot alter a sealed session, or move one to another session id, without it
 * reading as no session. Session ids and expiry times stay in clear text. As long as
 * `acceptPlaintext` is true, a forged plain-JSON row is accepted as a session: set it to
 * false once every session has been rewritten sealed.
 *
 * The top-level key `"$kms"` marks a sealed row: a plain session must not use it.
 */
export interface EncryptionOptions {
  /** The keys, newest first: the first seals, all open. At least one. */
  keys: (string | Uint8Array)[];
  /**
   * Whether a row holding plain session JSON (written before encryption was enabled) reads
   * as that session. Default `true`; with `false` it reads as no session and is reported.
   */
  acceptPlaintext?: boolean;
}

/** Why a stored row did not open. */
export type UnreadableReason =
  /** The sealed form is not one this version writes (bad JSON, fields, or base64). */
  | "malformed"
  /** Sealed with a key that is not among `encryption.keys`. */
  | "unknown-key"
  /** Authentication failed: altered, sealed for another session id, or with another key. */
  | "tampered"
  /** Plain session JSON while `acceptPlaintext` is false. */
  | "plaintext";

/** The outcome of opening a sealed envelope: the session JSON, or why it did not open. */
export type UnsealResult =
  | { ok: true; json: string }
  | { ok: false; reason: UnreadableReason; detail: string };

/** Bytes in an ArrayBuffer of their own, as Web Crypto takes them. */
type Bytes = Uint8Array<ArrayBuffer>;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT_VERSION = 1;
const MARKER = "$kms";
const KEY_ID_BYTES = 6;
/** Key ids are hashes of this label and the key, so they say nothing usable about the key. */
const KEY_ID_LABEL = "knex-mysql-session key id\0";

const ACCEPTED_KEY_FORM = "32 bytes: a Uint8Array of length 32, 64 hex digits, " +
  "or base64/base64url text of 32 bytes (e.g. the output of `openssl rand -base64 32`)";
const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^(?:[A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?$/;

function optionError(name: string, message: string): TypeError {
  return new TypeError(`knex-mysql-session: option "${name}" ${message}`);
}

/** What a rejected value was, said without showing it: it may be a secret. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (typeof value === "object") return "an object";
  return value === undefined ? "undefined" : `a ${typeof value}`;
}

/** The 32 bytes of `keys[index]` (a copy), or a TypeError that does not echo the value. */
function keyBytes(value: unknown, index: number): Bytes {
  if (value instanceof Uint8Array && value.length === KEY_BYTES) return value.slice();
  if (typeof value === "string") {
    const text = value.trim();
    if (HEX_KEY.test(text)) {
      return Uint8Array.from(
        { length: KEY_BYTES },
        (_, i) => parseInt(text.slice(i * 2, i * 2 + 2), 16),
      );
    }
    if (BASE64_KEY.test(text)) {
      return fromBase64Url(text.replace(/=$/, "").replace(/\+/g, "-").replace(/\//g, "_")) as Bytes;
    }
  }
  throw optionError(
    `encryption.keys[${index}]`,
    `must be ${ACCEPTED_KEY_FORM} (got ${
      typeof value === "string" ? "a string that encodes no 32 bytes in these forms" : kindOf(value)
    })`,
  );
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

/** {@link EncryptionOptions} after validation: keys as bytes, defaults applied. */
export interface ValidEncryptionOptions extends EncryptionOptions {
  keys: Uint8Array<ArrayBuffer>[];
  acceptPlaintext: boolean;
}

function checkEncryptionOptions(value: unknown): ValidEncryptionOptions {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw optionError("encryption", `must be an object { keys: [...] } (got ${kindOf(value)})`);
  }
  for (const name of Object.keys(value)) {
    if (name !== "keys" && name !== "acceptPlaintext") {
      throw new TypeError(
        `knex-mysql-session: unknown option "encryption.${name}" (accepted: keys, acceptPlaintext)`,
      );
    }
  }
  const { keys, acceptPlaintext } = value as { keys?: unknown; acceptPlaintext?: unknown };
  if (!Array.isArray(keys) || keys.length === 0) {
    throw optionError(
      "encryption.keys",
      `must be a non-empty array of keys, newest first, each ${ACCEPTED_KEY_FORM} ` +
        `(got ${Array.isArray(keys) ? "an empty array" : kindOf(keys)})`,
    );
  }
  if (acceptPlaintext !== undefined && typeof acceptPlaintext !== "boolean") {
    throw optionError(
      "encryption.acceptPlaintext",
      `must be true or false (got ${kindOf(acceptPlaintext)})`,
    );
  }
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
  return { keys: decoded, acceptPlaintext: acceptPlaintext !== false };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

interface CipherKey {
  id: string;
  key: CryptoKey;
}

/** Imports each key once, non-extractable, and derives its id. */
async function importKeys(keys: Bytes[]): Promise<CipherKey[]> {
  const { subtle } = globalThis.crypto;
  const label = new TextEncoder().encode(KEY_ID_LABEL);
  return await Promise.all(keys.map(async (bytes) => {
    const [key, digest] = await Promise.all([
      subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]),
      subtle.digest("SHA-256", concat(label, bytes)),
    ]);
    return { id: toBase64Url(new Uint8Array(digest, 0, KEY_ID_BYTES)), key };
  }));
}

/**
 * Seals session JSON for storage and opens what was stored, with the keys of
 * {@link EncryptionOptions}. Keys are imported once, on construction.
 */
export class SessionCipher {
  readonly #keys: Promise<CipherKey[]>;
  readonly #acceptPlaintext: boolean;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });

  /** @throws TypeError when the options are invalid (see {@link validateEncryptionOptions}). */
  constructor(options: EncryptionOptions) {
    const { keys, acceptPlaintext } = checkEncryptionOptions(options);
    this.#acceptPlaintext = acceptPlaintext;
    this.#keys = importKeys(keys);
    this.#keys.catch(() => {}); // reported by the first seal or open, not as unhandled
  }

  /**
   * The sealed form of the session JSON `json` of session `sid`, as JSON text to store in
   * the `sess` column. Only `open` with the same `sid` opens it.
   */
  async seal(json: string, sid: string): Promise<string> {
    const [current] = await this.#keys;
    const { id, key } = current as CipherKey;
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await globalThis.crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: this.#encoder.encode(sid) },
      key,
      this.#encoder.encode(json),
    );
    return `{"${MARKER}":${FORMAT_VERSION},"k":"${id}","iv":"${toBase64Url(iv)}","ct":"${
      toBase64Url(new Uint8Array(ciphertext))
    }"}`;
  }

  /** Whether a row of plain (unsealed) session JSON reads as that session. */
  acceptsPlaintext(): boolean {
    return this.#acceptPlaintext;
  }

  /** Why a plain row was refused, for the `unreadable` report. */
  plaintextRefusal(): string {
    return "it holds unencrypted session data and encryption.acceptPlaintext is false";
  }

  /**
   * Opens a parsed sealed envelope (see {@link isSealedEnvelope}) of session `sid`. Its key
   * order does not matter: MySQL's JSON column reorders keys. Never throws: an envelope that
   * does not open is a result, whose detail names neither key material nor session contents.
   */
  async unseal(envelope: Record<string, unknown>, sid: string): Promise<UnsealResult> {
    const { [MARKER]: version, k, iv, ct } = envelope;
    if (version !== FORMAT_VERSION) {
      return refused("malformed", "its sealed form has an unknown version");
    }
    const ivBytes = typeof iv === "string" ? fromBase64Url(iv) : undefined;
    const ciphertext = typeof ct === "string" ? fromBase64Url(ct) : undefined;
    if (
      typeof k !== "string" || ivBytes?.length !== IV_BYTES || ciphertext === undefined ||
      ciphertext.length < TAG_BYTES
    ) {
      return refused("malformed", 'its sealed form lacks a valid "k", "iv" or "ct"');
    }
    const entry = (await this.#keys).find((candidate) => candidate.id === k);
    if (!entry) {
      return refused(
        "unknown-key",
        `it was sealed with key id ${JSON.stringify(k)}, which is not among encryption.keys`,
      );
    }
    try {
      const plaintext = await globalThis.crypto.subtle.decrypt(
        { name: "AES-GCM", iv: ivBytes, additionalData: this.#encoder.encode(sid) },
        entry.key,
        ciphertext,
      );
      return { ok: true, json: this.#decoder.decode(plaintext) };
    } catch {
      return refused(
        "tampered",
        "it failed authentication: it was altered, copied from another session id, or " +
          "sealed with another key",
      );
    }
  }
}

/**
 * Whether a parsed `sess` value is a sealed envelope: an object with the own key `"$kms"`,
 * wherever it stands (MySQL's JSON column reorders keys).
 */
export function isSealedEnvelope(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    Object.hasOwn(value, MARKER);
}

function refused(reason: UnreadableReason, detail: string): UnsealResult {
  return { ok: false, reason, detail };
}

function concat(a: Uint8Array, b: Uint8Array): Bytes {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

// base64url without padding, by hand: Node's btoa/atob take ~0.5 s for a few megabytes, and
// Uint8Array.prototype.toBase64 is not on Node 20.
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ENCODE = new TextEncoder().encode(BASE64URL_ALPHABET);
/** Character code → 6-bit value, -1 outside the alphabet. */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[BASE64URL_ALPHABET.charCodeAt(i)] = i;

function toBase64Url(bytes: Uint8Array): string {
  const out = new Uint8Array(Math.ceil(bytes.length * 4 / 3));
  let o = 0;
  let i = 0;
  const sextet = (n: number, shift: number) => ENCODE[(n >> shift) & 63] as number;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i] as number) << 16 | (bytes[i + 1] as number) << 8 | (bytes[i + 2] as number);
    out[o++] = sextet(n, 18);
    out[o++] = sextet(n, 12);
    out[o++] = sextet(n, 6);
    out[o++] = sextet(n, 0);
  }
  const rest = bytes.length - i;
  if (rest > 0) {
    const n = (bytes[i] as number) << 16 | (rest === 2 ? (bytes[i + 1] as number) << 8 : 0);
    out[o++] = sextet(n, 18);
    out[o++] = sextet(n, 12);
    if (rest === 2) out[o++] = sextet(n, 6);
  }
  return new TextDecoder().decode(out);
}

/** The bytes of unpadded base64url text, or undefined when it is not that. */
function fromBase64Url(text: string): Bytes | undefined {
  if (text.length % 4 === 1) return undefined;
  const out = new Uint8Array(Math.floor(text.length * 3 / 4));
  let o = 0;
  let bits = 0;
  let accumulator = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? DECODE[code] as number : -1;
    if (value < 0) return undefined;
    accumulator = accumulator << 6 | value; // high bits fall off: only the last 14 matter
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = accumulator >> bits & 255;
    }
  }
  return out;
}
