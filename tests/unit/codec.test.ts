// The checks every write goes through before it reaches the server: the session id, the
// session and its JSON, and the packet size. The same inputs against a server are in
// tests/bad_input.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkPacketSize, checkSession, checkSid, encodeSession } from "../../src/codec.ts";
import { PREFIX, SessionStoreError, type SessionStoreErrorCode } from "../../src/errors.ts";

/** An assert.rejects/throws matcher: a SessionStoreError with `code` whose message matches. */
function storeError(code: SessionStoreErrorCode, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof SessionStoreError, `not a SessionStoreError: ${error}`);
    assert.equal(error.name, "SessionStoreError");
    assert.equal(error.code, code);
    assert.ok(error.message.startsWith(PREFIX), error.message);
    assert.match(error.message, message);
    return true;
  };
}

const EMOJI = "\u{1F600}"; // one code point, two UTF-16 units, four bytes of UTF-8

describe("checkSid", () => {
  it("accepts non-empty, well-formed strings of up to 255 code points", () => {
    for (
      const sid of [
        "a",
        "abcDEF-_.0123456789",
        "x".repeat(255),
        `é€${EMOJI}`,
        EMOJI.repeat(255), // 510 UTF-16 units
        "x".repeat(254) + EMOJI, // 256 UTF-16 units
        " ",
      ]
    ) {
      assert.doesNotThrow(() => checkSid(sid), `sid of length ${sid.length}`);
    }
  });

  it("refuses what is not a string, saying what it got", () => {
    const cases: [unknown, RegExp][] = [
      [undefined, /got undefined/],
      [null, /got object/],
      [42, /got number/],
      [{}, /got object/],
      [["sid"], /got object/],
      [Symbol("sid"), /got symbol/],
      [new String("sid"), /got object/],
    ];
    for (const [sid, got] of cases) {
      assert.throws(() => checkSid(sid), storeError("ERR_INVALID_SID", /non-empty string/));
      assert.throws(() => checkSid(sid), storeError("ERR_INVALID_SID", got));
    }
  });

  it("refuses the empty string", () => {
    assert.throws(
      () => checkSid(""),
      storeError("ERR_INVALID_SID", /non-empty string \(got an empty string\)/),
    );
  });

  it("refuses more than 255 code points, counting code points, not UTF-16 units", () => {
    assert.throws(
      () => checkSid("x".repeat(256)),
      storeError("ERR_INVALID_SID", /at most 255 characters \(got 256\)/),
    );
    assert.throws(
      () => checkSid(EMOJI.repeat(256)),
      storeError("ERR_INVALID_SID", /at most 255 characters \(got 256\)/),
    );
    assert.throws(
      () => checkSid("x".repeat(255) + EMOJI),
      storeError("ERR_INVALID_SID", /at most 255 characters \(got 256\)/),
    );
  });

  it("refuses a lone surrogate, which the server would store as U+FFFD", () => {
    for (
      const sid of [
        "\uD800",
        "\uDFFF",
        "abc\uD83D",
        "\uDE00abc",
        "a\uD83Db",
        "\uDE00\uD83D", // a pair in the wrong order
        "x".repeat(254) + "\uD83D",
        EMOJI.repeat(100) + "\uDC00",
      ]
    ) {
      assert.throws(
        () => checkSid(sid),
        storeError("ERR_INVALID_SID", /well-formed Unicode.*lone surrogate/),
        JSON.stringify(sid),
      );
    }
  });
});

describe("checkSession", () => {
  it("accepts objects", () => {
    class Session {
      cookie = { originalMaxAge: 1000 };
    }
    for (const session of [{}, { cookie: {}, user: 1 }, Object.create(null), new Session()]) {
      assert.doesNotThrow(() => checkSession(session));
    }
  });

  it("refuses what is not an object, saying what it got", () => {
    const cases: [unknown, RegExp][] = [
      [null, /got null/],
      [undefined, /got undefined/],
      [[], /got an array/],
      [[{ cookie: {} }], /got an array/],
      ["{}", /got string/],
      [1, /got number/],
      [true, /got boolean/],
      [() => ({}), /got function/],
      [1n, /got bigint/],
    ];
    for (const [session, got] of cases) {
      assert.throws(
        () => checkSession(session),
        storeError("ERR_INVALID_SESSION", /a session must be an object/),
      );
      assert.throws(() => checkSession(session), storeError("ERR_INVALID_SESSION", got));
    }
  });
});

