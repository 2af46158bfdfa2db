// A store with `encryption` against the real database: no plaintext stored, rotation across
// stores, tampered, moved and forged rows, the plaintext window, replay. SessionCipher and the
// options on their own are in tests/unit/encryption.test.ts.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KnexMySQLStore, type UnreadableEvent } from "../mod.ts";
import { procedureName } from "../src/sql.ts";
import { appAccount, appStore } from "./helpers/app_account.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import {
  base64,
  DAY,
  type Envelope,
  flipByte,
  hex,
  isSealed,
  randomKey,
} from "./helpers/encryption.ts";
import { sessionFor } from "./helpers/sessions.ts";

describe("a store with encryption", () => {
  let database: TestDatabase;
  let table: string;
  const stores: KnexMySQLStore[] = [];
  const [k1, k2] = [randomKey(), randomKey()];
  const MARKER = "plaintext-marker-5f3a";

  /** A store on the shared table, and the `unreadable` events it emits. */
  const open = async (encryption?: object) => {
    const store = await appStore(database, {
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
    // REPLACE: over a destroyed session's marker too, as whoever can write the table can.
    await database.admin.raw(
      `REPLACE INTO \`${table}\` (sid, sess, expired) VALUES (?, ?, ?)`,
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
    const store = await appStore(database, {
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
    const quiet = await appStore(database, {
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
    const store = await appStore(database, {
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
  // destroyed it, and it opens; removing its key from `keys` is what ends that. The app account,
  // which may only CALL the procedures, cannot: the logout's marker stays.
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
    // ... but not by someone who may only CALL the procedures (the app account): the save
    // does not write over the logout's marker.
    await store.destroy("x-replay");
    const [routines] = await database.admin.raw(
      "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " +
        "DATABASE() AND ROUTINE_TYPE = 'PROCEDURE'",
    );
    const setProcedure = (routines as { name: string }[]).map(({ name }) => name)
      .find((name) => name === procedureName(table, "set"));
    assert.ok(setProcedure, `no set procedure for ${table}`);
    // sid, sess, expired, no owner.
    const app = await appAccount(database, { table });
    await app.knex().raw(`CALL \`${setProcedure}\`(?, ?, ?, NULL)`, [
      "x-replay",
      oldSess,
      saved.expired,
    ]);
    assert.equal(await store.get("x-replay"), null);
    await insertRow("x-replay", oldSess);

    // Rotation keeps it open while the old key is listed; once it is removed, it is refused.
    const rotating = await open({ keys: [k2, k1] });
    assert.equal(await valueOf(rotating.store, "x-replay"), "admin, before the demotion");
    const rotated = await open({ keys: [k2] });
    assert.equal(await rotated.store.get("x-replay"), null);
    assert.deepEqual(rotated.unreadable.map(({ sid, reason }) => [sid, reason]), [
      ["x-replay", "unknown-key"],
    ]);
  });

  // Options are checked before any connection: root's knex is never used here.
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
