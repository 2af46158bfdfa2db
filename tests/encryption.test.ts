// Encryption at rest: SessionCipher on its own (round trip, rotation, tamper, AAD, plaintext
// rows, key validation).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  isSealed,
  type OpenResult,
  SessionCipher,
  validateEncryptionOptions,
} from "../src/encryption.ts";

const SID = "s:abc123";
const JSON_TEXT = JSON.stringify({
  cookie: { originalMaxAge: 60000, expires: "2030-01-01T00:00:00.000Z" },
  user: 'zoë 😀 \u2028 "quoted" \\ back',
});

function randomKey(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(32));
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function opened(result: OpenResult): unknown {
  assert.equal(result.ok, true, result.ok ? "" : result.message);
  return (result as { stored: unknown }).stored;
}

function unreadableReason(result: OpenResult): string {
  assert.equal(result.ok, false, "the row opened");
  return (result as { reason: string }).reason;
}

interface Envelope {
  $kms: number;
  k: string;
  iv: string;
  ct: string;
}

/** The sealed text with one byte of the decoded field `field` flipped. */
function flipByte(sealed: string, field: "iv" | "ct", index: number): string {
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

describe("SessionCipher", () => {
  const key = randomKey();
  const cipher = new SessionCipher({ keys: [key] });

  it("round-trips session JSON, as MariaDB's text and as MySQL 8's parsed object", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    assert.equal(opened(await cipher.open(sealed, SID)), JSON_TEXT);
    assert.equal(opened(await cipher.open(JSON.parse(sealed), SID)), JSON_TEXT);
    assert.equal(opened(await cipher.open(new TextEncoder().encode(sealed), SID)), JSON_TEXT);
  });

  it("writes JSON text that hides the session and uses a fresh IV each time", async () => {
    const first = await cipher.seal(JSON_TEXT, SID);
    const second = await cipher.seal(JSON_TEXT, SID);
    const envelope = JSON.parse(first) as Envelope;
    assert.deepEqual(Object.keys(envelope), ["$kms", "k", "iv", "ct"]);
    assert.equal(envelope.$kms, 1);
    assert.ok(!first.includes("zoë") && !first.includes("originalMaxAge"), first);
    assert.notEqual(first, second);
    assert.notEqual(envelope.iv, (JSON.parse(second) as Envelope).iv);
    assert.ok(isSealed(first) && isSealed(envelope) && !isSealed(JSON_TEXT));
  });

  it("seals empty and multi-megabyte sessions", async () => {
    const big = JSON.stringify({ data: "é😀".repeat(500_000) });
    for (const json of ["{}", big]) {
      assert.equal(opened(await cipher.open(await cipher.seal(json, SID), SID)), json);
    }
  });

  it("rotates: the first key seals, every key opens", async () => {
    const oldKey = randomKey();
    const newKey = randomKey();
    const before = new SessionCipher({ keys: [oldKey] });
    const after = new SessionCipher({ keys: [newKey, oldKey] });
    const sealedBefore = await before.seal(JSON_TEXT, SID);
    const sealedAfter = await after.seal(JSON_TEXT, SID);
    assert.equal(opened(await after.open(sealedBefore, SID)), JSON_TEXT);
    assert.notEqual(
      (JSON.parse(sealedAfter) as Envelope).k,
      (JSON.parse(sealedBefore) as Envelope).k,
    );
    assert.equal(
      opened(await new SessionCipher({ keys: [newKey] }).open(sealedAfter, SID)),
      JSON_TEXT,
    );
    assert.equal(unreadableReason(await before.open(sealedAfter, SID)), "unknown-key");
  });

  it("derives the same key id from every form of one key", async () => {
    const ids = await Promise.all([key, hex(key), base64(key), base64(key).replace(/=$/, "")].map(
      async (form) =>
        (JSON.parse(await new SessionCipher({ keys: [form] }).seal("{}", SID)) as Envelope).k,
    ));
    assert.equal(new Set(ids).size, 1, ids.join());
  });

  it("reads a tampered row as unreadable: any flipped bit of the ciphertext, tag or IV", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    const tampered = [
      flipByte(sealed, "ct", 0), // ciphertext
      flipByte(sealed, "ct", 10),
      flipByte(sealed, "ct", -1), // authentication tag (the last 16 bytes)
      flipByte(sealed, "ct", -16),
      flipByte(sealed, "iv", 0),
      flipByte(sealed, "iv", -1),
    ];
    for (const row of tampered) {
      assert.notEqual(row, sealed);
      assert.equal(unreadableReason(await cipher.open(row, SID)), "tampered", row);
    }
  });

  it("reads a malformed sealed row as unreadable, never throwing", async () => {
    const envelope = JSON.parse(await cipher.seal(JSON_TEXT, SID)) as Envelope;
    const rows: unknown[] = [
      '{"$kms":1,"k":',
      `{"$kms":1}`,
      { ...envelope, $kms: 2 },
      { ...envelope, iv: "short" },
      { ...envelope, iv: `${envelope.iv}!` },
      { ...envelope, ct: "AAAA" }, // shorter than a tag
      { ...envelope, ct: "é".repeat(40) },
      { ...envelope, ct: "A" }, // not base64 of whole bytes
      { ...envelope, k: 7 },
      { ...envelope, ct: ["x"] },
    ];
    for (const row of rows) {
      const result = await cipher.open(row, SID);
      assert.equal(unreadableReason(result), "malformed", JSON.stringify(row));
    }
  });

  it("binds a sealed row to its session id (AAD): copied to another id it does not open", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    for (const other of ["s:abc124", "S:ABC123", `${SID} `, ""]) {
      assert.equal(unreadableReason(await cipher.open(sealed, other)), "tampered", other);
    }
  });

  it("does not open a row sealed with a different key that claims the same key id", async () => {
    const sealed = JSON.parse(
      await new SessionCipher({ keys: [randomKey()] }).seal(
        JSON_TEXT,
        SID,
      ),
    ) as Envelope;
    const ourId = (JSON.parse(await cipher.seal("{}", SID)) as Envelope).k;
    const result = await cipher.open({ ...sealed, k: ourId }, SID);
    assert.equal(unreadableReason(result), "tampered");
  });

  it("passes plain rows written before encryption through unchanged", async () => {
    const parsed = JSON.parse(JSON_TEXT);
    assert.equal(opened(await cipher.open(JSON_TEXT, SID)), JSON_TEXT);
    assert.equal(opened(await cipher.open(parsed, SID)), parsed);
    const withMarkerLater = '{"cookie":{},"note":"{\\"$kms\\":1}"}';
    assert.equal(opened(await cipher.open(withMarkerLater, SID)), withMarkerLater);
  });

  it("rejects plain rows when acceptPlaintext is false", async () => {
    const strict = new SessionCipher({ keys: [key], acceptPlaintext: false });
    assert.equal(unreadableReason(await strict.open(JSON_TEXT, SID)), "plaintext");
    assert.equal(unreadableReason(await strict.open(JSON.parse(JSON_TEXT), SID)), "plaintext");
    const sealed = await cipher.seal(JSON_TEXT, SID);
    assert.equal(opened(await strict.open(sealed, SID)), JSON_TEXT);
  });

  it("says why a row is unreadable without key material or session contents", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    const results = [
      await cipher.open(flipByte(sealed, "ct", 3), SID),
      await new SessionCipher({ keys: [randomKey()] }).open(sealed, SID),
    ];
    for (const result of results) {
      assert.equal(result.ok, false);
      const { message } = result as { message: string };
      assert.match(message, /^the stored session cannot be read: /);
      for (const secret of [hex(key), base64(key), "zoë", SID]) {
        assert.ok(!message.includes(secret), message);
      }
    }
  });
});