describe("encodeSession", () => {
  it("gives the session's JSON", () => {
    const session = {
      cookie: { originalMaxAge: 3_600_000, expires: new Date(Date.UTC(2030, 0, 1)), path: "/" },
      user: { id: 7, name: `Zoë ${EMOJI}` },
      list: [1, "two", null],
      dropped: undefined,
    };
    const json = encodeSession(session);
    assert.equal(json, JSON.stringify(session));
    assert.deepEqual(JSON.parse(json), {
      cookie: { originalMaxAge: 3_600_000, expires: "2030-01-01T00:00:00.000Z", path: "/" },
      user: { id: 7, name: `Zoë ${EMOJI}` },
      list: [1, "two", null],
    });
    assert.equal(encodeSession({}), "{}");
  });

  it("escapes a lone surrogate in the session, so its JSON is well-formed", () => {
    const json = encodeSession({ text: "a\uD800b" });
    assert.equal(json, '{"text":"a\\ud800b"}');
    assert.ok(json.isWellFormed());
  });

  it("refuses what is not an object, as checkSession does", () => {
    assert.throws(() => encodeSession(null), storeError("ERR_INVALID_SESSION", /got null/));
    assert.throws(() => encodeSession([]), storeError("ERR_INVALID_SESSION", /got an array/));
    assert.throws(() => encodeSession("{}"), storeError("ERR_INVALID_SESSION", /got string/));
  });

  it("refuses a session with a cycle, keeping JSON's error as the cause", () => {
    const session: Record<string, unknown> = { cookie: {} };
    session.self = session;
    assert.throws(
      () => encodeSession(session),
      (error) => {
        // V8 says "circular", JavaScriptCore (Bun) "cyclic".
        storeError("ERR_INVALID_SESSION", /cannot be stored as JSON: .*(circular|cyclic)/i)(error);
        const { cause, message } = error as SessionStoreError;
        assert.ok(cause instanceof TypeError);
        assert.ok(message.includes(cause.message), message);
        return true;
      },
    );
  });

  it("refuses a session holding a BigInt", () => {
    assert.throws(
      () => encodeSession({ cookie: {}, count: 10n }),
      (error) => {
        storeError("ERR_INVALID_SESSION", /cannot be stored as JSON: .*BigInt/i)(error);
        assert.ok((error as SessionStoreError).cause instanceof TypeError);
        return true;
      },
    );
  });

  it("refuses a session whose toJSON throws, whatever it throws", () => {
    assert.throws(
      () =>
        encodeSession({
          toJSON() {
            throw "no JSON for you";
          },
        }),
      (error) => {
        storeError("ERR_INVALID_SESSION", /cannot be stored as JSON: no JSON for you$/)(error);
        assert.equal((error as SessionStoreError).cause, "no JSON for you");
        return true;
      },
    );
    const failure = new RangeError("bad value");
    assert.throws(
      () =>
        encodeSession({
          nested: {
            toJSON: () => {
              throw failure;
            },
          },
        }),
      (error) => {
        storeError("ERR_INVALID_SESSION", /cannot be stored as JSON: bad value$/)(error);
        assert.equal((error as SessionStoreError).cause, failure);
        return true;
      },
    );
  });

  it("refuses a session whose toJSON gives no JSON value, instead of storing nothing", () => {
    assert.throws(
      () => encodeSession({ toJSON: () => undefined }),
      storeError("ERR_INVALID_SESSION", /its toJSON\(\) returned no JSON value/),
    );
  });
});

