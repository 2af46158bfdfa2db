// Encryption at rest without a server: SessionCipher on its own (round trip, rotation, tamper,
// AAD, plaintext rows and their time box) and the encryption options (key validation, weak
// keys). A store with `encryption` against the real database is in tests/encryption.test.ts.
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { describe, it } from "node:test";
import { SessionCipher } from "../../src/encryption.ts";
import { validateEncryptionOptions } from "../../src/encryption_options.ts";
import { SessionReader, type Unreadable } from "../../src/session_reader.ts";
import {
  at,
  base64,
  DAY,
  type Envelope,
  flipByte,
  hex,
  isSealed,
  randomKey,
} from "../helpers/encryption.ts";

const SID = "s:abc123";
const JSON_TEXT = JSON.stringify({
  cookie: { originalMaxAge: 60000, expires: "2030-01-01T00:00:00.000Z" },
  user: 'zoë 😀 \u2028 "quoted" \\ back',
});

function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=$/, "");
}

interface ReadResult {
  session: unknown;
  reports: Unreadable[];
}

/** What the store's read pipeline makes of a stored `sess` value: a session, or why none. */
async function readWith(
  cipher: SessionCipher | undefined,
  stored: unknown,
  sid = SID,
  owner: string | null = null,
): Promise<ReadResult> {
  const reports: Unreadable[] = [];
  const session = await new SessionReader(cipher, (report) => reports.push(report)).read(
    stored,
    sid,
    owner,
  );
  return { session, reports };
}

/** The session a read gave, as JSON text (to compare with what was sealed). */
function opened(result: ReadResult): string {
  assert.deepEqual(result.reports, []);
  return JSON.stringify(result.session);
}

function unreadableReason(result: ReadResult): string {
  assert.equal(result.session, null, "the row opened");
  assert.equal(result.reports.length, 1);
  return (result.reports[0] as Unreadable).reason;
}

