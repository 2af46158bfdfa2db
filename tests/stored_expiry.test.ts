// A read gives the session as it stands: a touch moves the row's expiry, and get, all and
// sessionsOf return the cookie's `expires` from the row, so an app reading
// req.session.cookie.maxAge sees the time left, not the time left at the last save (MemoryStore
// moves both; connect-mongo #351 and connect-redis #412 are the same complaint).
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { SessionData } from "express-session";
import { appStore } from "./helpers/app_account.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase("stored_expiry");
});
after(() => db.drop());

const expiresOf = (session: SessionData | null | undefined) =>
  new Date((session?.cookie as { expires?: string | Date } | undefined)?.expires ?? NaN)
    .getTime();

it("a touched session reads back with its new cookie.expires, through get, all and sessionsOf", async () => {
  await closing(async (defer) => {
    const store = await appStore(db, { userId: (session) => (session as { who?: string }).who });
    defer(() => store.close());
    const saved = sessionFor({ who: "ann" }, 60_000);
    await store.set("touched", saved);
    await store.set("untouched", sessionFor({ who: "bob" }, 60_000));
    // A session saved and read back keeps its cookie to the millisecond.
    assert.equal(expiresOf(await store.get("untouched")), expiresOf(await store.get("untouched")));
    const read = await store.get("touched");
    assert.equal(expiresOf(read), expiresOf(saved));

    // express-session touches with the cookie pushed 45 s further.
    const later = sessionFor({ who: "ann" }, 60_000, 105_000);
    await store.touch("touched", later);
    const expected = Math.floor(expiresOf(later) / 1000) * 1000; // the row holds whole seconds
    const touched = await store.get("touched");
    assert.equal(expiresOf(touched), expected);
    assert.equal((touched?.cookie as { originalMaxAge?: number }).originalMaxAge, 60_000);
    const listed = (await store.all() as (SessionData & { id: string })[])
      .find((session) => session.id === "touched");
    assert.equal(expiresOf(listed), expected);
    const [owned] = await store.sessionsOf("ann");
    assert.equal(owned?.expires.getTime(), expected);
    assert.equal(expiresOf(owned?.session), expected);
  });
});
