// Keys, clocks and sealed rows for the encryption tests (the unit tier's SessionCipher tests and
// the store's against the real server).
import { isSealedEnvelope } from "../../src/encryption.ts";

/** 32 random bytes: a key. */
export function randomKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

export const DAY = 86_400_000;

/** Runs `body` with Date.now() returning `now`: the clock, not the database, is pinned. */
export function at<T>(now: number, body: () => T): T {
  const realNow = Date.now;
  Date.now = () => now;
  try {
    return body();
  } finally {
    Date.now = realNow;
  }
}

/** Whether stored text (MariaDB's, or MySQL's with its keys reordered) is a sealed envelope. */
export function isSealed(text: string): boolean {
  return isSealedEnvelope(JSON.parse(text));
}

/** A sealed row as stored: format version, key id, IV and ciphertext (base64url). */
export interface Envelope {
  $kms: number;
  k: string;
  iv: string;
  ct: string;
}

/** The sealed text with one byte of the decoded field `field` flipped. */
export function flipByte(sealed: string, field: "iv" | "ct", index: number): string {
  const envelope = JSON.parse(sealed) as Envelope;
  const bytes = Uint8Array.from(
    atob(envelope[field].replace(/-/g, "+").replace(/_/g, "/")),
    (char) => char.charCodeAt(0),
  );
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = (bytes[at] as number) ^ 0x01;
  envelope[field] = base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  return JSON.stringify(envelope);
}
