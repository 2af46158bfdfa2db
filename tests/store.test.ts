import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { KnexMySQLStore, KnexMySQLStoreOptions } from "../mod.ts";
import { type AppAccount, appAccount, appStore } from "./helpers/app_account.ts";
import {
  configFromUrl,
  createTestDatabase,
  tableName,
  type TestDatabase,
} from "./helpers/database.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { storeContract } from "./helpers/store_contract.ts";
import { withClock } from "./helpers/clock.ts";
import { procedureName, PROCEDURES } from "../src/sql.ts";

let database: TestDatabase;
let app: AppAccount;

storeContract(
  "app account from our own grant",
  async () => {
    database = await createTestDatabase("store");
    app = await appAccount(database);
    const open = () => app.store({ disableDbCleanup: true });
    return { open, admin: database.admin, table: app.table };
  },
  async () => {},
);

describe("the app account the tests run the store as", () => {
  it("is the store's login, and may not write the table but through the procedures", async () => {
    const store = app.store();
    try {
      await store.ready;
      const [[row]] = await store.options.knex.raw("SELECT CURRENT_USER() AS user");
      assert.equal(row.user, `${app.name}@%`);
      // Over TLS when MYSQL_URL asks for it, as root's connections are.
      const [[cipher]] = await store.options.knex.raw("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      assert.equal(cipher.Value !== "", configFromUrl(database.url).ssl !== undefined);
      await assert.rejects(
        store.options.knex.raw(
          `INSERT INTO \`${app.table}\` (sid, sess, expired) VALUES ('x', '{}', NOW())`,
        ),
        /INSERT command denied/,
      );
      await store.set("through-procedure", sessionFor());
      assert.ok(await store.get("through-procedure"));
    } finally {
      await store.close();
    }
  });
});

describe("options that shape expiry and writes", () => {
  const stores: KnexMySQLStore[] = [];
  let table: string;
  const open = async (options: KnexMySQLStoreOptions = {}) => {
    const store = await appStore(database, {
      tablename: table,
      disableDbCleanup: true,
      ...options,
    });
    stores.push(store);
    await store.ready;
    return store;
  };
  const expiry = async (sid: string) => {
    const [rows] = await database.admin.raw(
      `SELECT TIMESTAMPDIFF(SECOND, '1970-01-01', expired) AS at FROM \`${table}\` WHERE sid = ?`,
      [sid],
    );
    return rows[0] ? Number(rows[0].at) * 1000 : undefined;
  };
  before(() => {
    table = tableName();
  });
  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await database.drop();
  });

  // The store's clock is pinned to a whole second in the future, so expiry is exact.
  const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
  const pinned = <T>(run: () => Promise<T>) => withClock({ now: () => NOW }, run);

  it("a cookie without expiry lives ttl ms (default one day)", async () => {
    const store = await open();
    await pinned(() => store.set("no-expiry", { cookie: { originalMaxAge: null } } as never));
    assert.equal(await expiry("no-expiry"), NOW + 86_400_000);
  });

  it("ttl may be a number or a function of the session", async () => {
    const fixed = await open({ ttl: 5 * 60_000 });
    await pinned(() => fixed.set("fixed", { cookie: {} } as never));
    assert.equal(await expiry("fixed"), NOW + 300_000);
    const perUser = await open({
      ttl: (session) => ((session as unknown as { admin?: boolean }).admin ? 60_000 : 600_000),
    });
    await pinned(async () => {
      await perUser.set("admin", { cookie: {}, admin: true } as never);
      await perUser.set("user", { cookie: {} } as never);
    });
    assert.equal(await expiry("admin"), NOW + 60_000);
    assert.equal(await expiry("user"), NOW + 600_000);
  });

  it("a ttl function that throws or returns nonsense fails set with a clear error", async () => {
    const throwing = await open({
      ttl: () => {
        throw new Error("boom");
      },
    });
    await assert.rejects(throwing.set("t", { cookie: {} } as never), {
      code: "ERR_INVALID_SESSION",
      message: /ttl function threw/,
    });
    const nonsense = await open({ ttl: () => Number.NaN });
    await assert.rejects(nonsense.set("t", { cookie: {} } as never), /finite number/);
    assert.equal(await expiry("t"), undefined);
  });

  it("the cookie's expires wins over maxAge and ttl", async () => {
    const store = await open({ ttl: 1000 });
    const expires = new Date(Date.now() + 3 * 3_600_000);
    await store.set("e", { cookie: { expires, maxAge: 5 } } as never);
    assert.equal(await expiry("e"), Math.floor(expires.getTime() / 1000) * 1000);
  });

  it("disableTouch makes touch write nothing", async () => {
    const store = await open({ disableTouch: true });
    await store.set("d", sessionFor({}, 60_000));
    const before = await expiry("d");
    await store.touch("d", sessionFor({}, 60_000, 3_600_000));
    assert.equal(await expiry("d"), before);
  });

  it("touchAfter skips a touch whose expiry moved less than touchAfter since the last write", async () => {
    const store = await open({ touchAfter: 10 * 60_000 });
    await store.set("t", sessionFor({}, 3_600_000));
    const written = await expiry("t");
    await store.get("t");
    await store.touch("t", sessionFor({}, 3_600_000, 3_600_000 + 5 * 60_000)); // skipped
    assert.equal(await expiry("t"), written);
    await store.touch("t", sessionFor({}, 3_600_000, 3_600_000 + 11 * 60_000)); // written
    assert.ok((await expiry("t") as number) > (written as number) + 10 * 60_000);
  });

  it("a touch that would store the second already stored is not sent; a later one is", async () => {
    const store = await open();
    const expires = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
    const cookie = (at: number) => ({ cookie: { expires: new Date(at) } }) as never;
    await store.set("same-second", cookie(expires));
    // Changed behind the store's back: only a touch that reaches the server undoes this.
    await database.admin.raw(
      `UPDATE \`${table}\` SET expired = expired - INTERVAL 100 SECOND WHERE sid = ?`,
      ["same-second"],
    );
    const edited = await expiry("same-second");
    await store.touch("same-second", cookie(expires + 900)); // the same second: skipped
    assert.equal(await expiry("same-second"), edited);
    await store.touch("same-second", cookie(expires + 1000)); // the next second: written
    assert.equal(await expiry("same-second"), expires + 1000);
    // And without any write of its own, the store learns the stored second from get.
    const reader = await open();
    assert.ok(await reader.get("same-second"));
    await database.admin.raw(
      `UPDATE \`${table}\` SET expired = expired + INTERVAL 100 SECOND WHERE sid = ?`,
      ["same-second"],
    );
    await reader.touch("same-second", cookie(expires + 1500));
    assert.equal(await expiry("same-second"), expires + 101_000);
    // An earlier second is sent, and the server keeps the later expiry: a touch never brings
    // one forward (a slow request's touch after a newer one, another instance's).
    await reader.touch("same-second", cookie(expires - 5000));
    assert.equal(await expiry("same-second"), expires + 101_000);
  });

  it("touchAfter learns the stored expiry from get, as in a fresh process", async () => {
    const writer = await open();
    await writer.set("g", sessionFor({}, 3_600_000));
    const written = await expiry("g");
    const reader = await open({ touchAfter: 10 * 60_000 });
    await reader.touch("g", sessionFor({}, 3_600_000, 3_600_000 + 60_000)); // unknown: writes
    assert.ok((await expiry("g") as number) > (written as number));
    const touched = await expiry("g");
    await reader.get("g");
    await reader.touch("g", sessionFor({}, 3_600_000, 3_600_000 + 120_000)); // skipped
    assert.equal(await expiry("g"), touched);
  });

  it("custom table and sid column names are used throughout", async () => {
    const custom = tableName("custom");
    // The connect-session-knex v5 spellings (the CLI installed the schema under these names).
    const store = await appStore(database, {
      tableName: custom,
      sidFieldName: "session_key",
      cleanupInterval: 0,
    });
    stores.push(store);
    await store.set("k", sessionFor({ v: 1 }));
    const [rows] = await database.admin.raw(`SELECT session_key FROM \`${custom}\``);
    assert.deepEqual(rows.map((row: { session_key: string }) => row.session_key), ["k"]);
    assert.deepEqual((await store.all()).map((s) => s.id), ["k"]);
    const [procedures] = await database.admin.raw(
      "SELECT ROUTINE_NAME AS name FROM information_schema.ROUTINES " +
        "WHERE ROUTINE_SCHEMA = DATABASE() AND ROUTINE_NAME LIKE ? ORDER BY name",
      [`${custom}%`],
    );
    assert.deepEqual(
      procedures.map((row: { name: string }) => row.name).sort(),
      PROCEDURES.map((procedure) => procedureName(custom, procedure)).sort(),
    );
  });
});
