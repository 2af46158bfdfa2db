// Encryption at rest: SessionCipher on its own (round trip, rotation, tamper, AAD, plaintext
// rows and their time box, key validation and weak keys), then a store with `encryption`
// against the real database (forged plain rows, the plaintext window, replay).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KnexMySQLStore, type UnreadableEvent } from "../mod.ts";
import { procedureName } from "../src/sql.ts";
import { isSealedEnvelope, SessionCipher, validateEncryptionOptions } from "../src/encryption.ts";
import { SessionReader, type Unreadable } from "../src/session_reader.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

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

function base64url(bytes: Uint8Array): string {
  return base64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=$/, "");
}

const DAY = 86_400_000;

/** Runs `body` with Date.now() returning `now`: the clock, not the database, is pinned. */
function at<T>(now: number, body: () => T): T {
  const realNow = Date.now;
  Date.now = () => now;
  try {
    return body();
  } finally {
    Date.now = realNow;
  }
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
): Promise<ReadResult> {
  const reports: Unreadable[] = [];
  const session = await new SessionReader(cipher, (report) => reports.push(report)).read(
    stored,
    sid,
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

/** Whether stored text (MariaDB's, or MySQL's with its keys reordered) is a sealed envelope. */
function isSealed(text: string): boolean {
  return isSealedEnvelope(JSON.parse(text));
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

  it("round-trips session JSON, as MariaDB's text and as MySQL's reordered JSON", async () => {
    const sealed = await cipher.seal(JSON_TEXT, SID);
    const envelope = JSON.parse(sealed) as Envelope;
    // MySQL's binary JSON returns keys shortest first, and its text form has spaces.
    const reordered = { k: envelope.k, ct: envelope.ct, iv: envelope.iv, $kms: envelope.$kms };
    const mysqlText = `{"k": "${envelope.k}", "ct": "${envelope.ct}", "iv": "${envelope.iv}", ` +
      `"$kms": 1}`;
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
    assert.equal(envelope.$kms, 1);
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
      Array.from(globalThis.crypto.getRandomValues(new Uint8Array(64)), (b) => b % 10).join(""),
      /it uses only 10 of the 16 hex digits/,
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

// The store with `encryption`, against the real database.
describe("a store with encryption", () => {
  let database: TestDatabase;
  let table: string;
  const stores: KnexMySQLStore[] = [];
  const [k1, k2] = [randomKey(), randomKey()];
  const MARKER = "plaintext-marker-5f3a";

  /** A store on the shared table, and the `unreadable` events it emits. */
  const open = async (encryption?: object) => {
    const store = new KnexMySQLStore({
      knex: database.admin,
      tablename: table,
      disableDbCleanup: true,
      ...(encryption ? { encryption } : {}),
    } as never);
    stores.push(store);
    const unreadable: UnreadableEvent[] = [];
    store.on("unreadable", (event: UnreadableEvent) => unreadable.push(event));
    await store.ready;
    return { store, unreadable };
  };
  const storedSess = async (sid: string): Promise<string> => {
    const [rows] = await database.admin.raw(`SELECT sess FROM \`${table}\` WHERE sid = ?`, [sid]);
    const sess = rows[0]?.sess;
    return typeof sess === "string" ? sess : JSON.stringify(sess);
  };
  /** Writes a row straight into the table, as someone with INSERT on it could. */
  const insertRow = async (sid: string, sess: string) => {
    const expired = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19).replace("T", " ");
    await database.admin.raw(
      `INSERT INTO \`${table}\` (sid, sess, expired) VALUES (?, ?, ?)`,
      [sid, sess, expired],
    );
  };
  const keyIdOf = async (sid: string) => (JSON.parse(await storedSess(sid)) as Envelope).k;
  const valueOf = async (store: KnexMySQLStore, sid: string) =>
    (await store.get(sid) as unknown as { v: unknown } | null)?.v;

  before(async () => {
    database = await createTestDatabase("encryption");
    table = tableName();
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await database.drop();
  });

  it("stores no plaintext: the sess column holds only the sealed envelope", async () => {
    const { store } = await open({ keys: [k1] });
    await store.set("s-plain", sessionFor({ secret: MARKER, note: "zoë 😀" }));
    const sess = await storedSess("s-plain");
    assert.ok(!sess.includes(MARKER) && !sess.includes("zoë"), sess);
    assert.ok(!sess.includes("originalMaxAge"), sess);
    assert.ok(isSealed(sess), sess);
    assert.equal((await store.get("s-plain") as unknown as { secret: string }).secret, MARKER);
    const [[{ valid }]] = await database.admin.raw(
      `SELECT JSON_VALID(sess) AS valid FROM \`${table}\` WHERE sid = ?`,
      ["s-plain"],
    );
    assert.equal(Number(valid), 1);
  });

  it("rotates across stores: new writes use the new key, old rows still open", async () => {
    const before = await open({ keys: [k1] });
    const after = await open({ keys: [k2, k1] });
    const only2 = await open({ keys: [k2] });
    await before.store.set("r-old", sessionFor({ v: "old" }));
    await after.store.set("r-new", sessionFor({ v: "new" }));
    const newId = await keyIdOf("r-new");
    assert.notEqual(await keyIdOf("r-old"), newId);
    assert.equal(await valueOf(after.store, "r-old"), "old");
    assert.equal(await valueOf(after.store, "r-new"), "new");
    // A store that lost the old key reads the old row as no session, and says why.
    assert.equal(await only2.store.get("r-old"), null);
    assert.deepEqual(only2.unreadable.map(({ sid, reason }) => [sid, reason]), [
      ["r-old", "unknown-key"],
    ]);
    // Rewriting re-seals with the new key.
    await after.store.set("r-old", sessionFor({ v: "old, rewritten" }));
    assert.equal(await keyIdOf("r-old"), newId);
    assert.equal(await valueOf(only2.store, "r-old"), "old, rewritten");
    // The old store knows nothing of the new key.
    assert.equal(await before.store.get("r-new"), null);
    assert.deepEqual(before.unreadable.map(({ reason }) => reason), ["unknown-key"]);
  });

  it("reads tampered and moved rows as no session, reports them, and all() skips them", async () => {
    const { store, unreadable } = await open({ keys: [k1] });
    for (const [v, sid] of ["t-flip", "t-source", "t-target", "t-fine"].entries()) {
      await store.set(sid, sessionFor({ v }));
    }
    await database.admin.raw(`UPDATE \`${table}\` SET sess = ? WHERE sid = ?`, [
      flipByte(await storedSess("t-flip"), "ct", 5),
      "t-flip",
    ]);
    // A sealed payload copied onto another session id does not open there (AAD = sid).
    await database.admin.raw(`UPDATE \`${table}\` SET sess = ? WHERE sid = ?`, [
      await storedSess("t-source"),
      "t-target",
    ]);
    assert.equal(await store.get("t-flip"), null);
    assert.equal(await store.get("t-target"), null);
    assert.equal(await valueOf(store, "t-source"), 1);
    const ids = (await store.all()).map((session) => session.id).sort();
    assert.deepEqual(ids.filter((id) => id.startsWith("t-")), ["t-fine", "t-source"]);
    assert.deepEqual(
      unreadable.map(({ sid, reason }) => `${sid} ${reason}`).filter((s) => s.startsWith("t-"))
        .sort(),
      ["t-flip tampered", "t-flip tampered", "t-target tampered", "t-target tampered"],
    );
    for (const { message } of unreadable) {
      for (const secret of [hex(k1), base64(k1), MARKER]) {
        assert.ok(!message.includes(secret), message);
      }
    }
  });

  it("without an unreadable listener, reports through warning", async () => {
    const store = new KnexMySQLStore({
      knex: database.admin,
      tablename: table,
      disableDbCleanup: true,
      encryption: { keys: [k2] },
    });
    stores.push(store);
    const warnings: string[] = [];
    store.on("warning", (message: string) => warnings.push(message));
    await store.set("w-1", sessionFor({ v: 1 }));
    await database.admin.raw(`UPDATE \`${table}\` SET sess = ? WHERE sid = ?`, [
      flipByte(await storedSess("w-1"), "iv", 0),
      "w-1",
    ]);
    assert.equal(await store.get("w-1"), null);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] as string, /cannot be read: it failed authentication/);
  });

  it("refuses a forged plain row by default, in get and all, and says no window was given", async () => {
    const { store, unreadable } = await open({ keys: [k1] });
    await insertRow("f-forged", JSON.stringify({ cookie: { path: "/" }, role: "admin" }));
    await store.set("f-real", sessionFor({ v: "real" }));
    assert.equal(await store.get("f-forged"), null);
    const ids = (await store.all()).map((session) => session.id);
    assert.ok(ids.includes("f-real") && !ids.includes("f-forged"), ids.join());
    const reports = unreadable.filter(({ sid }) => sid === "f-forged");
    assert.deepEqual(reports.map(({ reason }) => reason), ["plaintext", "plaintext"]);
    for (const { message } of reports) {
      assert.match(
        message,
        /^the stored session cannot be read: it holds unencrypted session data, and plain rows are refused: no encryption\.acceptPlaintextUntil was given\. To read rows written before encryption was enabled .*set encryption\.acceptPlaintextUntil to a date one session lifetime ahead/,
      );
      assert.ok(!message.includes("admin"), message);
    }
  });

  it("refuses plain rows once acceptPlaintextUntil has passed, saying when", async () => {
    const ended = new Date(Date.now() - 60_000);
    const { store, unreadable } = await open({ keys: [k1], acceptPlaintextUntil: ended });
    await insertRow("e-plain", JSON.stringify({ cookie: { path: "/" }, v: "plain" }));
    assert.equal(await store.get("e-plain"), null);
    assert.deepEqual(unreadable.map(({ sid, reason }) => [sid, reason]), [[
      "e-plain",
      "plaintext",
    ]]);
    assert.ok(
      unreadable[0]?.message.includes(
        `the window for reading plain rows (encryption.acceptPlaintextUntil) ended at ${ended.toISOString()}`,
      ),
      unreadable[0]?.message,
    );
    // Without an unreadable listener, the same text goes to warning.
    const quiet = new KnexMySQLStore({
      knex: database.admin,
      tablename: table,
      disableDbCleanup: true,
      encryption: { keys: [k1], acceptPlaintextUntil: ended.toISOString() },
    });
    stores.push(quiet);
    const warnings: string[] = [];
    quiet.on("warning", (message: string) => warnings.push(message));
    assert.equal(await quiet.get("e-plain"), null);
    assert.deepEqual(warnings.filter((warning) => warning.includes("e-plain")), [
      `session "e-plain": ${unreadable[0]?.message}`,
    ]);
    // At start-up, the store says the window is over and the option can go.
    assert.ok(
      warnings.includes(
        `encryption.acceptPlaintextUntil ended at ${ended.toISOString()}: plain rows are ` +
          "refused; remove the option",
      ),
      warnings.join("\n"),
    );
  });

  it("says at start-up until when plain rows read as sessions", async () => {
    const until = new Date(Date.now() + DAY);
    const store = new KnexMySQLStore({
      knex: database.admin,
      tablename: table,
      disableDbCleanup: true,
      encryption: { keys: [k1], acceptPlaintextUntil: until },
    });
    stores.push(store);
    const warnings: string[] = [];
    store.on("warning", (message: string) => warnings.push(message));
    await store.ready;
    assert.deepEqual(warnings, [
      `encryption.acceptPlaintextUntil: rows of plain session JSON read as sessions until ` +
      `${until.toISOString()} (each is sealed when next saved); remove the option once they are`,
    ]);
  });

  it("reads plain rows while acceptPlaintextUntil is ahead, and seals them on the next save", async () => {
    const plain = await open();
    const migrating = await open({ keys: [k1], acceptPlaintextUntil: Date.now() + DAY });
    const strict = await open({ keys: [k1] });
    await plain.store.set("p-old", sessionFor({ v: "plain" }));
    assert.ok(!isSealed(await storedSess("p-old")));
    assert.equal(await valueOf(migrating.store, "p-old"), "plain");
    assert.equal(await strict.store.get("p-old"), null);
    assert.deepEqual(strict.unreadable.map(({ reason }) => reason), ["plaintext"]);
    // A touch only moves the expiry: the row stays plain until the session is saved.
    await migrating.store.touch("p-old", sessionFor({ v: "plain" }, 60_000, 120_000));
    assert.ok(!isSealed(await storedSess("p-old")));
    await migrating.store.set("p-old", sessionFor({ v: "sealed now" }));
    assert.ok(isSealed(await storedSess("p-old")));
    assert.equal(await valueOf(strict.store, "p-old"), "sealed now");
    assert.equal(await valueOf(migrating.store, "p-old"), "sealed now");
    // A store without keys does not hand out the envelope as a session.
    assert.equal(await plain.store.get("p-old"), null);
    assert.deepEqual(plain.unreadable.map(({ sid }) => sid), ["p-old"]);
  });

  // The documented limit (operations.md, "Encryption threat model"): whoever can write the
  // table can put back an older sealed row of the same session id, even after a logout
  // destroyed it, and it opens; removing its key from `keys` is what ends that.
  it("opens a sealed row put back for the same session id, until its key is removed", async () => {
    const { store } = await open({ keys: [k1] });
    await store.set("x-replay", sessionFor({ v: "admin, before the demotion" }));
    const [[saved]] = await database.admin.raw(
      `SELECT sess, expired FROM \`${table}\` WHERE sid = ?`,
      ["x-replay"],
    );
    const oldSess = typeof saved.sess === "string" ? saved.sess : JSON.stringify(saved.sess);
    await store.set("x-replay", sessionFor({ v: "user" }));
    await store.destroy("x-replay"); // the logout
    assert.equal(await store.get("x-replay"), null);

    // Put back by someone with INSERT on the table...
    await insertRow("x-replay", oldSess);
    assert.equal(await valueOf(store, "x-replay"), "admin, before the demotion");
    // ... or by someone who may only CALL the procedures, as the app account can.
    await store.destroy("x-replay");
    const [routines] = await database.admin.raw(
      "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " +
        "DATABASE() AND ROUTINE_TYPE = 'PROCEDURE'",
    );
    const setProcedure = (routines as { name: string }[]).map(({ name }) => name)
      .find((name) => name === procedureName(table, "set"));
    assert.ok(setProcedure, `no set procedure for ${table}`);
    // sid, sess, expired, no owner, and the upsert (not a session the caller has seen).
    await database.admin.raw(`CALL \`${setProcedure}\`(?, ?, ?, NULL, 0)`, [
      "x-replay",
      oldSess,
      saved.expired,
    ]);
    assert.equal(await valueOf(store, "x-replay"), "admin, before the demotion");

    // Rotation keeps it open while the old key is listed; once it is removed, it is refused.
    const rotating = await open({ keys: [k2, k1] });
    assert.equal(await valueOf(rotating.store, "x-replay"), "admin, before the demotion");
    const rotated = await open({ keys: [k2] });
    assert.equal(await rotated.store.get("x-replay"), null);
    assert.deepEqual(rotated.unreadable.map(({ sid, reason }) => [sid, reason]), [
      ["x-replay", "unknown-key"],
    ]);
  });

  it("rejects bad keys with a TypeError that shows no key material", () => {
    const secret = "not-a-key-but-secret-looking";
    assert.throws(
      () => new KnexMySQLStore({ knex: database.admin, encryption: { keys: [secret] } }),
      (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /"encryption\.keys\[0\]" must be 32 bytes/);
        assert.ok(!error.message.includes(secret), error.message);
        return true;
      },
    );
    const phrase = "correcthorsebatterystaplecorrecthorsebatter";
    for (const weak of [new Uint8Array(32), "0".repeat(64), phrase]) {
      assert.throws(
        () => new KnexMySQLStore({ knex: database.admin, encryption: { keys: [k1, weak] } }),
        (error: unknown) => {
          assert.ok(error instanceof TypeError);
          assert.match(error.message, /"encryption\.keys\[1\]" is not a random key: it /);
          assert.match(error.message, /openssl rand -base64 32/);
          assert.ok(!error.message.includes(phrase.slice(0, 16)), error.message);
          assert.ok(!error.message.includes("0".repeat(16)), error.message);
          return true;
        },
      );
    }
  });

  it("refuses the removed acceptPlaintext option, saying what replaces it", () => {
    for (const acceptPlaintext of [true, false]) {
      assert.throws(
        () =>
          new KnexMySQLStore({
            knex: database.admin,
            encryption: { keys: [k1], acceptPlaintext } as never,
          }),
        /option "encryption\.acceptPlaintext" was removed: plain rows are now refused by default/,
      );
    }
  });
});
