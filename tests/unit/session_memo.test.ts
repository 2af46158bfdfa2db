// SessionMemo, the store's memory of what it last read or wrote for recent sessions: which
// touches may be skipped, which must be sent as a save (a cookie settings change), and that it
// stays bounded. The store's use of it against a server is in tests/store.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import session from "express-session";
import { SessionMemo } from "../../src/session_memo.ts";
import { prng } from "../helpers/prng.ts";

/** A second boundary, in ms since the epoch, well inside DATETIME's range. */
const T = Date.UTC(2030, 0, 1);
const HOUR = 3_600_000;

/** A cookie as express-session stores it (its toJSON's fields). */
function cookie(fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    originalMaxAge: HOUR,
    expires: new Date(T + HOUR).toISOString(),
    secure: false,
    httpOnly: true,
    path: "/",
    ...fields,
  };
}

describe("SessionMemo.touchWouldKeep", () => {
  it("is false for a session it never saw", () => {
    const memo = new SessionMemo();
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 0), false);
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 60_000), false);
  });

  it("is true when the touch would store the same second, false for another second", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR + 100, cookie());
    assert.equal(memo.touchWouldKeep("a", T + HOUR + 999, 0), true); // the same whole second
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 0), true);
    assert.equal(memo.touchWouldKeep("a", T + HOUR + 1_000, 0), false); // the next second
    assert.equal(memo.touchWouldKeep("a", T + HOUR - 1, 0), false); // the second before
  });

  it("with touchAfter, keeps a touch less than touchAfter after the stored expiry", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    assert.equal(memo.touchWouldKeep("a", T + HOUR + 59_999, 60_000), true);
    assert.equal(memo.touchWouldKeep("a", T + HOUR + 60_000, 60_000), false);
    assert.equal(memo.touchWouldKeep("a", T + HOUR + 120_000, 60_000), false);
  });

  it("touched() moves the expiry it compares with; for an unknown session it remembers nothing", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    memo.touched("a", T + 2 * HOUR);
    assert.equal(memo.touchWouldKeep("a", T + 2 * HOUR + 500, 0), true);
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 0), false);
    // A touch to an earlier expiry leaves the later one in the row (GREATEST), and here.
    memo.touched("a", T + HOUR);
    assert.equal(memo.touchWouldKeep("a", T + 2 * HOUR, 0), true);

    memo.touched("b", T + HOUR);
    assert.equal(memo.touchWouldKeep("b", T + HOUR, 0), false);
    assert.equal(memo.cookieChanged("b", cookie({ secure: true }), T), false);
  });

  it("forget() and clear() forget sessions", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    memo.remember("b", T + HOUR, cookie());
    memo.remember("c", T + HOUR, cookie());
    memo.forget("a");
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 0), false);
    assert.equal(memo.cookieChanged("a", cookie({ secure: true }), T), false);
    assert.equal(memo.touchWouldKeep("b", T + HOUR, 0), true);
    memo.clear();
    assert.equal(memo.touchWouldKeep("b", T + HOUR, 0), false);
    assert.equal(memo.touchWouldKeep("c", T + HOUR, 0), false);
    assert.equal(memo.cookieChanged("c", cookie({ secure: true }), T), false);
  });
});

