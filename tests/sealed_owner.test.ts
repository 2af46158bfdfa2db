// With encryption, a session is sealed with its owner (the keyed hash in `user_id`) as part of
// the authenticated data: an attacker who can write the table but holds no key cannot move a
// session to another user (sessionsOf would list it, decrypted, for that user) or erase its
// owner (destroyUser would miss it). Either makes the row unreadable (`tampered`), on both
// servers, through every read.
import assert from "node:assert/strict";
import { after, before, it } from "node:test";
import type { UnreadableEvent } from "../mod.ts";
import { appStore } from "./helpers/app_account.ts";
import { closing } from "./helpers/closing.ts";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";
import { randomKey } from "./helpers/encryption.ts";
import { sessionFor } from "./helpers/sessions.ts";

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase("sealed_owner");
});
after(() => db.drop());

it("a moved or erased owner makes a sealed session unreadable (tampered) and unlisted", async () => {
  await closing(async (defer) => {
    const store = await appStore(db, {
      encryption: { keys: [randomKey()] },
      userId: (session) => (session as { user?: string }).user,
    });
    defer(() => store.close());
    const unreadable: UnreadableEvent[] = [];
    store.on("unreadable", (event) => unreadable.push(event));
    await store.set("alice-phone", sessionFor({ user: "alice", secret: "a" }));
    await store.set("bob-laptop", sessionFor({ user: "bob", secret: "b" }));
    const ownerOf = async (sid: string) =>
      ((await db.admin("sessions").where({ sid }).select("user_id"))[0] as { user_id: string })
        .user_id;
    const alice = await ownerOf("alice-phone");

    // Root (or anyone who can write the table) moves bob's session to alice.
    await db.admin("sessions").where({ sid: "bob-laptop" }).update({ user_id: alice });
    assert.deepEqual((await store.sessionsOf("alice")).map((s) => s.id), ["alice-phone"]);
    assert.equal(await store.get("bob-laptop"), null);
    assert.deepEqual(
      (await store.all()).map((session) => (session as { id: string }).id),
      ["alice-phone"],
    );
    assert.ok(unreadable.length >= 2);
    assert.ok(unreadable.every((event) => event.sid === "bob-laptop"));
    assert.ok(unreadable.every((event) => event.reason === "tampered"));

    // Erased: hidden from destroyUser("bob"), and unreadable too.
    unreadable.length = 0;
    await db.admin("sessions").where({ sid: "bob-laptop" }).update({ user_id: null });
    assert.equal(await store.get("bob-laptop"), null);
    assert.deepEqual(unreadable.map((event) => event.reason), ["tampered"]);

    // Put back, it opens again: the binding is to the owner, nothing else was touched.
    await db.admin("sessions").where({ sid: "bob-laptop" }).update({
      user_id: (await store.sessionsOf("bob")).length === 0 ? await bobHash() : null,
    });
    assert.equal(((await store.get("bob-laptop")) as { secret?: string } | null)?.secret, "b");

    async function bobHash(): Promise<string> {
      // bob's hash as the store writes it: save a session of bob's and read its user_id.
      await store.set("bob-probe", sessionFor({ user: "bob" }));
      const hash = await ownerOf("bob-probe");
      await store.destroy("bob-probe");
      return hash;
    }
  });
});
