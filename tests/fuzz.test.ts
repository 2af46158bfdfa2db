// Hostile input against the real database: random and malicious session ids and sessions,
// checked against a model of what the table must hold. A seeded PRNG makes a failure
// reproducible: FUZZ_SEED=<seed printed with the failure> reruns the same operations;
// FUZZ_ROUNDS sets how many (default 400).
import assert from "node:assert/strict";
import process from "node:process";
import { inspect } from "node:util";
import { after, before, describe, it } from "node:test";
import type { Knex } from "knex";
import type { SessionData } from "express-session";
import { type KnexMySQLStore, SessionStoreError, type UnreadableEvent } from "../mod.ts";
import { type AppAccount, appAccount, appStore } from "./helpers/app_account.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { prng, type Random } from "./helpers/prng.ts";

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32));
const ROUNDS = Number(process.env.FUZZ_ROUNDS ?? 400);
/** Operations run at once, each on a different sid. */
const PARALLEL = 6;
/** MariaDB's JSON_VALID (the `sess` column's CHECK) refuses 32 or more levels of nesting. */
const SERVER_JSON_DEPTH = 32;

/** Runs `body`; a failure says which seed reproduces it. */
async function withSeed(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\n  (reproduce with FUZZ_SEED=${SEED} FUZZ_ROUNDS=${ROUNDS})`;
    }
    throw error;
  }
}

// Pieces that have broken SQL, JSON or Unicode handling somewhere.
const HOSTILE_PIECES = [
  "'",
  '"',
  "\\",
  "\\'",
  "''",
  ";",
  "--",
  "-- ",
  "#",
  "/*",
  "*/",
  "/*!50000 DROP TABLE x */",
  "`",
  "%",
  "_",
  "\0",
  "\b",
  "\t",
  "\n",
  "\r",
  "\x1a",
  "\x7f",
  " ",
  "\u00a0",
  "\u0085",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\ufffd",
  "\uffff",
  "😀",
  "👩‍👩‍👧",
  "é",
  "e\u0301",
  "ß",
  "İ",
  "ﬀ",
  "𝔘",
  "' OR '1'='1",
  "'; DROP TABLE sessions; --",
  "\\\\'; CALL x(); #",
  "NULL",
  "0x27",
  "${x}",
  "{{table}}",
  "?",
  "a",
  "A",
  "0",
];
const LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"];

function hostileText(random: Random, maxPieces: number): string {
  let text = "";
  const pieces = 1 + random.int(maxPieces);
  for (let i = 0; i < pieces; i++) {
    switch (random.int(4)) {
      case 0: // a random byte as a character (Latin-1 and control characters)
        text += String.fromCharCode(random.int(256));
        break;
      case 1: // any UTF-16 unit, lone surrogates included
        text += String.fromCharCode(random.int(0x10000));
        break;
      case 2: // any code point
        text += String.fromCodePoint(random.int(0x110000));
        break;
      default:
        text += random.pick(HOSTILE_PIECES);
    }
  }
  return text;
}

/** Variants of a sid that a lax comparison, truncation or normalisation would confuse with it. */
function variantOf(random: Random, sid: string): string {
  switch (random.int(8)) {
    case 0:
      return sid.toUpperCase() === sid ? sid.toLowerCase() : sid.toUpperCase();
    case 1:
      return `${sid} `;
    case 2:
      return `${sid}\0`;
    case 3:
      return sid.normalize(random.pick(["NFC", "NFD", "NFKC", "NFKD"]));
    case 4:
      return sid.slice(0, -1) || `${sid}${sid}`;
    case 5:
      return `${sid}${"x".repeat(random.int(300))}`;
    case 6:
      return ` ${sid}`;
    default:
      return sid.replace(/./u, (char) => char === "a" ? "b" : "a");
  }
}