describe("SessionMemo.cookieChanged", () => {
  it("is false for an unchanged cookie whose expiry moved (what every touch does)", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    const touched = cookie({ expires: new Date(T + 2 * HOUR).toISOString() });
    assert.equal(memo.cookieChanged("a", touched, T), false);
    assert.equal(
      memo.cookieChanged("a", { ...touched, expires: new Date(T + 3 * HOUR) }, T),
      false,
    );
  });

  it("is true when a setting but the expiry changed (secure, sameSite, domain, a new key)", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    assert.equal(memo.cookieChanged("a", cookie({ secure: true }), T), true);
    assert.equal(memo.cookieChanged("a", cookie({ sameSite: "strict" }), T), true);
    assert.equal(memo.cookieChanged("a", cookie({ domain: "example.com" }), T), true);
    assert.equal(memo.cookieChanged("a", cookie({ path: "/app" }), T), true);
    const { httpOnly: _, ...withoutHttpOnly } = cookie();
    assert.equal(memo.cookieChanged("a", withoutHttpOnly, T), true);
  });

  it("compares an express-session Cookie with the stored copy of it, as JSON does", () => {
    const memo = new SessionMemo();
    // Read back from the row: what JSON kept of the saved Cookie (no undefined fields).
    memo.remember("a", T + HOUR, { originalMaxAge: HOUR, httpOnly: true, path: "/" });
    const live = new session.Cookie(); // httpOnly, path "/", its other settings undefined
    live.maxAge = HOUR;
    assert.equal(memo.cookieChanged("a", live, T), false);
    live.secure = true;
    assert.equal(memo.cookieChanged("a", live, T), true);
    // A Date setting compares by its JSON text; a value JSON drops is no setting.
    memo.remember("b", T + HOUR, { originalMaxAge: HOUR, since: new Date(T).toJSON() });
    const dated = { originalMaxAge: HOUR, since: new Date(T), dropped: undefined, f: () => 1 };
    assert.equal(memo.cookieChanged("b", dated, T), false);
    assert.equal(memo.cookieChanged("b", { ...dated, since: new Date(T + 1) }, T), true);
  });

  it("ignores the order of the cookie's keys (MySQL's JSON column reorders them)", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, {
      secure: true,
      path: "/",
      originalMaxAge: HOUR,
      sameSite: "lax",
    });
    const reordered = { sameSite: "lax", originalMaxAge: HOUR, path: "/", secure: true };
    assert.equal(memo.cookieChanged("a", reordered, T), false);
  });

  it("tolerates up to a second of drift in originalMaxAge, not more", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: HOUR - 1 }), T), false);
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: HOUR + 1 }), T), false);
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: HOUR - 1_000 }), T), false);
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: HOUR + 1_000 }), T), false);
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: HOUR - 1_001 }), T), true);
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: HOUR + 1_001 }), T), true);
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: 2 * HOUR }), T), true);
  });

  it("a browser-session cookie (originalMaxAge null) differs from one with a maxAge", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie({ originalMaxAge: null, expires: null }));
    assert.equal(
      memo.cookieChanged("a", cookie({ originalMaxAge: null, expires: null }), T),
      false,
    );
    assert.equal(memo.cookieChanged("a", cookie({ originalMaxAge: 0 }), T), true);
    assert.equal(memo.cookieChanged("a", cookie(), T), true);

    memo.remember("b", T + HOUR, cookie());
    assert.equal(memo.cookieChanged("b", cookie({ originalMaxAge: null, expires: null }), T), true);
  });

  it("compares the cookie as its toJSON gives it", () => {
    class Cookie {
      #maxAge: number;
      constructor(maxAge: number) {
        this.#maxAge = maxAge;
      }
      toJSON() {
        return { originalMaxAge: this.#maxAge, path: "/", httpOnly: true };
      }
    }
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, new Cookie(HOUR));
    assert.equal(memo.cookieChanged("a", new Cookie(HOUR), T), false);
    assert.equal(
      memo.cookieChanged("a", { originalMaxAge: HOUR, path: "/", httpOnly: true }, T),
      false,
    );
    assert.equal(memo.cookieChanged("a", new Cookie(2 * HOUR), T), true);
  });

  it("is false for a session that expired: a touch of it is sent as a touch", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    const changed = cookie({ secure: true });
    assert.equal(memo.cookieChanged("a", changed, T + HOUR - 1_000), true);
    assert.equal(memo.cookieChanged("a", changed, T + HOUR), false);
    assert.equal(memo.cookieChanged("a", changed, T + 2 * HOUR), false);
  });

  it("compares with the stored expiry in whole seconds", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR + 900, cookie()); // stored as T + HOUR
    assert.equal(memo.cookieChanged("a", cookie({ secure: true }), T + HOUR + 100), false);
  });

  it("is false when it remembered no cookie settings (no cookie, or one JSON refuses)", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, undefined);
    assert.equal(memo.cookieChanged("a", cookie(), T), false);
    memo.remember("b", T + HOUR, { originalMaxAge: HOUR, big: 1n });
    assert.equal(memo.cookieChanged("b", cookie(), T), false);
    // It still remembers their expiry.
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 0), true);
    assert.equal(memo.touchWouldKeep("b", T + HOUR, 0), true);
  });

  it("touched() keeps the cookie settings last read or written", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    memo.touched("a", T + 2 * HOUR);
    assert.equal(memo.cookieChanged("a", cookie(), T + HOUR + 1_000), false);
    assert.equal(memo.cookieChanged("a", cookie({ secure: true }), T + HOUR + 1_000), true);
  });

  it("remember() replaces the cookie settings: a save's change is no longer a change", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    memo.remember("a", T + HOUR, cookie({ secure: true, originalMaxAge: 2 * HOUR }));
    assert.equal(
      memo.cookieChanged("a", cookie({ secure: true, originalMaxAge: 2 * HOUR }), T),
      false,
    );
    assert.equal(memo.cookieChanged("a", cookie(), T), true);
  });
});