describe("SessionCipher", () => {
  const key = randomKey();
  const cipher = new SessionCipher({ keys: [key] });

  it("round-trips session JSON, as MariaDB's text and as MySQL's reordered JSON", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    const envelope = JSON.parse(sealed) as Envelope;
    // MySQL's binary JSON returns keys shortest first, and its text form has spaces.
    const reordered = { k: envelope.k, ct: envelope.ct, iv: envelope.iv, $kms: envelope.$kms };
    const mysqlText = `{"k": "${envelope.k}", "ct": "${envelope.ct}", "iv": "${envelope.iv}", ` +
      `"$kms": ${envelope.$kms}}`;
    for (
      const stored of [sealed, envelope, reordered, mysqlText, new TextEncoder().encode(sealed)]
    ) {
      assert.equal(opened(await readWith(cipher, stored, SID)), JSON_TEXT, String(stored));
    }
  });

  it("writes JSON text that hides the session and uses a fresh IV each time", async () => {
    const first = await cipher.seal(JSON_TEXT, SID);
    const second = await cipher.seal(JSON_TEXT, SID);
    const envelope = JSON.parse(first) as Envelope;
    assert.deepEqual(Object.keys(envelope), ["$kms", "k", "iv", "ct"]);
    assert.equal(envelope.$kms, 2);
    assert.ok(!first.includes("zoë") && !first.includes("originalMaxAge"), first);
    assert.notEqual(first, second);
    assert.notEqual(envelope.iv, (JSON.parse(second) as Envelope).iv);
    assert.ok(isSealed(first) && !isSealed(JSON_TEXT));
  });

  it("seals empty and multi-megabyte sessions", async () => {
    const big = JSON.stringify({ data: "é😀".repeat(500_000) });
    for (const json of ["{}", big]) {
      assert.equal(opened(await readWith(cipher, await cipher.seal(json, SID), SID)), json);
    }
  });

  it("rotates: the first key seals, every key opens", async () => {
    const oldKey = randomKey();
    const newKey = randomKey();
    const before = new SessionCipher({ keys: [oldKey] });
    const after = new SessionCipher({ keys: [newKey, oldKey] });
    const sealedBefore = await before.seal(JSON_TEXT, SID);
    const sealedAfter = await after.seal(JSON_TEXT, SID);
    assert.equal(opened(await readWith(after, sealedBefore, SID)), JSON_TEXT);
    assert.notEqual(
      (JSON.parse(sealedAfter) as Envelope).k,
      (JSON.parse(sealedBefore) as Envelope).k,
    );
    assert.equal(
      opened(await readWith(new SessionCipher({ keys: [newKey] }), sealedAfter, SID)),
      JSON_TEXT,
    );
    assert.equal(unreadableReason(await readWith(before, sealedAfter, SID)), "unknown-key");
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
      assert.equal(unreadableReason(await readWith(cipher, row, SID)), "tampered", row);
    }
  });

  it("reads a malformed sealed row as unreadable, never throwing", async () => {
    const envelope = JSON.parse(await cipher.seal(JSON_TEXT, SID)) as Envelope;
    const rows: unknown[] = [
      '{"$kms":1,"k":',
      `{"$kms":1}`,
      { ...envelope, $kms: 3 },
      { ...envelope, iv: "short" },
      { ...envelope, iv: `${envelope.iv}!` },
      { ...envelope, ct: "AAAA" }, // shorter than a tag
      { ...envelope, ct: "é".repeat(40) },
      { ...envelope, ct: "A" }, // not base64 of whole bytes
      { ...envelope, k: 7 },
      { ...envelope, ct: ["x"] },
    ];
    for (const row of rows) {
      const result = await readWith(cipher, row, SID);
      assert.equal(unreadableReason(result), "malformed", JSON.stringify(row));
    }
  });

  it("binds a sealed row to its session id (AAD): copied to another id it does not open", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    for (const other of ["s:abc124", "S:ABC123", `${SID} `, ""]) {
      assert.equal(unreadableReason(await readWith(cipher, sealed, other)), "tampered", other);
    }
  });

  it("binds a sealed row to its owner (user_id): moved to another owner or erased, it does not open", async () => {
    const alice = "hash-of-alice";
    const sealed = await cipher.seal(JSON_TEXT, SID, alice);
    assert.equal(opened(await readWith(cipher, sealed, SID, alice)), JSON_TEXT);
    for (const other of ["hash-of-bob", null, ""]) {
      assert.equal(
        unreadableReason(await readWith(cipher, sealed, SID, other)),
        "tampered",
        String(other),
      );
    }
    // Nor does a session without an owner open once one is set on its row.
    const ownerless = await cipher.seal(JSON_TEXT, SID);
    assert.equal(opened(await readWith(cipher, ownerless, SID, null)), JSON_TEXT);
    assert.equal(unreadableReason(await readWith(cipher, ownerless, SID, alice)), "tampered");
  });

  it("still opens a row sealed before owners were (format 1: bound to its session id only)", async () => {
    const raw = randomKey();
    const legacy = new SessionCipher({ keys: [raw] });
    const { k } = JSON.parse(await legacy.seal("{}", SID)) as Envelope;
    const key = await globalThis.crypto.subtle.importKey(
      "raw",
      new Uint8Array(raw),
      "AES-GCM",
      false,
      [
        "encrypt",
      ],
    );
    const iv = globalThis.crypto.getRandomValues(new Uint8Array(12));
    const ct = new Uint8Array(
      await globalThis.crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(SID) },
        key,
        new TextEncoder().encode(JSON_TEXT),
      ),
    );
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
    const formatOne = { $kms: 1, k, iv: b64(iv), ct: b64(ct) };
    assert.equal(opened(await readWith(legacy, formatOne, SID, "any-owner")), JSON_TEXT);
    assert.equal(unreadableReason(await readWith(legacy, formatOne, "s:other")), "tampered");
  });

  it("does not open a row sealed with a different key that claims the same key id", async () => {
    const sealed = JSON.parse(
      await new SessionCipher({ keys: [randomKey()] }).seal(
        JSON_TEXT,
        SID,
      ),
    ) as Envelope;
    const ourId = (JSON.parse(await cipher.seal("{}", SID)) as Envelope).k;
    const result = await readWith(cipher, { ...sealed, k: ourId }, SID);
    assert.equal(unreadableReason(result), "tampered");
  });

  it("passes plain rows through unchanged while acceptPlaintextUntil is ahead", async () => {
    const migrating = new SessionCipher({ keys: [key], acceptPlaintextUntil: Date.now() + DAY });
    const parsed = JSON.parse(JSON_TEXT);
    assert.equal(opened(await readWith(migrating, JSON_TEXT, SID)), JSON_TEXT);
    assert.equal(opened(await readWith(migrating, parsed, SID)), JSON_TEXT);
    const withMarkerLater = '{"cookie":{},"note":"{\\"$kms\\":1}"}';
    assert.equal(opened(await readWith(migrating, withMarkerLater, SID)), withMarkerLater);
  });

  it("reads a sealed row without the cipher as no session, never as its envelope", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    for (const stored of [sealed, JSON.parse(sealed)]) {
      assert.equal(unreadableReason(await readWith(undefined, stored)), "unknown-key");
    }
  });

  it("refuses plain rows by default, and says that no window was given", async () => {
    assert.equal(cipher.acceptsPlaintext(), false);
    const forged = JSON.stringify({ cookie: {}, role: "admin" });
    for (const stored of [JSON_TEXT, JSON.parse(JSON_TEXT), forged]) {
      const result = await readWith(cipher, stored, SID);
      assert.equal(unreadableReason(result), "plaintext");
      const { message } = result.reports[0] as Unreadable;
      assert.match(message, /unencrypted session data, and plain rows are refused/);
      assert.match(message, /no encryption\.acceptPlaintextUntil was given/);
      assert.match(message, /set encryption\.acceptPlaintextUntil to a date one session lifetime/);
      assert.ok(!message.includes("admin") && !message.includes("zoë"), message);
    }
    const sealed = await cipher.seal(JSON_TEXT, SID);
    assert.equal(opened(await readWith(cipher, sealed, SID)), JSON_TEXT);
  });

  it("refuses plain rows once acceptPlaintextUntil has passed, saying when it ended", async () => {
    const ended = new Date(Date.now() - 1000);
    const closed = new SessionCipher({ keys: [key], acceptPlaintextUntil: ended });
    assert.equal(closed.acceptsPlaintext(), false);
    const result = await readWith(closed, JSON_TEXT, SID);
    assert.equal(unreadableReason(result), "plaintext");
    const { message } = result.reports[0] as Unreadable;
    assert.ok(
      message.includes(
        `the window for reading plain rows (encryption.acceptPlaintextUntil) ended at ${ended.toISOString()}`,
      ),
      message,
    );
    assert.match(message, /set a later date .* to open a new window/);
    assert.equal(opened(await readWith(closed, await closed.seal(JSON_TEXT, SID), SID)), JSON_TEXT);
  });

  it("accepts plain rows before the instant of acceptPlaintextUntil, and from it on refuses them", () => {
    const until = Date.now() + 10 * DAY;
    const migrating = new SessionCipher({ keys: [key], acceptPlaintextUntil: until });
    assert.equal(at(until - 10 * DAY, () => migrating.acceptsPlaintext()), true);
    assert.equal(at(until - 1, () => migrating.acceptsPlaintext()), true);
    assert.equal(at(until, () => migrating.acceptsPlaintext()), false);
    assert.equal(at(until + 1, () => migrating.acceptsPlaintext()), false);
    assert.equal(at(until + 365 * DAY, () => migrating.acceptsPlaintext()), false);
  });

  it("says why a row is unreadable without key material or session contents", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    const results = [
      await readWith(cipher, flipByte(sealed, "ct", 3), SID),
      await readWith(new SessionCipher({ keys: [randomKey()] }), sealed, SID),
    ];
    for (const result of results) {
      assert.equal(result.session, null);
      const { message } = result.reports[0] as Unreadable;
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
      assert.equal(valid?.acceptPlaintextUntil, undefined);
    }
    assert.equal(validateEncryptionOptions(undefined), undefined);
  });

  it("accepts every one of 10,000 random keys in each form", () => {
    const forms: [string, (bytes: Uint8Array) => string | Uint8Array][] = [
      ["Uint8Array", (bytes) => bytes],
      ["hex", hex],
      ["upper-case hex", (bytes) => hex(bytes).toUpperCase()],
      ["base64", base64],
      ["base64url", base64url],
    ];
    for (const [name, form] of forms) {
      for (let i = 0; i < 10_000; i++) {
        const bytes = randomKey();
        const valid = validateEncryptionOptions({ keys: [form(bytes)] });
        assert.deepEqual(valid?.keys[0], bytes, `${name} #${i}`);
      }
    }
  });

  it("keeps its own copy of a key", () => {
    const bytes = randomKey();
    const valid = validateEncryptionOptions({ keys: [bytes] });
    const copy = Uint8Array.from(bytes);
    bytes.fill(0);
    assert.deepEqual(valid?.keys[0], copy);
  });

  it("takes acceptPlaintextUntil as a Date, ISO 8601 text or milliseconds, into one instant", () => {
    // Midnight UTC, 30 days ahead.
    const midnight = (Math.floor(Date.now() / DAY) + 30) * DAY;
    const day = new Date(midnight).toISOString().slice(0, 10);
    const forms = [
      new Date(midnight),
      midnight,
      new Date(midnight).toISOString(),
      day,
      `${day}T00:00Z`,
      `${day}T00:00:00.000Z`,
      `${day}T02:00:00+02:00`,
    ];
    for (const form of forms) {
      const valid = validateEncryptionOptions({ keys: [key], acceptPlaintextUntil: form });
      assert.equal(valid?.acceptPlaintextUntil?.getTime(), midnight, String(form));
    }
    const beforeOffset = validateEncryptionOptions({
      keys: [key],
      acceptPlaintextUntil: `${day}T00:00-05:30`,
    });
    assert.equal(beforeOffset?.acceptPlaintextUntil?.getTime(), midnight + 5.5 * 3_600_000);
    // A window that has already ended is valid: plain rows are refused, as without one.
    for (const past of ["2020-01-01", new Date(Date.now() - 1), 1_600_000_000_000]) {
      const valid = validateEncryptionOptions({ keys: [key], acceptPlaintextUntil: past });
      assert.ok((valid?.acceptPlaintextUntil?.getTime() as number) < Date.now(), String(past));
    }
    // Up to 90 days after the store starts.
    const latest = Date.now() + 90 * DAY - 60_000;
    assert.equal(
      validateEncryptionOptions({ keys: [key], acceptPlaintextUntil: latest })
        ?.acceptPlaintextUntil?.getTime(),
      latest,
    );
  });

  const secretLooking = "S3cr3tPassphrase-do-not-log";
  const passphrase = "correcthorsebatterystaplecorrecthorsebatter";
  const asciiPassword = "a 32-character password, as text";
  const period16 = randomKey().subarray(0, 16);
  /** Weak keys in every form, at index 1 after a good key, and the rule each must fail. */
  const weakKeys: [string | Uint8Array, RegExp][] = [
    [new Uint8Array(32), /it is all zero bytes/],
    ["0".repeat(64), /it is all zero bytes/],
    ["A".repeat(43), /it is all zero bytes/],
    [`${"A".repeat(43)}=`, /it is all zero bytes/],
    [new Uint8Array(32).fill(0xa7), /it is one byte value repeated 32 times/],
    ["a7".repeat(32), /it is one byte value repeated 32 times/],
    ["deadbeef".repeat(8), /it repeats a pattern of 4 bytes/],
    [Uint8Array.from([...period16, ...period16]), /it repeats a pattern of 16 bytes/],
    [base64(Uint8Array.from([...period16, ...period16])), /it repeats a pattern of 16 bytes/],
    [Uint8Array.from({ length: 32 }, (_, i) => i), /it counts up or down/],
    [hex(Uint8Array.from({ length: 32 }, (_, i) => 255 - 3 * i)), /it counts up or down/],
    [base64url(Uint8Array.from({ length: 32 }, (_, i) => 200 + 5 * i)), /it counts up or down/],
    [new TextEncoder().encode(asciiPassword), /it is 32 characters of text, not random bytes/],
    [hex(new TextEncoder().encode(asciiPassword)), /it is 32 characters of text/],
    [base64(new TextEncoder().encode(asciiPassword)), /it is 32 characters of text/],
    [randomKey().map((byte) => byte & 7), /it has only \d distinct byte values/],
    [
      // Random decimal digits: 64 of them miss one of the ten about once in a hundred runs.
      Array.from(globalThis.crypto.getRandomValues(new Uint8Array(64)), (b) => b % 10).join(""),
      /it uses only (10|9|8) of the 16 hex digits/,
    ],
    [passphrase, /it uses only 12 distinct characters/],
    [`${passphrase}=`, /it uses only 12 distinct characters/],
    ["correct-horse-battery-staple-correct-horses", /it uses only 13 distinct characters/],
    ["thequickbrownfoxjumpsoverthelazydogandcatsx", /it has letters of one case only/],
    ["THEQUICKBROWNFOXJUMPSOVERTHELAZYDOGANDCATSX", /it has letters of one case only/],
  ];

  it("refuses weak keys in every form, naming the field and the rule", () => {
    for (const [weak, rule] of weakKeys) {
      assert.throws(() => validateEncryptionOptions({ keys: [key, weak] }), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assert.match(
          error.message,
          /^knex-mysql-session: option "encryption\.keys\[1\]" is not a random key: /,
        );
        assert.match(error.message, rule);
        assert.match(error.message, /probability below 1e-9/);
        assert.match(error.message, /`openssl rand -base64 32`, `openssl rand -hex 32` or/);
        return true;
      }, String(weak));
      assert.throws(() => new SessionCipher({ keys: [weak] }), TypeError, String(weak));
    }
  });

  const badOptions: [unknown, RegExp][] = [
    [null, /option "encryption" must be an object \{ keys: \[\.\.\.\] \} \(got null\)/],
    ["k".repeat(44), /option "encryption" must be an object .*\(got a string/],
    [[key], /option "encryption" must be an object .*\(got an array\)/],
    [{}, /option "encryption\.keys" must be a non-empty array .*\(got undefined\)/],
    [{ keys: [] }, /option "encryption\.keys" must be a non-empty array .*\(got an empty array\)/],
    [{ keys: key }, /option "encryption\.keys" must be a non-empty array .*Uint8Array of 32/],
    [
      { keys: [key], key },
      /unknown option "encryption\.key" \(accepted: keys, acceptPlaintextUntil\)/,
    ],
    [
      { keys: [key], acceptPlaintext: true },
      /option "encryption\.acceptPlaintext" was removed: plain rows are now refused by default\. To read rows written before encryption was enabled for a while, set encryption\.acceptPlaintextUntil to a date one session lifetime ahead \(at most 90 days\)/,
    ],
    [
      { keys: [key], acceptPlaintext: false },
      /option "encryption\.acceptPlaintext" was removed: plain rows are now refused by default, so leave it out/,
    ],
    [
      { keys: [key], acceptPlaintext: "no" },
      /"encryption\.acceptPlaintext" was removed: .*acceptPlaintextUntil/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: "2026-02-30" },
      /option "encryption\.acceptPlaintextUntil" is not a valid date and time \(got "2026-02-30"\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: "2026-01-01T25:00Z" },
      /"encryption\.acceptPlaintextUntil" is not a valid date and time \(got "2026-01-01T25:00Z"\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: "next tuesday" },
      /option "encryption\.acceptPlaintextUntil" must be a Date, an ISO 8601 string .* \(got "next tuesday"\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: "2026-01-01T10:00" },
      /"encryption\.acceptPlaintextUntil" must end in Z or an offset such as \+02:00 when it gives a time: .*local time zone .*\(got "2026-01-01T10:00"\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: new Date(Number.NaN) },
      /"encryption\.acceptPlaintextUntil" is an invalid Date \(got Invalid Date\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: Number.NaN },
      /"encryption\.acceptPlaintextUntil" must be a Date, .*\(got NaN\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: 1_754_006_400 },
      /"encryption\.acceptPlaintextUntil" must be milliseconds since the epoch, .*\(got 1754006400, which is 1970-01-21T07:13:26\.400Z: seconds instead of milliseconds\?\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: null },
      /"encryption\.acceptPlaintextUntil" must be a Date, .*\(got null\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: true },
      /"encryption\.acceptPlaintextUntil" must be a Date, .*\(got a boolean\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: new Date(Date.now() + 91 * DAY) },
      /option "encryption\.acceptPlaintextUntil" must be at most 90 days after the store starts \(\d{4}-.*Z\): while it is open, anyone who can write the table can plant a plain session.*\(got \d{4}-\d\d-\d\dT.*Z\)/,
    ],
    [
      { keys: [key], acceptPlaintextUntil: "2999-01-01" },
      /"encryption\.acceptPlaintextUntil" must be at most 90 days .*\(got 2999-01-01T00:00:00\.000Z\)/,
    ],
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
    ...weakKeys.map(([weak, rule]): [unknown, RegExp] => [{ keys: [key, weak] }, rule]),
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
    const secrets = [
      secretLooking,
      hex(key),
      base64(key),
      hex(key).slice(2),
      String(key),
      ...weakKeys.flatMap(([weak]) =>
        typeof weak === "string" ? [weak] : [String(weak), hex(weak), base64(weak)]
      ),
      asciiPassword,
    ];
    let checked = 0;
    for (const [value] of badOptions) {
      try {
        validateEncryptionOptions(value);
      } catch (error) {
        checked++;
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
    assert.equal(checked, badOptions.length);
  });
});
