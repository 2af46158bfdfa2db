// The migration guides' checklists, followed as written: every command, SQL statement and code
// snippet comes from the page (its blocks tagged `checklist=<id>`) and is run against an old app
// (the real connect-session-knex 5 or 4, or express-mysql-session 3, on Express 4) whose users
// are logged in. At the end every user is still logged in on the new app (Express 5) with the
// cookie the old app set. Only names are mapped: the guide's database `app` and accounts to this
// test's, its host to the test server, the CA file its URLs name (`?ssl-ca=`) to the test server's
// (left out on a server without TLS, as the guide says); `npm install`/`npm uninstall` are
// checked, not run (this checkout is the package). Then the differences the guides list are run
// against those old stores, side by side with this store.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";
import { after, describe, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Knex } from "knex";
import { KnexMySQLStore } from "../mod.ts";
import { PROCEDURES, SCHEMA_VERSION } from "../src/sql.ts";
import { cli, type CliResult } from "./helpers/cli.ts";
import { closing, type Defer } from "./helpers/closing.ts";
import {
  configFromUrl,
  createTestDatabase,
  type TestDatabase,
  testServerUrl,
} from "./helpers/database.ts";
import {
  assertOutputShows,
  Guide,
  type GuideBlock,
  shellCommands,
  sqlStatements,
} from "./helpers/guide.ts";
import {
  login,
  type OldStore,
  oldStore,
  type OldStoreName,
  type SessionApp,
  sessionApp,
  whoami,
} from "./helpers/old_stores.ts";
import { serverFacts } from "./helpers/server.ts";
import { MYSQL_CA } from "./helpers/tls.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const modPath = `${root}mod.ts`;
const mod = pathToFileURL(modPath).href;
const scratch = `${root}.tmp/migrate-checklist`;
after(() => rmSync(scratch, { recursive: true, force: true }));

const USERS = ["alice", "bob", "carol"];

/** Every block a run took, by page: the last test checks that no tagged block went untested. */
const followed = new Map<string, Set<string>>();

/** The guide's names for the accounts; each run maps them to accounts of its own. */
type GuideAccount = "app" | "sessions_owner" | "sessions_app";

/** The grants connect-session-knex's and express-mysql-session's apps usually run with. */
const OLD_APP_GRANTS = "SELECT, INSERT, UPDATE, DELETE, CREATE";

/**
 * One run of a checklist on a database of its own: the guide's accounts created for it, the
 * CLI's environment, and the blocks it took, in the order it took them.
 */
class ChecklistRun {
  readonly guide: Guide;
  readonly db: TestDatabase;
  readonly accounts = new Map<GuideAccount, { name: string; password?: string }>();
  /** What the checklist exported, for the CLI (MYSQL_URL) and the app's snippet. */
  readonly env: Record<string, string> = {};
  readonly taken: string[] = [];
  /** `npm` commands the checklist says to run, which the test checks instead. */
  readonly npm: string[] = [];
  readonly #server: string;
  readonly #mysqlCollations: boolean;
  /**
   * The CA of the test server's certificate, for the guide's `?ssl-ca=`: MYSQL_URL's, else on
   * MySQL the one it made in its data directory; none on a server without TLS.
   */
  readonly #ca: string | undefined;

  private constructor(guide: Guide, db: TestDatabase, server: string, mysql: boolean) {
    this.guide = guide;
    this.db = db;
    this.#server = server;
    this.#mysqlCollations = mysql;
    this.#ca = new URL(server).searchParams.get("ssl-ca") ??
      (mysql && existsSync(MYSQL_CA) ? MYSQL_CA : undefined);
    const tag = randomBytes(3).toString("hex");
    for (const account of ["app", "sessions_owner", "sessions_app"] as const) {
      this.accounts.set(account, { name: `kms_cl_${account.slice(-5)}_${tag}` });
    }
  }

