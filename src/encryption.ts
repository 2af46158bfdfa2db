// Encryption at rest: the session JSON is sealed with AES-256-GCM (Web Crypto, so the same code
// runs on Node and Deno) before it is written, and opened after it is read. The sealed form is
// itself JSON, because the `sess` column is a JSON column:
//
//   {"$kms":2,"k":"<key id>","iv":"<base64url, 12 bytes>","ct":"<base64url ciphertext + tag>"}
//
// The additional authenticated data is the session id and its owner (the `user_id` column), so a
// sealed payload copied to another row, or given another owner, does not open there; the first
// form, "$kms":1, bound to the id alone, is still read. The `encryption` option and its checks
// (keys, the plaintext window) are encryption_options.ts's.
import { type Bytes, fromBase64Url, toBase64Url } from "./base64url.ts";
import { clock } from "./clock.ts";
import {
  checkEncryptionOptions,
  type EncryptionOptions,
  MAX_PLAINTEXT_WINDOW_DAYS,
  PLAINTEXT_UNTIL,
} from "./encryption_options.ts";

/** Why a stored row did not open. */
export type UnreadableReason =
  /** The sealed form is not one this version writes (bad JSON, fields, or base64). */
  | "malformed"
  /** Sealed with a key that is not among `encryption.keys`. */
  | "unknown-key"
  /** Authentication failed: altered, sealed for another session id, or with another key. */
  | "tampered"
  /** Plain session JSON, while no `acceptPlaintextUntil` window is open. */
  | "plaintext";

/** The outcome of opening a sealed envelope: the session JSON, or why it did not open. */
export type UnsealResult =
  | { ok: true; json: string }
  | { ok: false; reason: UnreadableReason; detail: string };