function randomSid(random: Random, known: readonly string[]): unknown {
  const roll = random.int(100);
  if (known.length > 0 && roll < 30) return random.pick(known);
  if (known.length > 0 && roll < 50) return variantOf(random, random.pick(known));
  if (roll < 53) return random.pick([undefined, null, 42, {}, [], "", Symbol("sid"), true, 1n]);
  if (roll < 58) {
    // Around the 255-character limit, in code points that take 1, 2 and 4 bytes.
    const unit = random.pick(["x", "é", "😀", "'"]);
    return unit.repeat(random.pick([254, 255, 256, 1000]));
  }
  if (roll < 60) return "x".repeat(random.pick([100_000, 1_000_000]));
  if (roll < 63) return `s:${random.pick(LONE_SURROGATES)}${random.int(1e6)}`;
  return hostileText(random, 12);
}

/** Like the store's rule, written independently: what a sid must be to be accepted. */
function sidIsValid(sid: unknown): sid is string {
  return typeof sid === "string" && sid.length > 0 && sid.isWellFormed() &&
    Array.from(sid).length <= 255;
}

/** A value nested `depth` levels deep. */
function nested(depth: number, random: Random): unknown {
  let value: unknown = hostileText(random, 3);
  for (let level = 0; level < depth; level++) {
    value = random.int(2) === 0 ? [value] : { [hostileText(random, 2)]: value };
  }
  return value;
}

/** How deeply `value` nests (a scalar is 0) and whether it holds ill-formed UTF-16. */
function shape(value: unknown): { depth: number; illFormed: boolean } {
  if (typeof value === "string") return { depth: 0, illFormed: !value.isWellFormed() };
  if (typeof value !== "object" || value === null) return { depth: 0, illFormed: false };
  let depth = 0;
  let illFormed = false;
  for (const [key, child] of Object.entries(value)) {
    const inner = shape(child);
    depth = Math.max(depth, inner.depth);
    illFormed ||= inner.illFormed || !key.isWellFormed();
  }
  return { depth: depth + 1, illFormed };
}

/**
 * What must happen to a write of `session`: "invalid" must fail (no JSON object);
 * "server-limit" may fail (MariaDB's JSON refuses deep nesting and lone surrogates, which
 * JSON.stringify writes as \\udXXXX escapes); "valid" must succeed.
 */
function expectedOutcome(session: unknown): "valid" | "server-limit" | "invalid" {
  if (typeof session !== "object" || session === null || Array.isArray(session)) return "invalid";
  let json: string;
  try {
    json = JSON.stringify(session);
  } catch {
    return "invalid";
  }
  const { depth, illFormed } = shape(JSON.parse(json));
  return depth >= SERVER_JSON_DEPTH || illFormed ? "server-limit" : "valid";
}

function randomSession(random: Random, sid: string, write: number): unknown {
  const cookie = {
    originalMaxAge: 3_600_000,
    expires: new Date(Date.now() + 3_600_000).toISOString(),
    httpOnly: true,
    path: "/",
  };
  // Who wrote it: a session read under another sid is caught by comparing these too.
  const base = { cookie, written: { sid, write } };
  switch (random.int(12)) {
    case 0:
      return { ...base, deep: nested(1 + random.int(40), random) };
    case 1:
      return { ...base, list: Array.from({ length: random.pick([1000, 100_000]) }, (_, i) => i) };
    case 2:
      return {
        ...base,
        ...JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}'),
      };
    case 3:
      return { ...base, text: `a${random.pick(LONE_SURROGATES)}b` };
    case 4:
      return { ...base, big: hostileText(random, 4).repeat(20_000) };
    case 5: {
      const circular: Record<string, unknown> = { ...base };
      circular.self = circular;
      return random.pick([
        circular,
        { ...base, n: 1n },
        null,
        [base],
        "session",
        42,
        {
          ...base,
          toJSON() {
            throw new Error("no");
          },
        },
        {
          ...base,
          toJSON() {
            throw new TypeError("no");
          },
        },
        {
          ...base,
          cookie: {
            ...cookie,
            get expires(): string {
              throw new TypeError("no expiry here");
            },
          },
        },
      ]);
    }
    default: {
      const data: Record<string, unknown> = { ...base };
      for (let i = random.int(6); i > 0; i--) data[hostileText(random, 4)] = hostileText(random, 8);
      data.written = base.written; // a random key must not hide it
      return data;
    }
  }
}

/**
 * Whether a rejection is one the store documents: a SessionStoreError. (TypeError is for bad
 * options, in the constructor; an operation's bad input must not surface as one.)
 */