  static async start(page: string, defer: Defer): Promise<ChecklistRun> {
    const db = await createTestDatabase("checklist");
    defer(() => db.drop());
    const run = new ChecklistRun(
      new Guide(page),
      db,
      await testServerUrl(),
      (await serverFacts(db.admin)).kind === "mysql",
    );
    defer(() => run.#dropAccounts());
    return run;
  }

  account(name: GuideAccount): { name: string; password?: string } {
    return this.accounts.get(name)!;
  }

  /** The guide's names in `text` as this run's: accounts (any host becomes '%') and `app.`. */
  localize(text: string): string {
    return text
      .replace(/'(\w+)'@'[^']*'/g, (_, user: string) => {
        const account = this.accounts.get(user as GuideAccount);
        assert.ok(account, `the guide names an account the test does not know: ${user}`);
        return `'${account.name}'@'%'`;
      })
      .replace(/\bapp\.(?=[`\w*])/g, `\`${this.db.name}\`.`);
  }

  /** This run's names in a real output as the guide's, and MySQL's collations as MariaDB's. */
  delocalize(text: string): string {
    let result = text.replaceAll(this.db.name, "app");
    for (const [guideName, { name }] of this.accounts) result = result.replaceAll(name, guideName);
    if (this.#mysqlCollations) {
      result = result.replaceAll("utf8mb4_0900_ai_ci", "utf8mb4_general_ci")
        .replaceAll("utf8mb4_0900_bin", "utf8mb4_nopad_bin");
    }
    return result;
  }

  /** A URL of the guide's form (user, percent-encoded password) for this run's server. */
  url(account: GuideAccount): string {
    const { name, password } = this.account(account);
    assert.ok(password !== undefined, `no password known for ${account}`);
    const url = new URL(this.#server);
    url.pathname = `/${this.db.name}`;
    url.username = encodeURIComponent(name);
    url.password = encodeURIComponent(password);
    return url.toString();
  }

  /**
   * The old app's URL: its account on this run's server, over TLS verified against the server's
   * CA when there is one (on MySQL, mysql2 3.26 logs a new password account in over plain TCP
   * only with the server's key). The old app is the test's, not the guide's.
   */
  oldAppUrl(): string {
    const url = new URL(this.url("app"));
    if (this.#ca && !url.searchParams.has("ssl-ca")) url.searchParams.set("ssl-ca", this.#ca);
    return url.toString();
  }

  /** Creates the account the old app runs as, with the old store's usual grants. */
  async createOldAppAccount(): Promise<void> {
    const account = this.account("app");
    account.password = `pw-${randomBytes(6).toString("hex")}`;
    await this.db.admin.raw(`CREATE USER ?@'%' IDENTIFIED BY ?`, [account.name, account.password]);
    await this.db.admin.raw(`GRANT ${OLD_APP_GRANTS} ON \`${this.db.name}\`.* TO ?@'%'`, [
      account.name,
    ]);
  }

  /** Creates the schema owner as the least-privilege page does. */
  async createSchemaOwner(): Promise<void> {
    const sql = new Guide("least-privilege.mdx").titled("As an administrator: the schema owner");
    await this.sql(sql);
  }

  /** Takes the block `id`: the test follows it now (again, for a step run twice). */
  take(id: string): GuideBlock {
    if (!this.taken.includes(id)) this.taken.push(id);
    if (!followed.has(this.guide.page)) followed.set(this.guide.page, new Set());
    followed.get(this.guide.page)!.add(id);
    return this.guide.block(id);
  }

  /** Runs an SQL block's statements as an administrator. */
  async sql(code: string): Promise<void> {
    for (const statement of sqlStatements(code)) {
      const created = /^CREATE USER '(\w+)'@'[^']*' IDENTIFIED BY '([^']*)'$/i.exec(statement);
      if (created) {
        const account = this.accounts.get(created[1] as GuideAccount);
        assert.ok(account, `the guide creates an account the test does not know: ${created[1]}`);
        account.password = created[2]!;
      }
      await this.db.admin.raw(this.localize(statement).replaceAll("?", "\\?"));
    }
  }

  /** Runs the SQL block `id`. */
  async runSql(id: string): Promise<void> {
    const block = this.take(id);
    assert.equal(block.language, "sql", `checklist=${id} is not an SQL block`);
    await this.sql(block.code);
  }

  /**
   * Runs the shell block `id`: `export`s set this run's environment (a URL mapped to this run's
   * server, its user and password checked against the accounts), the CLI runs in-process and
   * must succeed, `npm` commands are recorded. Returns each CLI run's output.
   */
  async shell(id: string): Promise<CliResult[]> {
    const block = this.take(id);
    assert.equal(block.language, "bash", `checklist=${id} is not a shell block`);
    const results: CliResult[] = [];
    for (const words of shellCommands(block.code)) {
      const [program, ...args] = words;
      if (program === "export") {
        assert.equal(args.length, 1, block.code);
        const [, name, value] = /^(\w+)=(.*)$/.exec(args[0]!)!;
        this.env[name!] = this.#exportedUrl(value!);
      } else if (program === "npx" && args[0] === "knex-mysql-session") {
        const argv = args.slice(1).map((arg) => this.localize(arg));
        const result = await cli(argv, { env: { ...this.env } });
        assert.equal(result.code, 0, `${words.join(" ")}:\n${result.stdout}\n${result.stderr}`);
        results.push(result);
      } else if (program === "npm") {
        this.npm.push(words.join(" "));
      } else {
        assert.fail(`the test cannot follow: ${words.join(" ")}`);
      }
    }
    return results;
  }

  /**
   * A URL the guide exports, for this run: the guide's user and database (`app` on any host) as
   * this run's; the password as the guide encoded it, which must decode to the account's (or
   * `…`, standing for the account's own); its query parameters as written, but for `ssl-ca`,
   * whose file becomes the test server's CA, or goes on a server without TLS (as the guide says:
   * leave it out there).
   */
  #exportedUrl(value: string): string {
    const documented = new URL(value);
    assert.equal(documented.protocol, "mysql:", value);
    assert.equal(documented.pathname, "/app", `${value}: the guide's database is app`);
    const account = this.accounts.get(documented.username as GuideAccount);
    assert.ok(account, `${value}: an account the test does not know`);
    const url = new URL(this.url(documented.username as GuideAccount));
    // As written: the URL parser would encode some characters (a `:`) by itself.
    const written = /^mysql:\/\/[^:@/]*:([^@/]*)@/.exec(value)?.[1];
    if (written !== "…") {
      assert.equal(decodeURIComponent(written ?? ""), account.password, value);
      assert.equal(written, encodeURIComponent(account.password!), value);
      url.password = written; // exactly as the guide wrote it
    }
    for (const [name, parameter] of documented.searchParams) {
      if (name !== "ssl-ca") url.searchParams.set(name, parameter);
      else if (this.#ca) url.searchParams.set(name, this.#ca);
    }
    return url.toString();
  }

  /** Asserts that the blocks taken appear in the page in that order. */
  assertFollowedInOrder(): void {
    const order = this.guide.ids();
    const positions = this.taken.map((id) => order.indexOf(id));
    assert.deepEqual(
      positions,
      [...positions].sort((a, b) => a - b),
      `the test took ${this.taken.join(", ")}; the page orders them ${order.join(", ")}`,
    );
  }

  async #dropAccounts(): Promise<void> {
    for (const { name } of this.accounts.values()) {
      await this.db.admin.raw("DROP USER IF EXISTS ?@'%'", [name]);
    }
  }
}

/**
 * Loads the snippet block `id` as the module its title names (an ES module, or CommonJS for a
 * `.cjs`), from a scratch directory inside the checkout, with `env` set while it loads (it reads
 * process.env at the top level) and `files` beside it. Only the package specifier is mapped, onto
 * this checkout's mod.ts.
 */
async function loadSnippet(
  run: ChecklistRun,
  id: string,
  options: {
    env: Record<string, string>;
    files?: Record<string, string>;
    edit?: (code: string) => string;
  },
): Promise<{ store: KnexMySQLStore; exports: Record<string, unknown> }> {
  const block = run.take(id);
  assert.equal(block.language, "js");
  assert.ok(block.title, `checklist=${id} has no title to save it as`);
  const code = (options.edit ?? ((c) => c))(block.code);
  assert.equal(code.split('"knex-mysql-session"').length, 2, "one import of the package");
  const commonJs = block.title.endsWith(".cjs");
  mkdirSync(scratch, { recursive: true });
  const dir = mkdtempSync(`${scratch}/app-`);
  const file = `${dir}/${block.title}`;
  writeFileSync(
    file,
    code.replace('"knex-mysql-session"', JSON.stringify(commonJs ? modPath : mod)),
  );
  for (const [name, text] of Object.entries(options.files ?? {})) {
    writeFileSync(`${dir}/${name}`, text);
  }
  const saved = Object.fromEntries(Object.keys(options.env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, options.env);
  try {
    const exports = commonJs
      ? createRequire(import.meta.url)(file)
      : await import(pathToFileURL(file).href);
    // Required, the package is a second copy of the module: no instanceof across the two.
    const store = exports.store as KnexMySQLStore;
    assert.equal(typeof store?.ready?.then, "function", "the snippet exports the store");
    return { store, exports };
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** The old app: `name` on Express 4 as the old app's account, with USERS logged in. */
async function oldDeployment(
  run: ChecklistRun,
  name: OldStoreName,
  defer: Defer,
): Promise<{ app: SessionApp; old: OldStore; knex: Knex; cookies: Map<string, string> }> {
  const url = run.oldAppUrl();
  if (name.startsWith("connect-session-knex")) {
    // It adds its table's index with an ALTER TABLE, which the usual account may not: the
    // table was created once by a more privileged account (a first deploy, a DBA).
    const creator = oldStore(name, { knex: run.db.admin, url: run.db.url, table: "sessions" });
    await creator.ready;
    await creator.close();
  }
  const knex = run.db.connect({}, url);
  const old = oldStore(name, { knex, url, table: "sessions" });
  defer(() => old.close());
  await old.ready;
  const app = await sessionApp(old.store, 4);
  defer(() => app.close());
  const cookies = new Map<string, string>();
  for (const user of USERS) cookies.set(user, await login(app, user));
  return { app, old, knex, cookies };
}

/** Every user of `cookies` is logged in on `app` with their cookie. */
async function assertLoggedIn(app: SessionApp, cookies: Map<string, string>, when: string) {
  for (const [user, cookie] of cookies) {
    assert.equal(await whoami(app, cookie), user, `${user}, ${when}`);
  }
}

/** Runs the `status` block and checks the real output against the documented one. */
async function statusStep(run: ChecklistRun): Promise<void> {
  const [status] = await run.shell("status");
  assertOutputShows(
    run.take("status-output").code,
    run.delocalize(`${status!.stdout}${status!.stderr}`),
    `${run.guide.page}: status`,
  );
}

/** After the deploy: `status` shows what the page says it shows, with `args` after status. */
async function assertStatusAfterDeploy(run: ChecklistRun, args: string[] = []) {
  const status = await cli(["status", ...args], { env: run.env });
  assert.equal(status.code, 0, status.stderr);
  const shown = status.stdout.replace(/ +/g, " ");
  for (
    const line of [
      `layout: knex-mysql-session schema ${SCHEMA_VERSION}`,
      `procedures: v${SCHEMA_VERSION} (${PROCEDURES.length} installed`,
    ]
  ) {
    assert.ok(run.guide.text.includes(line), `the page shows ${line}`);
    assert.ok(shown.includes(line), `status shows ${line}:\n${status.stdout}`);
  }
}

/** A run of the checklist of `page`: the guide's accounts, and the old app `name` with USERS. */
async function startChecklist(page: string, name: OldStoreName, defer: Defer) {
  const run = await ChecklistRun.start(page, defer);
  await run.createOldAppAccount();
  await run.createSchemaOwner();
  return { run, before: await oldDeployment(run, name, defer) };
}

/** The snippet `id` loaded on the sessions account's URL; its store closes with the test. */
async function loadStore(
  run: ChecklistRun,
  id: string,
  defer: Defer,
  edit?: (code: string) => string,
) {
  const loaded = await loadSnippet(run, id, {
    env: { SESSIONS_DATABASE_URL: run.env.SESSIONS_DATABASE_URL! },
    edit,
  });
  defer(() => loaded.store.close());
  return loaded;
}

/** The `uninstall` step: the npm commands it names (checked, not run: this checkout is the package). */
async function uninstallStep(run: ChecklistRun, expected: string[]) {
  await run.shell("uninstall");
  assert.deepEqual(run.npm, expected);
}

/** The new app, on Express 5, closed with the test. */
async function newApp(store: KnexMySQLStore, defer: Defer): Promise<SessionApp> {
  const app = await sessionApp(store, 5);
  defer(() => app.close());
  return app;
}

/** No old instance runs any more. */
async function stopOldApp(before: { app: SessionApp; old: OldStore }) {
  await before.app.close();
  await before.old.close();
}

const CSK_NPM = ["npm install knex-mysql-session", "npm uninstall connect-session-knex"];
const EMS_NPM = ["npm install knex-mysql-session knex", "npm uninstall express-mysql-session"];

const CSK = "migrating/connect-session-knex.md";
const EMS = "migrating/express-mysql-session.md";

describe("the connect-session-knex checklist, from connect-session-knex 5", () => {
  test("with a new sessions-only account and createTable: false", () =>
    closing(async (defer) => {
      const { run, before } = await startChecklist(CSK, "connect-session-knex-v5", defer);

      await run.shell("install");
      await statusStep(run);
      await run.shell("migrate");
      await assertLoggedIn(before.app, before.cookies, "on the old app after the conversion");
      await run.runSql("create-user");
      await run.shell("app-url");
      const [granted] = await run.shell("grant");
      assertOutputShows(run.take("grant-output").code, run.delocalize(granted!.stdout), "grant");
      const { store } = await loadStore(run, "code", defer);
      assert.equal(store.options.createTable, false);
      await uninstallStep(run, CSK_NPM);

      // Deploy: the new app next to the old one, on the same rows.
      const app = await newApp(store, defer);
      await assertLoggedIn(app, before.cookies, "on the new app");
      const dave = await login(app, "dave");
      assert.equal(await whoami(before.app, dave), "dave", "a login on the new app, on the old");
      await assertStatusAfterDeploy(run);
      // The store's account may only read and call.
      const appKnex = run.db.connect({}, run.env.SESSIONS_DATABASE_URL);
      await assert.rejects(appKnex("sessions").del(), /DELETE command denied/);

      // No old instance runs any more; its account goes.
      await stopOldApp(before);
      await run.runSql("shrink");
      await assertLoggedIn(app, new Map([...before.cookies, ["dave", dave]]), "after the shrink");
      run.assertFollowedInOrder();
    }));

  test("keeping the v5 app's account, with the default createTable", () =>
    closing(async (defer) => {
      const { run, before } = await startChecklist(CSK, "connect-session-knex-v5", defer);

      await run.shell("install");
      await statusStep(run);
      await run.shell("migrate");
      // Step 4 is skipped: the old account stays.
      await run.shell("grant-old-account");
      const databaseUrl = run.oldAppUrl();
      // The app's own knex, as the old app's account: a mysql2 config (knex would hand a URL to
      // mysql2, which knows no `ssl-ca`).
      const dbModule = 'import knex from "knex";\nimport process from "node:process";\n\n' +
        "const connection = JSON.parse(process.env.DATABASE_CONFIG);\n" +
        'export const db = knex({ client: "mysql2", connection });\n';
      // Each load is a fresh module, so a fresh connection; it closes with the test.
      const loadOldAccountStore = async () => {
        const { store } = await loadSnippet(run, "code-old-account", {
          env: { DATABASE_CONFIG: JSON.stringify(configFromUrl(databaseUrl)) },
          files: { "db.mjs": dbModule },
        });
        defer(() => store.options.knex.destroy());
        defer(() => store.close());
        return store;
      };
      const store = await loadOldAccountStore();
      assert.equal(store.options.createTable, true);
      await uninstallStep(run, CSK_NPM);

      const app = await sessionApp(store, 5);
      const closeApp = defer(() => app.close());
      await assertLoggedIn(app, before.cookies, "on the new app");
      await assertStatusAfterDeploy(run);

      await stopOldApp(before);
      await run.runSql("shrink-old-account");
      // The new version restarts on the shrunk account (a fresh module, a fresh connection).
      await closeApp();
      const again = await newApp(await loadOldAccountStore(), defer);
      await assertLoggedIn(again, before.cookies, "after the shrink and a restart");
      const oldAccount = run.db.connect({}, databaseUrl);
      await assert.rejects(oldAccount("sessions").del(), /DELETE command denied/);
      run.assertFollowedInOrder();
    }));

  test("from connect-session-knex 4, in CommonJS", () =>
    closing(async (defer) => {
      const { run, before } = await startChecklist(CSK, "connect-session-knex-v4", defer);

      await run.shell("install");
      await run.shell("status");
      await run.shell("migrate");
      await assertLoggedIn(before.app, before.cookies, "on the old app after the conversion");
      await run.runSql("create-user");
      await run.shell("app-url");
      await run.shell("grant");
      const { store, exports } = await loadStore(run, "code-cjs", defer);
      await (exports.sessionsReady as () => Promise<void>)();
      await uninstallStep(run, CSK_NPM);

      const app = await newApp(store, defer);
      await assertLoggedIn(app, before.cookies, "on the new app");
      await before.app.close();
      await run.runSql("shrink");
      await assertLoggedIn(app, before.cookies, "after the shrink");
      run.assertFollowedInOrder();
    }));

  test("copying instead: sessions not shared, a logout on the old app comes back", () =>
    closing(async (defer) => {
      const { run, before } = await startChecklist(CSK, "connect-session-knex-v5", defer);
      await run.shell("status");
      await run.shell("migrate-copy");
      const [alice, bob, carol] = USERS.map((user) => before.cookies.get(user)!);
      // bob logs out on the old app, after the copy.
      await fetch(`${before.app.url}/logout`, { headers: { cookie: bob! } }).then((r) => r.text());
      assert.equal(await whoami(before.app, bob!), "nobody");
      const store = new KnexMySQLStore({ knex: run.db.admin, tablename: "sessions_v2" });
      defer(() => store.close());
      const app = await newApp(store, defer);
      assert.equal(await whoami(app, alice!), "alice");
      assert.equal(await whoami(app, carol!), "carol");
      assert.equal(await whoami(app, bob!), "bob", "logged out on the old app, back on the new");
      const erin = await login(app, "erin");
      assert.equal(await whoami(before.app, erin), "nobody", "not shared with the old app");
      // Running the copy again does not remove bob's session.
      await run.shell("migrate-copy");
      assert.equal(await whoami(app, bob!), "bob");
      for (
        const claim of ["do not share sessions", "come back in the new table until they expire"]
      ) {
        assert.ok(run.guide.text.includes(claim), claim);
      }
    }));
});

describe("the express-mysql-session checklist, from express-mysql-session 3", () => {
  test("in place, with the old app stopped", () =>
    closing(async (defer) => {
      const { run, before } = await startChecklist(EMS, "express-mysql-session-v3", defer);

      await run.shell("install");
      await statusStep(run);
      await run.runSql("grant-drop");
      await stopOldApp(before);
      const [migrated] = await run.shell("migrate");
      assertOutputShows(
        run.take("migrate-output").code,
        run.delocalize(migrated!.stdout),
        "migrate",
      );
      await run.runSql("create-user");
      await run.shell("app-url");
      await run.shell("grant");
      // "leave this line out after 3a"
      const { store } = await loadStore(run, "code", defer, (code) => {
        const edited = code.replace(/^ *tablename: "app_sessions",.*after 3a\n/m, "");
        assert.notEqual(edited, code, "the snippet's copy-only line");
        return edited;
      });
      await uninstallStep(run, EMS_NPM);

      const app = await newApp(store, defer);
      await assertLoggedIn(app, before.cookies, "on the new app");
      await assertStatusAfterDeploy(run);
      await run.runSql("shrink");
      await run.runSql("shrink-in-place");
      await assertLoggedIn(app, before.cookies, "after the shrink");
      run.assertFollowedInOrder();
    }));

  test("copying, with the old app running until the switch", () =>
    closing(async (defer) => {
      const { run, before } = await startChecklist(EMS, "express-mysql-session-v3", defer);

      await run.shell("install");
      await statusStep(run);
      await run.shell("migrate-copy");
      await assertLoggedIn(before.app, before.cookies, "on the old app after the copy");
      // After the first copy: frank logs in and bob logs out, on the old app.
      const frank = await login(before.app, "frank");
      const bob = before.cookies.get("bob")!;
      await fetch(`${before.app.url}/logout`, { headers: { cookie: bob } }).then((r) => r.text());
      await run.runSql("create-user");
      await run.shell("app-url");
      await run.shell("grant-copy");
      const { store } = await loadStore(run, "code", defer);
      assert.equal(store.options.tableName, "app_sessions");
      await uninstallStep(run, EMS_NPM);

      // Step 7: the copy again just before the switch, then all traffic to the new app.
      const app = await newApp(store, defer);
      assert.equal(await whoami(app, frank), "nobody", "not copied yet");
      await run.shell("migrate-copy");
      await assertLoggedIn(app, new Map([["frank", frank]]), "after the second copy");
      await assertLoggedIn(
        app,
        new Map([...before.cookies].filter(([user]) => user !== "bob")),
        "on the new app",
      );
      assert.equal(await whoami(app, bob), "bob", "logged out on the old app, back on the new");
      await assertStatusAfterDeploy(run, ["--table", "app_sessions"]);

      await stopOldApp(before);
      await run.runSql("shrink");
      await run.runSql("shrink-copy");
      await assertLoggedIn(app, new Map([["frank", frank]]), "after the shrink");
      run.assertFollowedInOrder();
    }));
});

/** The bullet of the page's differences list that starts with `start`. */
function difference(guide: Guide, start: string): string {
  const at = guide.text.indexOf(`- **${start}`);
  assert.notEqual(at, -1, `${guide.page} lists no difference "${start}"`);
  const end = guide.text.indexOf("\n- **", at + 1);
  return guide.text.slice(at, end === -1 ? undefined : end);
}

/** Calls a store method the callback way and resolves with the arguments the callback got. */
function callbackArgs(store: unknown, method: string, ...args: unknown[]): Promise<unknown[]> {
  return new Promise((resolve) => {
    const result = (store as Record<string, (...a: unknown[]) => unknown>)[method]!.call(
      store,
      ...args,
      (...got: unknown[]) => resolve(got),
    );
    (result as Promise<unknown> | undefined)?.catch?.(() => {});
  });
}

const cookie = () => ({
  originalMaxAge: 60_000,
  expires: new Date(Date.now() + 60_000),
  httpOnly: true,
  path: "/",
});

describe("the differences the guides list, against the old stores", () => {
  test("connect-session-knex 5", () =>
    closing(async (defer) => {
      const guide = new Guide(CSK);
      const db = await createTestDatabase("differences");
      defer(() => db.drop());
      const knex = db.connect();
      const v5 = oldStore("connect-session-knex-v5", { knex, url: db.url, table: "v_old" });
      await v5.ready;
      const old = v5.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const store = new KnexMySQLStore({ knex, tablename: "v_new" }); // the default sweep
      defer(() => store.close());
      await store.ready;
      const session = () => ({ cookie: cookie(), when: new Date(0) }) as never;

      // destroy(): a number (callback: nothing) there, a boolean here.
      await old.set!("a", session());
      await store.set("a", session());
      assert.equal(await old.destroy!("a"), 1);
      assert.equal(await store.destroy("a"), true);
      assert.equal(await old.destroy!("a"), 0);
      assert.equal(await store.destroy("a"), false);
      assert.deepEqual(await callbackArgs(v5.store, "destroy", "a"), []);
      assert.deepEqual(await callbackArgs(store, "destroy", "a"), [null, false]);
      assert.match(difference(guide, "`destroy()` resolves"), /v5 called the callback with no/);

      // clear(), length(): expired rows count there, for clear() here too.
      const expired = { sess: JSON.stringify(session()), expired: "2000-01-01 00:00:00" };
      await knex("v_old").insert({ sid: "gone", ...expired });
      await knex("v_new").insert({ sid: "gone", ...expired });
      await old.set!("live", session());
      await store.set("live", session());
      assert.equal(await old.length!(), 2);
      assert.equal(await store.length(), 1);
      assert.equal(await old.clear!(), 2);
      assert.equal(await store.clear(), 2);
      assert.deepEqual(await callbackArgs(v5.store, "clear"), []);
      assert.deepEqual(await callbackArgs(store, "clear"), [null, 0]);

      // get() of a missing session: null in both; all(): ids here only; JSON in both.
      assert.equal(await old.get!("missing"), null);
      assert.equal(await store.get("missing"), null);
      await old.set!("b", session());
      await store.set("b", session());
      const [oldAll] = await old.all!() as Record<string, unknown>[];
      const [newAll] = await store.all();
      assert.equal(oldAll!.id, undefined);
      assert.equal(newAll!.id, "b");
      assert.equal(oldAll!.when, "1970-01-01T00:00:00.000Z");
      assert.equal((newAll as unknown as { when: unknown }).when, "1970-01-01T00:00:00.000Z");

      // options: a frozen view listing what the page lists.
      const optionsText = difference(guide, "`store.options` is a frozen view");
      for (const key of Object.keys(store.options)) {
        assert.ok(optionsText.includes(`\`${key}\``), `the page lists options.${key}`);
      }
      assert.throws(() => {
        (store.options as { tableName: string }).tableName = "other";
      }, TypeError);
      assert.equal(Object.isFrozen((v5.store as unknown as { options: object }).options), false);

      // nextDbCleanup: a Date; ready: a new promise each read.
      assert.ok(store.nextDbCleanup instanceof Date);
      assert.notEqual(store.ready, store.ready);

      // A session JSON cannot hold.
      const bigint = { cookie: cookie(), n: 1n } as never;
      await assert.rejects(old.set!("c", bigint), TypeError);
      await assert.rejects(store.set("c", bigint), { code: "ERR_INVALID_SESSION" });

      // Errors: a SessionStoreError, the driver's error as its cause.
      const dropped = new KnexMySQLStore({ knex, tablename: "dropped", clearInterval: 0 });
      defer(() => dropped.close());
      dropped.on("error", () => {});
      await dropped.ready;
      await knex.schema.dropTable("dropped");
      await assert.rejects(dropped.get("x"), (error: Error & { code: string }) => {
        assert.equal(error.code, "ERR_SCHEMA");
        assert.equal((error.cause as { code: string }).code, "ER_NO_SUCH_TABLE");
        return true;
      });
      assert.match(difference(guide, "Errors are"), /error\.cause\?\.code/);

      // A save of a session this store has seen, after another instance deleted it.
      const other = new KnexMySQLStore({ knex, tablename: "v_new", clearInterval: 0 });
      defer(() => other.close());
      await store.set("d", session());
      await other.destroy("d");
      await store.set("d", session());
      assert.equal(await store.get("d"), null, "not brought back");
      await old.set!("d", session());
      await knex("v_old").where("sid", "d").del();
      await old.set!("d", session());
      assert.notEqual(await old.get!("d"), null, "v5 inserted it again");

      // Options are checked.
      assert.throws(() => new KnexMySQLStore({ knex, tableNmae: "x" } as never), TypeError);
    }));

  test("express-mysql-session 3", () =>
    closing(async (defer) => {
      const guide = new Guide(EMS);
      const db = await createTestDatabase("differences");
      defer(() => db.drop());
      const knex = db.connect();
      const v3 = oldStore("express-mysql-session-v3", { knex, url: db.url, table: "v_old" });
      defer(() => v3.close());
      await v3.ready;
      const old = v3.store as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      const store = new KnexMySQLStore({ knex, tablename: "v_new", clearInterval: 0 });
      defer(() => store.close());
      const session = () => ({ cookie: cookie() }) as never;

      const result = (value: unknown) => Array.isArray(value) && "affectedRows" in value[0];
      assert.ok(result(await old.set!("a", session())));
      assert.equal(await store.set("a", session()), undefined);
      assert.deepEqual(Object.keys(await old.all!() as object), ["a"]);
      assert.deepEqual((await store.all()).map((s) => s.id), ["a"]);
      assert.ok(result(await old.destroy!("a")));
      assert.equal(await store.destroy("a"), true);
      await old.set!("b", session());
      await store.set("b", session());
      assert.ok(result(await old.clear!()));
      assert.equal(await store.clear(), 1);
      assert.equal(await old.get!("missing"), null);
      assert.equal(await store.get("missing"), null);
      assert.ok(old.length!(() => {}) instanceof Promise, "v3 returns a promise with a callback");
      assert.equal(store.length(() => {}), undefined);
      assert.ok(result(await old.clearExpiredSessions!()));
      assert.equal(await store.clearExpired(), 0);
      assert.match(difference(guide, "Return values"), /v3 resolved the driver's result/);
      assert.match(difference(guide, "Callbacks"), /v3 returned a promise as well/);
      // Its connection options are not options here.
      assert.throws(() => new KnexMySQLStore({ knex, host: "db.internal" } as never), TypeError);
    }));
});

test("every block the guides tag for the checklist is followed by a test above", () => {
  for (const page of [CSK, EMS]) {
    assert.deepEqual(
      new Guide(page).ids().filter((id) => !followed.get(page)?.has(id)),
      [],
      `${page}: tagged blocks no test followed`,
    );
  }
});