describe("SessionMemo.remember keeps a copy of the cookie", () => {
  it("a touch carrying a change of the read cookie's settings is a change; its expiry alone is not", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    assert.equal(
      memo.cookieChanged("a", cookie({ expires: "2030-01-01T05:00:00.000Z" }), T),
      false,
    );
    assert.equal(memo.cookieChanged("a", cookie({ sameSite: "strict" }), T), true);
    assert.equal(memo.touchWouldKeep("a", T + HOUR, 0), true);
  });

  it("keeps the settings as read, even when the caller changes the cookie it got", () => {
    const memo = new SessionMemo();
    const got = cookie();
    memo.remember("a", T + HOUR, got);
    got.originalMaxAge = 2 * HOUR; // the app changed the session it read, then touches it
    assert.equal(memo.cookieChanged("a", got, T), true);
  });

  it("a session read again with the same cookie keeps a copy the caller cannot change", () => {
    const memo = new SessionMemo();
    memo.remember("a", T + HOUR, cookie());
    const again = cookie({ expires: new Date(T + 2 * HOUR).toISOString() });
    memo.remember("a", T + 2 * HOUR, again);
    again.secure = true;
    assert.equal(memo.cookieChanged("a", again, T), true);
    assert.equal(memo.cookieChanged("a", cookie(), T), false);
    assert.equal(memo.touchWouldKeep("a", T + 2 * HOUR, 0), true, "the new expiry is kept");
  });

  it("a session read again with a setting more or fewer remembers the cookie read last", () => {
    const more = new SessionMemo();
    more.remember("a", T + HOUR, cookie());
    more.remember("a", T + HOUR, cookie({ sameSite: "lax" }));
    assert.equal(more.cookieChanged("a", cookie({ sameSite: "lax" }), T), false);
    assert.equal(more.cookieChanged("a", cookie(), T), true);
    const fewer = new SessionMemo();
    fewer.remember("a", T + HOUR, cookie({ sameSite: "lax" }));
    fewer.remember("a", T + HOUR, cookie());
    assert.equal(fewer.cookieChanged("a", cookie(), T), false);
    assert.equal(fewer.cookieChanged("a", cookie({ sameSite: "lax" }), T), true);
  });
});