function isCleanFailure(error: unknown): boolean {
  return error instanceof SessionStoreError;
}

/** The definitions of everything in the database, to prove that no input changed them. */
async function schemaSnapshot(admin: Knex, database: string): Promise<unknown> {
  const query = async (sql: string) => (await admin.raw(sql, [database]))[0];
  const tables = await query(
    "SELECT TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? " +
      "ORDER BY TABLE_NAME",
  ) as { name: string }[];
  const createTables = [];
  for (const { name } of tables) {
    const [rows] = await admin.raw(`SHOW CREATE TABLE \`${name}\``);
    createTables.push(rows[0]);
  }
  return {
    createTables,
    columns: await query(
      "SELECT TABLE_NAME, COLUMN_NAME, ORDINAL_POSITION, COLUMN_DEFAULT, IS_NULLABLE, " +
        "COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, COLUMN_KEY, EXTRA " +
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY 1, 3",
    ),
    routines: await query(
      "SELECT ROUTINE_NAME, ROUTINE_TYPE, ROUTINE_DEFINITION, SECURITY_TYPE, SQL_MODE, " +
        "DEFINER, CREATED, LAST_ALTERED FROM information_schema.ROUTINES " +
        "WHERE ROUTINE_SCHEMA = ? ORDER BY 1",
    ),
    parameters: await query(
      "SELECT SPECIFIC_NAME, ORDINAL_POSITION, PARAMETER_MODE, PARAMETER_NAME, DTD_IDENTIFIER " +
        "FROM information_schema.PARAMETERS WHERE SPECIFIC_SCHEMA = ? ORDER BY 1, 2",
    ),
    triggers: await query(
      "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?",
    ),
    views: await query("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?"),
    events: await query("SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?"),
  };
}

/** Every row of a table, for comparing before and after. */
async function tableRows(admin: Knex, table: string): Promise<unknown[]> {
  const [rows] = await admin.raw(
    `SELECT sid, sess, expired FROM \`${table}\` ORDER BY CAST(sid AS BINARY)`,
  );
  return rows;
}