describe("encryption option validation", () => {
  const key = randomKey();

  it("accepts 32 bytes, 64 hex digits, or base64/base64url of 32 bytes", () => {
    const url = base64(key).replace(/\+/g, "-").replace(/\//g, "_");
    for (const form of [key, hex(key), hex(key).toUpperCase(), base64(key), url, ` ${url}\n`]) {
      const valid = validateEncryptionOptions({ keys: [form] });
      assert.deepEqual(valid?.keys, [new Uint8Array(key)], String(form));
      assert.equal(valid?.acceptPlaintext, true);
    }
    assert.equal(validateEncryptionOptions(undefined), undefined);
  });

  it("keeps its own copy of a key", () => {
    const bytes = randomKey();
    const valid = validateEncryptionOptions({ keys: [bytes] });
    const copy = Uint8Array.from(bytes);
    bytes.fill(0);
    assert.deepEqual(valid?.keys[0], copy);
  });

  const secretLooking = "S3cr3tPassphrase-do-not-log";
  const badOptions: [unknown, RegExp][] = [
    [null, /option "encryption" must be an object \{ keys: \[\.\.\.\] \} \(got null\)/],
    ["k".repeat(44), /option "encryption" must be an object .*\(got a string/],
    [[key], /option "encryption" must be an object .*\(got an array\)/],
    [{}, /option "encryption\.keys" must be a non-empty array .*\(got undefined\)/],
    [{ keys: [] }, /option "encryption\.keys" must be a non-empty array .*\(got an empty array\)/],
    [{ keys: key }, /option "encryption\.keys" must be a non-empty array .*Uint8Array of 32/],
    [{ keys: [key], key }, /unknown option "encryption\.key" \(accepted: keys, acceptPlaintext\)/],
    [{ keys: [key], acceptPlaintext: "no" }, /"encryption\.acceptPlaintext" must be true or false/],
    [
      { keys: [secretLooking] },
      /option "encryption\.keys\[0\]" must be 32 bytes: a Uint8Array of length 32, 64 hex digits, or base64\/base64url text of 32 bytes .*\(got a string that encodes no 32 bytes/,
    ],
    [
      { keys: [key, hex(key).slice(2)] },
      /"encryption\.keys\[1\]" must be 32 bytes.*\(got a string/,
    ],
    [
      { keys: [key, key.subarray(1)] },
      /"encryption\.keys\[1\]" must be .*\(got a Uint8Array of 31 bytes\)/,
    ],
    [{ keys: [new Uint8Array(33)] }, /"encryption\.keys\[0\]" .*\(got a Uint8Array of 33 bytes\)/],
    [{ keys: [`${base64(key)}==`] }, /"encryption\.keys\[0\]" must be 32 bytes/],
    [{ keys: [base64(key).slice(0, 41) + "+_"] }, /"encryption\.keys\[0\]" must be 32 bytes/],
    [{ keys: [new Uint16Array(16)] }, /"encryption\.keys\[0\]" .*\(got an object\)/],
    [{ keys: [42] }, /"encryption\.keys\[0\]" .*\(got a number\)/],
    [{ keys: [key, hex(key)] }, /"encryption\.keys\[1\]" is the same key as encryption\.keys\[0\]/],
  ];

  it("throws a TypeError naming the field and the accepted form", () => {
    for (const [value, message] of badOptions) {
      assert.throws(() => validateEncryptionOptions(value), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(error.message, message);
        assert.match(error.message, /^knex-mysql-session: /);
        return true;
      }, JSON.stringify(value));
      assert.throws(() => new SessionCipher(value as never), TypeError);
    }
  });

  it("never echoes key material in the TypeError", () => {
    const secrets = [secretLooking, hex(key), base64(key), hex(key).slice(2), String(key)];
    for (const [value] of badOptions) {
      try {
        validateEncryptionOptions(value);
      } catch (error) {
        const { message } = error as Error;
        for (const secret of secrets) assert.ok(!message.includes(secret), message);
        // No run of 16+ characters from any key form leaks either.
        for (const form of secrets) {
          for (let i = 0; i + 16 <= form.length; i++) {
            assert.ok(!message.includes(form.slice(i, i + 16)), message);
          }
        }
      }
    }
  });
});
