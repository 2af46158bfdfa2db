// base64url without padding, by hand: Node's btoa/atob take ~0.5 s for a few megabytes, and
// Uint8Array.prototype.toBase64 is not on Node 20. Keys and sealed sessions are written in it.

/** Bytes in an ArrayBuffer of their own, as Web Crypto takes them. */
export type Bytes = Uint8Array<ArrayBuffer>;

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const ENCODE = new TextEncoder().encode(BASE64URL_ALPHABET);
/** Character code → 6-bit value, -1 outside the alphabet. */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[BASE64URL_ALPHABET.charCodeAt(i)] = i;

/** Unpadded base64url text of `bytes`. */
export function toBase64Url(bytes: Uint8Array): string {
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
export function fromBase64Url(text: string): Bytes | undefined {
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