const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * The sealed form this version writes: 2 binds the session to its id and its owner (the
 * `user_id` column's value), 1 (read only, written before owners were sealed) to its id alone.
 */
const FORMAT_VERSION = 2;
const SID_ONLY_VERSION = 1;
const MARKER = "$kms";
const KEY_ID_BYTES = 6;
/** Key ids are hashes of this label and the key, so they say nothing usable about the key. */
const KEY_ID_LABEL = "knex-mysql-session key id\0";

interface CipherKey {
  id: string;
  key: CryptoKey;
  /** HMAC-SHA-256 key for session owners, derived from the key (HKDF), never the key itself. */
  ownerKey: CryptoKey;
}

/** The HKDF `info` of the owner hash key: a key of its own for another purpose. */
const OWNER_KEY_INFO = new TextEncoder().encode("knex-mysql-session user id");

/** Imports each key once, non-extractable, and derives its id and its owner hash key. */
async function importKeys(keys: Bytes[]): Promise<CipherKey[]> {
  const { subtle } = globalThis.crypto;
  const label = new TextEncoder().encode(KEY_ID_LABEL);
  return await Promise.all(keys.map(async (bytes) => {
    const [key, digest, base] = await Promise.all([
      subtle.importKey("raw", bytes, "AES-GCM", false, ["encrypt", "decrypt"]),
      subtle.digest("SHA-256", concat(label, bytes)),
      subtle.importKey("raw", bytes, "HKDF", false, ["deriveKey"]),
    ]);
    const ownerKey = await subtle.deriveKey(
      { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: OWNER_KEY_INFO },
      base,
      { name: "HMAC", hash: "SHA-256", length: 256 },
      false,
      ["sign"],
    );
    return { id: toBase64Url(new Uint8Array(digest, 0, KEY_ID_BYTES)), key, ownerKey };
  }));
}

/**
 * Seals session JSON for storage and opens what was stored, with the keys of
 * {@link EncryptionOptions}. Keys are imported once, on construction.
 */
export class SessionCipher {
  readonly #keys: Promise<CipherKey[]>;
  /** Until when plain rows read as sessions, in ms since the epoch; -Infinity for never. */
  readonly #plaintextUntil: number;
  readonly #plaintextRefusal: string;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder("utf-8", { fatal: true });

  /** @throws TypeError when the options are invalid (see {@link checkEncryptionOptions}). */
  constructor(options: EncryptionOptions) {
    const { keys, acceptPlaintextUntil } = checkEncryptionOptions(options);
    this.#plaintextUntil = acceptPlaintextUntil?.getTime() ?? -Infinity;
    this.#plaintextRefusal = acceptPlaintextUntil === undefined
      ? "it holds unencrypted session data, and plain rows are refused: no " +
        `${PLAINTEXT_UNTIL} was given. To read rows written before encryption was enabled ` +
        `while they are rewritten sealed, set ${PLAINTEXT_UNTIL} to a date one session ` +
        `lifetime ahead (at most ${MAX_PLAINTEXT_WINDOW_DAYS} days)`
      : "it holds unencrypted session data, and the window for reading plain rows " +
        `(${PLAINTEXT_UNTIL}) ended at ${acceptPlaintextUntil.toISOString()}: a row not ` +
        "rewritten sealed by then stays unreadable. Remove the option once the migration is " +
        `over, or set a later date (at most ${MAX_PLAINTEXT_WINDOW_DAYS} days ahead) to open ` +
        "a new window";
    this.#keys = importKeys(keys);
    this.#keys.catch(() => {}); // reported by the first seal or open, not as unhandled
  }

  /**
   * The sealed form of the session JSON `json` of session `sid` owned by `owner` (what the
   * `user_id` column holds: a keyed hash, or null for none), as JSON text to store in the
   * `sess` column. Only `unseal` with the same `sid` and `owner` opens it: a row moved to
   * another id or another owner, or whose owner was erased, does not open.
   */
  async seal(json: string, sid: string, owner: string | null = null): Promise<string> {
    const [current] = await this.#keys;
    const { id, key } = current as CipherKey;
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(IV_BYTES));
    const ciphertext = await globalThis.crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: this.#boundTo(FORMAT_VERSION, sid, owner) },
      key,
      this.#encoder.encode(json),
    );
    return `{"${MARKER}":${FORMAT_VERSION},"k":"${id}","iv":"${toBase64Url(iv)}","ct":"${
      toBase64Url(new Uint8Array(ciphertext))
    }"}`;
  }

  /**
   * What the `user_id` column holds for the owner `userId`, under each key, newest first: a
   * keyed hash (HMAC-SHA-256, base64url, 43 characters), so the table never holds user ids in
   * clear. A save writes the first; lookups try all, so that rotation keeps finding sessions
   * saved under an older key.
   */
  async ownerHashes(userId: string): Promise<string[]> {
    const data = this.#encoder.encode(userId);
    return await Promise.all(
      (await this.#keys).map(async ({ ownerKey }) =>
        toBase64Url(new Uint8Array(await globalThis.crypto.subtle.sign("HMAC", ownerKey, data)))
      ),
    );
  }

  /**
   * Whether a row of plain (unsealed) session JSON reads as that session now: only before
   * `acceptPlaintextUntil`. Called on every plain read, so it only compares two numbers.
   */
  acceptsPlaintext(): boolean {
    return clock.now() < this.#plaintextUntil;
  }

  /**
   * Why a plain row was refused, for the `unreadable` report: no window was given, or it
   * ended (and when), and how to open one.
   */
  plaintextRefusal(): string {
    return this.#plaintextRefusal;
  }

  /**
   * Opens a parsed sealed envelope (see {@link isSealedEnvelope}) of session `sid`. Its key
   * order does not matter: MySQL's JSON column reorders keys. Never throws: an envelope that
   * does not open is a result, whose detail names neither key material nor session contents.
   */
  async unseal(
    envelope: Record<string, unknown>,
    sid: string,
    owner: string | null = null,
  ): Promise<UnsealResult> {
    const { [MARKER]: version, k, iv, ct } = envelope;
    if (version !== FORMAT_VERSION && version !== SID_ONLY_VERSION) {
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
        {
          name: "AES-GCM",
          iv: ivBytes,
          additionalData: this.#boundTo(version as number, sid, owner),
        },
        entry.key,
        ciphertext,
      );
      return { ok: true, json: this.#decoder.decode(plaintext) };
    } catch {
      return refused(
        "tampered",
        "it failed authentication: it was altered, copied from another session id, moved " +
          "to another owner (user_id changed or erased), or sealed with another key",
      );
    }
  }

  /** The additional authenticated data of a sealed form: what it is bound to. */
  #boundTo(version: number, sid: string, owner: string | null): Bytes {
    // An owner hash is base64url, without a NUL: the last NUL splits the two unambiguously.
    return this.#encoder.encode(
      version === SID_ONLY_VERSION ? sid : `${sid}\0${owner ?? ""}`,
    ) as Bytes;
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