describe("checkPacketSize", () => {
  /** 1024 bytes of room for the CALL's header and other parameters. */
  const OVERHEAD = 1024;

  it("accepts a write that fits, up to exactly max_allowed_packet", () => {
    assert.equal(checkPacketSize("{}", "sid", 64 << 20), undefined);
    const json = "x".repeat(2_000);
    assert.doesNotThrow(() => checkPacketSize(json, "s", 2_000 + 1 + OVERHEAD));
    assert.doesNotThrow(() => checkPacketSize(json, "s", 2_000 + 1 + OVERHEAD + 1));
  });

  it("refuses a write one byte over, naming the session, the sizes and the fix", () => {
    assert.throws(
      () => checkPacketSize("x".repeat(2_000), "s", 2_000 + 1 + OVERHEAD - 1),
      storeError(
        "ERR_SESSION_TOO_LARGE",
        /^knex-mysql-session: session "s" is 3025 bytes as JSON, more than the server's max_allowed_packet \(3024 bytes\): store less in the session or raise max_allowed_packet$/,
      ),
    );
  });

  it("counts the session id too, in UTF-8", () => {
    const json = "x".repeat(2_000);
    const sid = "é".repeat(100); // 200 bytes
    assert.doesNotThrow(() => checkPacketSize(json, sid, 2_000 + 200 + OVERHEAD));
    assert.throws(
      () => checkPacketSize(json, sid, 2_000 + 200 + OVERHEAD - 1),
      storeError("ERR_SESSION_TOO_LARGE", /is 3224 bytes/),
    );
  });

  it("shows the session id as JSON in the message", () => {
    assert.throws(
      () => checkPacketSize("x".repeat(10), 'a"b', 10),
      storeError("ERR_SESSION_TOO_LARGE", /session "a\\"b" is 1037 bytes/),
    );
  });

  it("counts bytes of UTF-8, not UTF-16 units: 2, 3 and 4 bytes a character", () => {
    const cases: [string, number][] = [
      ["é".repeat(1_000), 2_000], // U+00E9: 2 bytes, 1 unit
      ["€".repeat(1_000), 3_000], // U+20AC: 3 bytes, 1 unit
      [EMOJI.repeat(1_000), 4_000], // 4 bytes, 2 units
      ["\u07FF\u0800\uFFFF\u007F", 2 + 3 + 3 + 1],
      [`a${EMOJI}é€`, 1 + 4 + 2 + 3],
    ];
    for (const [json, bytes] of cases) {
      const exact = bytes + 1 + OVERHEAD;
      assert.doesNotThrow(() => checkPacketSize(json, "s", exact), `${bytes} bytes`);
      assert.throws(
        () => checkPacketSize(json, "s", exact - 1),
        storeError("ERR_SESSION_TOO_LARGE", new RegExp(` is ${exact} bytes as JSON`)),
      );
    }
  });

  it("counts a lone surrogate as the 3 bytes of the U+FFFD the server would get", () => {
    const exact = 3 + 3 + 1 + 1 + OVERHEAD; // "\uD800" "\uDC00" "x" and the sid "s"
    assert.doesNotThrow(() => checkPacketSize("\uDC00\uD800x", "s", exact));
    assert.throws(() => checkPacketSize("\uDC00\uD800x", "s", exact - 1), /is 1032 bytes/);
    assert.doesNotThrow(() => checkPacketSize("x\uD800", "s", 1 + 3 + 1 + OVERHEAD));
    assert.throws(() => checkPacketSize("x\uD800", "s", 1 + 3 + 1 + OVERHEAD - 1));
  });

  it("a session's JSON too big for a small server is refused, one that fits is not", () => {
    const json = encodeSession({ cookie: {}, data: "€".repeat(400_000) });
    assert.throws(
      () => checkPacketSize(json, "sid", 1 << 20),
      storeError("ERR_SESSION_TOO_LARGE", /more than the server's max_allowed_packet \(1048576/),
    );
    assert.doesNotThrow(() => checkPacketSize(json, "sid", 4 << 20));
  });
});