describe("SessionMemo's capacity", () => {
  const known = (memo: SessionMemo, sid: string) => memo.touchWouldKeep(sid, T + HOUR, 0);

  it("forgets the oldest session beyond its capacity", () => {
    const memo = new SessionMemo(3);
    for (const sid of ["a", "b", "c", "d"]) memo.remember(sid, T + HOUR, cookie());
    assert.deepEqual(["a", "b", "c", "d"].map((sid) => known(memo, sid)), [
      false,
      true,
      true,
      true,
    ]);
    memo.remember("e", T + HOUR, cookie());
    assert.deepEqual(
      ["a", "b", "c", "d", "e"].map((sid) => known(memo, sid)),
      [false, false, true, true, true],
    );
  });

  it("forgets the least recently seen: remember() and touched() make a session recent again", () => {
    const memo = new SessionMemo(3);
    for (const sid of ["a", "b", "c"]) memo.remember(sid, T + HOUR, cookie());
    memo.remember("a", T + HOUR, cookie()); // order now b, c, a
    memo.touched("b", T + HOUR); // order now c, a, b
    memo.remember("d", T + HOUR, cookie()); // c goes
    assert.deepEqual(
      ["a", "b", "c", "d"].map((sid) => known(memo, sid)),
      [true, true, false, true],
    );
  });

  it("a session seen again in the newer half keeps its place, with what was seen last", () => {
    const memo = new SessionMemo(4);
    for (const sid of ["a", "b", "c", "d"]) memo.remember(sid, T + HOUR, cookie());
    memo.remember("c", T + 2 * HOUR, cookie()); // c and d are the newer half: c stays third
    assert.equal(memo.touchWouldKeep("c", T + 2 * HOUR, 0), true);
    assert.equal(memo.touchWouldKeep("c", T + HOUR, 0), false);
    memo.remember("e", T + HOUR, cookie()); // a goes
    memo.remember("f", T + HOUR, cookie()); // b goes
    assert.equal(memo.touchWouldKeep("c", T + 2 * HOUR, 0), true);
    memo.remember("g", T + HOUR, cookie()); // c goes, not d: it was not moved
    assert.equal(memo.touchWouldKeep("c", T + 2 * HOUR, 0), false);
    assert.deepEqual(["d", "e", "f", "g"].map((sid) => known(memo, sid)), [true, true, true, true]);
  });

  it("a forgotten session frees its place", () => {
    const memo = new SessionMemo(2);
    memo.remember("a", T + HOUR, cookie());
    memo.remember("b", T + HOUR, cookie());
    memo.forget("b");
    memo.remember("c", T + HOUR, cookie());
    assert.deepEqual(["a", "b", "c"].map((sid) => known(memo, sid)), [true, false, true]);
  });

  it("forgets in the order of a plain list through any mix of reads, touches, forgets and clears", () => {
    // The memo keeps its entries' age in a list of its own, apart from its Map, which is rebuilt
    // many times over here (8 places, 20 ids coming and going): the model is an array, oldest
    // first, with the memo's rule that only an entry in the older half moves to the newest end.
    const capacity = 8;
    const memo = new SessionMemo(capacity);
    const ids = Array.from({ length: 20 }, (_, i) => `s${i}`);
    const order: string[] = [];
    const inserted = new Map<string, number>();
    let insertions = 0;
    const seen = (sid: string, isNew: boolean) => {
      if (!isNew && insertions - (inserted.get(sid) as number) < capacity / 2) return;
      if (!isNew) order.splice(order.indexOf(sid), 1);
      order.push(sid);
      inserted.set(sid, ++insertions);
      if (order.length > capacity) inserted.delete(order.shift() as string);
    };
    const random = prng(2463534242);
    for (let step = 0; step < 20_000; step++) {
      const sid = random.pick(ids);
      const action = random.int(100);
      if (action < 60) {
        memo.remember(sid, T + HOUR, cookie());
        seen(sid, !inserted.has(sid));
      } else if (action < 80) {
        memo.touched(sid, T + HOUR);
        if (inserted.has(sid)) seen(sid, false);
      } else if (action < 99) {
        memo.forget(sid);
        if (inserted.delete(sid)) order.splice(order.indexOf(sid), 1);
      } else {
        memo.clear();
        order.length = 0;
        inserted.clear();
      }
      assert.deepEqual(
        ids.filter((id) => known(memo, id)),
        ids.filter((id) => inserted.has(id)),
        `step ${step}`,
      );
    }
  });

  it("remembers 10,000 sessions by default", () => {
    const memo = new SessionMemo();
    for (let i = 0; i <= 10_000; i++) memo.remember(`s${i}`, T + HOUR, undefined);
    assert.equal(known(memo, "s0"), false);
    assert.equal(known(memo, "s1"), true);
    assert.equal(known(memo, "s10000"), true);
  });
});