describe(`fuzzing ids and sessions (FUZZ_SEED=${SEED})`, () => {
  let database: TestDatabase;
  let store: KnexMySQLStore;
  let sealedStore: KnexMySQLStore;
  let bystander: KnexMySQLStore;
  let table: string;
  let bystanderTable: string;
  let app: AppAccount;
  /** The app account's knex that the stores on `table` share. */
  let knex: Knex;
  const processFaults: unknown[] = [];
  const onFault = (error: unknown) => processFaults.push(error);

  before(async () => {
    process.on("unhandledRejection", onFault);
    process.on("uncaughtException", onFault);
    database = await createTestDatabase("fuzz");
    table = tableName();
    bystanderTable = tableName("bystander");
    app = await appAccount(database, { table });
    knex = app.knex();
    store = app.store({ knex, disableDbCleanup: true });
    sealedStore = await appStore(database, {
      tablename: tableName("sealed"),
      disableDbCleanup: true,
      encryption: { keys: [globalThis.crypto.getRandomValues(new Uint8Array(32))] },
    });
    bystander = await appStore(database, { tablename: bystanderTable, disableDbCleanup: true });
    await Promise.all([store.ready, sealedStore.ready, bystander.ready]);
    for (const sid of ["victim", "admin", "a", "A", "a "]) {
      await bystander.set(sid, { cookie: { maxAge: 3_600_000 }, secret: sid } as never);
    }
  });

  after(async () => {
    await Promise.all([store?.close(), sealedStore?.close(), bystander?.close()]);
    await database?.drop();
    process.off("unhandledRejection", onFault);
    process.off("uncaughtException", onFault);
  });

  /** Random operations on `store`, every read checked against a model of the table. */
  const fuzzAgainstModel = (store: KnexMySQLStore, diagnostic: (message: string) => void) =>
    withSeed(async () => {
      const random = prng(SEED);
      const unreadable: unknown[] = [];
      store.on("unreadable", (event) => unreadable.push(event));
      const schemaBefore = await schemaSnapshot(database.admin, database.name);
      const bystanderBefore = await tableRows(database.admin, bystanderTable);
      /** sid → the session's JSON as written: what the table must hold. */
      const model = new Map<string, string>();
      /** The sids destroyed while stored: their markers keep them from being saved again. */
      const destroyed = new Set<unknown>();
      const tally: Record<string, number> = {};
      const count = (what: string) => (tally[what] = (tally[what] ?? 0) + 1);
      const callbackCalls: number[] = [];
      let writes = 0;

      /** Calls a store method through its callback or its promise, at random. */
      const call = <T>(method: (...args: never[]) => unknown, args: unknown[]): Promise<T> => {
        const bound = method.bind(store) as (...args: unknown[]) => unknown;
        if (random.int(2) === 0) return bound(...args) as Promise<T>;
        const slot = callbackCalls.push(0) - 1;
        return new Promise<T>((resolve, reject) => {
          bound(...args, (error: unknown, value: T) => {
            callbackCalls[slot] = (callbackCalls[slot] as number) + 1;
            if (error) reject(error);
            else resolve(value);
          });
        });
      };

      const expectRejected = async (work: Promise<unknown>, what: string, code: string) => {
        const error = await work.then(() => undefined, (error: unknown) => error);
        assert.ok(error !== undefined, `${what} succeeded but must fail`);
        assert.ok(isCleanFailure(error), `${what} failed with ${String(error)}`);
        if (error instanceof SessionStoreError) assert.equal(error.code, code, what);
        count(`refused: ${code}`);
      };

      const operation = async (sid: unknown) => {
        const shown = typeof sid === "string" ? JSON.stringify(sid.slice(0, 60)) : String(sid);
        const valid = sidIsValid(sid);
        const roll = random.int(100);
        if (roll < 45) {
          const session = randomSession(random, valid ? sid : "", ++writes);
          const kind = expectedOutcome(session);
          const work = call<void>(store.set, [sid, session]);
          if (!valid) return await expectRejected(work, `set ${shown}`, "ERR_INVALID_SID");
          if (kind === "invalid") {
            return await expectRejected(work, `set ${shown} (bad session)`, "ERR_INVALID_SESSION");
          }
          try {
            await work;
            if (destroyed.has(sid)) {
              count("set of a destroyed session: not created again");
            } else {
              model.set(sid, JSON.stringify(session));
              count(`set ${kind}`);
            }
          } catch (error) {
            assert.equal(kind, "server-limit", `set ${shown} failed: ${String(error)}`);
            assert.equal(
              (error as SessionStoreError).code,
              "ERR_INVALID_SESSION",
              `set ${shown} failed with ${String(error)}`,
            );
            count("set refused by the server");
          }
        } else if (roll < 80) {
          const work = call<SessionData | null>(store.get, [sid]);
          if (!valid) return await expectRejected(work, `get ${shown}`, "ERR_INVALID_SID");
          const expected = model.get(sid);
          assert.deepStrictEqual(
            await work,
            expected === undefined ? null : JSON.parse(expected),
            `get ${shown}`,
          );
          count("get");
        } else if (roll < 90) {
          // As express-session touches: the stored cookie's settings with a later expiry (a
          // changed setting would be a save), and data that the touch must not write.
          const stored = typeof sid === "string" ? model.get(sid) : undefined;
          const cookie = (stored && JSON.parse(stored).cookie) ?? { maxAge: 7_200_000 };
          const session = {
            cookie: { ...cookie, expires: new Date(Date.now() + 7_200_000).toISOString() },
            ignored: "touch keeps the data",
          };
          const work = call<void>(store.touch, [sid, session]);
          if (!valid) return await expectRejected(work, `touch ${shown}`, "ERR_INVALID_SID");
          await work;
          // A read gives the touched expiry, to the second the row holds, unless the cookie's
          // own expiry already falls in that second.
          const data = stored && JSON.parse(stored);
          const before = Date.parse(data?.cookie?.expires);
          const second = Math.floor(Date.parse(session.cookie.expires) / 1000) * 1000;
          if (Number.isFinite(before) && Math.floor(before / 1000) * 1000 !== second) {
            data.cookie.expires = new Date(second).toISOString();
            model.set(sid as string, JSON.stringify(data));
          }
          count("touch");
        } else {
          const work = call<void>(store.destroy, [sid]);
          if (!valid) return await expectRejected(work, `destroy ${shown}`, "ERR_INVALID_SID");
          await work;
          // A session that was there leaves a marker: no later save brings it back.
          if (model.delete(sid)) destroyed.add(sid);
          count("destroy");
        }
      };

      for (let round = 0; round < ROUNDS; round += PARALLEL) {
        const batch: unknown[] = [];
        while (batch.length < PARALLEL) {
          const sid = randomSid(random, [...model.keys()]);
          // One operation per sid at a time, so the model knows the order of writes.
          if (!batch.some((other) => Object.is(other, sid))) batch.push(sid);
        }
        await Promise.all(batch.map(operation));
      }

      const all = await store.all();
      assert.deepStrictEqual(
        new Map(all.map(({ id, ...session }) => [id, session])),
        new Map([...model].map(([sid, json]) => {
          const { id: _replaced, ...session } = JSON.parse(json);
          return [sid, session];
        })),
        "all() differs from the model",
      );
      assert.equal(await store.length(), model.size);
      assert.deepEqual(await schemaSnapshot(database.admin, database.name), schemaBefore);
      assert.deepEqual(await tableRows(database.admin, bystanderTable), bystanderBefore);
      assert.deepEqual(Object.keys(Object.prototype), []);
      assert.equal(({} as { polluted?: unknown }).polluted, undefined);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(callbackCalls.filter((calls) => calls !== 1), [], "callbacks called ≠ once");
      assert.deepEqual(processFaults, []);
      assert.deepEqual(unreadable, []);
      diagnostic(`seed ${SEED}, ${ROUNDS} operations: ${JSON.stringify(tally)}`);
    });

  it("never crashes, mixes up sessions, or changes the schema or other tables", async (t) => {
    await fuzzAgainstModel(store, (message) => t.diagnostic(message));
  });

  it("the same with encryption: no session opens under another id", async (t) => {
    await fuzzAgainstModel(sealedStore, (message) => t.diagnostic(message));
    // Then what a database attacker can do without the key: move each sealed row to another
    // session's id (rotate them). Each opens under its own id only, so none opens at all.
    const sealed = sealedStore.tableName;
    const [rows] = await database.admin.raw(
      `SELECT sid, sess FROM \`${sealed}\` WHERE expired > UTC_TIMESTAMP() AND NOT destroyed ` +
        "ORDER BY sid",
    ) as [{ sid: string; sess: unknown }[]];
    assert.ok(rows.length >= 2, `only ${rows.length} live sealed rows to move`);
    const moved = rows.map((row, i) => ({ sid: row.sid, sess: rows[(i + 1) % rows.length]!.sess }));
    for (const { sid, sess } of moved) {
      await database.admin.raw(`UPDATE \`${sealed}\` SET sess = ? WHERE sid = ?`, [
        typeof sess === "string" ? sess : JSON.stringify(sess),
        sid,
      ]);
    }
    const reasons: string[] = [];
    const onUnreadable = (event: UnreadableEvent) => reasons.push(event.reason);
    sealedStore.on("unreadable", onUnreadable);
    try {
      for (const { sid } of moved) assert.equal(await sealedStore.get(sid), null, sid);
    } finally {
      sealedStore.off("unreadable", onUnreadable);
    }
    assert.deepEqual(reasons, moved.map(() => "tampered"));
  });

  it("refuses sessions over max_allowed_packet cleanly and keeps the stored one", async () => {
    const [[{ packet }]] = await database.admin.raw("SELECT @@max_allowed_packet AS packet");
    // MySQL's limit is 64 MiB: on a loaded machine one such write can outlast the default
    // 10 s queryTimeout, and this test is about size, not time.
    const bigStore = app.store({
      knex,
      disableDbCleanup: true,
      queryTimeout: 300_000,
    });
    try {
      // Just under the limit (the store allows 1 KiB for the rest of the packet) it is stored.
      const fits = Number(packet) - 1024 - 100;
      await bigStore.set("big", { cookie: { maxAge: 3_600_000 }, v: "x".repeat(fits) } as never);
      assert.equal((await bigStore.get("big") as unknown as { v: string }).v.length, fits);
      await bigStore.set("big", { cookie: { maxAge: 3_600_000 }, v: "before" } as never);
      for (const size of [Number(packet) - 100, Number(packet) + 10]) {
        const error = await bigStore.set("big", { cookie: {}, v: "x".repeat(size) } as never)
          .then(() => undefined, (error: unknown) => error);
        assert.ok(error instanceof SessionStoreError, `size ${size}: ${String(error)}`);
        assert.equal(error.code, "ERR_SESSION_TOO_LARGE");
      }
      assert.equal((await bigStore.get("big") as unknown as { v: string }).v, "before");
      // The connection survived: the next statement works.
      assert.equal(await bigStore.length() >= 1, true);
    } finally {
      await bigStore.close();
    }
  });

  it("hostile cookies and ttl results store a session or fail cleanly", async () => {
    await withSeed(async () => {
      const random = prng(SEED ^ 0x5eed);
      const expiresValues = [
        undefined,
        null,
        {},
        "garbage",
        "",
        new Date(Number.NaN),
        new Date(8.64e15),
        new Date(-8.64e15),
        "0500-01-01T00:00:00Z",
        "+275760-09-13T00:00:00.000Z",
        -1,
        1e20,
        new Date(Date.now() - 1000).toISOString(),
        new Date(Date.now() + 60_000).toISOString(),
      ];
      const maxAgeValues = [undefined, null, "60000", Number.NaN, Infinity, -Infinity, 0, -1]
        .concat([60_000, 1e15, -1e15, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE]);
      const problems: string[] = [];
      for (let i = 0; i < 150; i++) {
        const cookie = { expires: random.pick(expiresValues), maxAge: random.pick(maxAgeValues) };
        const ttl = random.pick([60_000, -1e300, 1e300, Number.MAX_VALUE]);
        const cookieStore = app.store({ knex, ttl: () => ttl, disableDbCleanup: true });
        const sid = `cookie-${i}`;
        const session = { cookie, i };
        const shown = `${inspect(cookie)} ttl ${ttl}`;
        for (const write of ["set", "touch"] as const) {
          try {
            await cookieStore[write](sid, session as never);
            const read = await cookieStore.get(sid);
            if (read !== null) assert.deepStrictEqual(read, JSON.parse(JSON.stringify(session)));
          } catch (error) {
            if (!isCleanFailure(error)) problems.push(`${write} ${shown}: ${String(error)}`);
          }
        }
        await cookieStore.close();
      }
      assert.deepEqual(problems, []);
      assert.deepEqual(processFaults, []);
    });
  });

  it("reads rows that are valid JSON but no session as no session, and reports them", async () => {
    const rows = ["null", "[]", '"text"', "42", "true", '{"__proto__":{"polluted":1}}'];
    await database.admin.raw(
      `INSERT INTO \`${table}\` (sid, sess, expired) VALUES ${rows.map(() => "(?, ?, ?)")}`,
      rows.flatMap((sess, i) => [`corrupt-${i}`, sess, "9999-01-01 00:00:00"]),
    );
    const reported: UnreadableEvent[] = [];
    const onUnreadable = (event: UnreadableEvent) => reported.push(event);
    store.on("unreadable", onUnreadable);
    try {
      for (const [i, sess] of rows.slice(0, 5).entries()) {
        assert.equal(await store.get(`corrupt-${i}`), null, sess);
      }
      assert.deepEqual(
        reported.map((event) => [event.sid, event.reason]),
        [0, 1, 2, 3, 4].map(
          (i) => [`corrupt-${i}`, "malformed"],
        ),
      );
      // An object with a __proto__ key is a session; the key stays an own property.
      assert.ok(await store.get("corrupt-5"));
      assert.equal(({} as { polluted?: unknown }).polluted, undefined);
      // One bad row does not fail the listing: it is left out (and reported again).
      const ids = (await store.all()).map((session) => session.id);
      assert.ok(ids.includes("corrupt-5"));
      assert.ok(!rows.slice(0, 5).some((_, i) => ids.includes(`corrupt-${i}`)), ids.join());
      assert.equal(reported.length, 10);
    } finally {
      store.off("unreadable", onUnreadable);
    }
    assert.deepEqual(processFaults, []);
  });
});
