// How the DB-tier tests run the store: as an app logs in. Root (db.admin) installs the schema
// with our own CLI and applies our own `grant` to a fresh password account; the store then runs
// as that account, which may only SELECT the table and EXECUTE the procedures. FLUSH PRIVILEGES
// empties MySQL's password cache first, so the store's first login is the full
// caching_sha2_password exchange an app meets after a server restart (TLS, or the server's
// public key on plain TCP: see Account in ./database.ts). Root stays for set-up and what needs
// it: reading rows behind the store's back, KILL, the general log.
import type { Knex } from "knex";
import { KnexMySQLStore, type KnexMySQLStoreOptions } from "../../mod.ts";
import { cli } from "./cli.ts";
import { type Account, TEST_CLIENT, type TestDatabase } from "./database.ts";

/** The app account of one table of a test database; db.drop() drops it. */
export interface AppAccount extends Account {
  table: string;
  sid: string;
  /** A new knex instance logged in as the account; db.drop() destroys it. */
  knex(config?: Partial<Knex.Config>): Knex;
  /**
   * A new store as the account: its own knex (unless `options.knex`), `createtable: false`
   * (it may only check the schema), on the account's table and sid column unless `options`
   * name others.
   */
  store(options?: KnexMySQLStoreOptions): KnexMySQLStore;
}

const made = new WeakMap<TestDatabase, Map<string, Promise<AppAccount>>>();

/**
 * The app account of `table` (default `sessions`, sid column `sid`) in `db`, with the schema
 * installed: made on the first call (with `password`, else a random one), the same account on
 * later ones.
 */
export function appAccount(
  db: TestDatabase,
  { table = "sessions", sid = "sid", password }: {
    table?: string;
    sid?: string;
    password?: string;
  } = {},
): Promise<AppAccount> {
  let accounts = made.get(db);
  if (!accounts) made.set(db, accounts = new Map());
  let account = accounts.get(`${table}\0${sid}`);
  if (!account) {
    account = createAppAccount(db, table, sid, password);
    accounts.set(`${table}\0${sid}`, account);
  }
  return account;
}

/** A new store as the app account of the table `options` name: the usual store of a test. */
export async function appStore(
  db: TestDatabase,
  options: KnexMySQLStoreOptions = {},
): Promise<KnexMySQLStore> {
  const table = options.tablename ?? options.tableName;
  const sid = options.sidfieldname ?? options.sidFieldName;
  return (await appAccount(db, { table, sid })).store(options);
}

async function createAppAccount(db: TestDatabase, table: string, sid: string, password?: string) {
  const names = ["--table", table, "--sid", sid, "--url", db.url];
  await succeeds(["install", ...names]);
  const account = await db.account([], password);
  await succeeds(["grant", `${account.name}@%`, "--apply", ...names]);
  await db.admin.raw("FLUSH PRIVILEGES");
  const app: AppAccount = {
    ...account,
    table,
    sid,
    knex: (config = {}) => db.connect(config, account.url),
    store(options = {}) {
      const unless = (names: string[], value: object) =>
        names.some((name) => name in options) ? {} : value;
      return new KnexMySQLStore({
        // On the mariadb client, a knex of the test's: the store's own would be mysql2's.
        ...unless(
          ["knex", "connection"],
          TEST_CLIENT === "mysql2" ? { connection: { ...account.config } } : { knex: app.knex() },
        ),
        ...unless(["createtable", "createTable"], { createtable: false }),
        ...unless(["tablename", "tableName"], { tablename: table }),
        ...unless(["sidfieldname", "sidFieldName"], { sidfieldname: sid }),
        ...options,
      });
    },
  };
  return app;
}

async function succeeds(argv: string[]) {
  const result = await cli(argv);
  if (result.code !== 0) throw new Error(`${argv[0]} failed: ${result.stderr}`);
}
