// The connection password never shows up in an error (message, stack, cause chain, or what a
// logger prints of it), an event, the console, an option TypeError, or the CLI's output.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import process from "node:process";
import { inspect } from "node:util";
import { after, before, describe, it } from "node:test";
import { KnexMySQLStore, type KnexMySQLStoreOptions } from "../mod.ts";
import { cli } from "./helpers/cli.ts";
import { appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, tableName, type TestDatabase } from "./helpers/database.ts";
import { procedureName } from "../src/sql.ts";

/** Distinctive, with a character that URLs percent-encode, so both spellings can be sought. */
const PASSWORD = `S3cret@Pw!${randomBytes(4).toString("hex")}`;
const SECRET_FORMS = [PASSWORD, encodeURIComponent(PASSWORD), PASSWORD.slice(0, 8)];
/** No server listens on port 1: connecting is refused at once. */
const UNREACHABLE_URL = `mysql://kms_user:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/db`;

/** `url` with another password. */
function withPassword(url: string, password: string): string {
  const changed = new URL(url);
  changed.password = encodeURIComponent(password);
  return changed.toString();
}

/** Everything a logger could print of `value`: messages, stacks, own properties, causes. */
function printable(value: unknown, seen = new Set<unknown>()): string[] {
  if (seen.has(value)) return [];
  seen.add(value);
  if (typeof value !== "object" || value === null) return [String(value)];
  const texts = [inspect(value, { depth: 6, showHidden: true })];
  if (value instanceof Error) {
    texts.push(value.message, String(value.stack));
    texts.push(...printable(value.cause, seen));
    if (value instanceof AggregateError) {
      for (const inner of value.errors) texts.push(...printable(inner, seen));
    }
  }
  return texts;
}

function assertNoSecret(value: unknown, where: string): void {
  for (const text of printable(value)) {
    for (const secret of SECRET_FORMS) {
      assert.ok(!text.includes(secret), `${where} shows the password:\n${text}`);
    }
  }
}

const CONSOLE_METHODS = ["log", "info", "warn", "error", "debug", "trace"] as const;

/** Collects console output and process warnings while a test runs. */
function captureOutput() {
  const output: unknown[][] = [];
  const originals = CONSOLE_METHODS.map((name) => [name, console[name]] as const);
  for (const name of CONSOLE_METHODS) {
    console[name] = (...args: unknown[]) => void output.push([name, ...args]);
  }
  const onWarning = (warning: Error) => output.push(["process warning", warning]);
  process.on("warning", onWarning);
  return {
    output,
    restore() {
      for (const [name, original] of originals) console[name] = original;
      process.off("warning", onWarning);
    },
  };
}

/** Every store event that carries something, by name. */
function recordEvents(store: KnexMySQLStore): unknown[][] {
  const events: unknown[][] = [];
  for (const name of ["connect", "disconnect", "warning", "retry"] as const) {
    store.on(name, (...args: unknown[]) => events.push([name, ...args]));
  }
  return events;
}

/** The outcome of every store method, through promises and callbacks. */
async function everyOutcome(store: KnexMySQLStore): Promise<unknown[]> {
  const session = { cookie: { maxAge: 60_000 }, n: 1 } as never;
  const promised: Promise<unknown>[] = [
    store.ready,
    store.get("sid"),
    store.set("sid", session),
    store.touch("sid", session),
    store.destroy("sid"),
    store.all(),
    store.length(),
    store.clear(),
    store.clearExpired(),
  ];
  const viaCallback = (call: (callback: (error: unknown) => void) => void) =>
    new Promise<unknown>((resolve) => call((error) => resolve(error)));
  const callbacks = [
    viaCallback((done) => store.get("sid", done)),
    viaCallback((done) => store.set("sid", session, done)),
    viaCallback((done) => store.length(done)),
  ];
  const settled = await Promise.allSettled(promised);
  return [
    ...settled.map((outcome) => outcome.status === "rejected" ? outcome.reason : outcome.value),
    ...await Promise.all(callbacks),
  ];
}

describe("the connection password stays out of errors and logs", () => {
  let database: TestDatabase;
  let capture: ReturnType<typeof captureOutput>;
  /** An app account whose password is PASSWORD, on a table of its own. */
  const appWithPassword = () => appAccount(database, { table: tableName(), password: PASSWORD });

  before(async () => {
    database = await createTestDatabase("secrets");
    capture = captureOutput();
  });

  after(async () => {
    capture.restore();
    await database.drop();
  });

  /** Runs every method against a store that fails, then checks all it produced. */
  async function checkFailingStore(options: KnexMySQLStoreOptions, label: string) {
    const store = new KnexMySQLStore({ clearInterval: 20, maxRetries: 1, ...options });
    const events = recordEvents(store);
    const outcomes = await everyOutcome(store);
    const errors = outcomes.filter((outcome) => outcome instanceof Error);
    assert.ok(errors.length >= 10, `${label}: only ${errors.length} operations failed`);
    assertNoSecret(inspect(store, { depth: 4, showHidden: true }), `${label}: the store`);
    await store.close();
    for (const [i, error] of errors.entries()) assertNoSecret(error, `${label}: error ${i}`);
    assertNoSecret(events, `${label}: events`);
    assertNoSecret(capture.output, `${label}: console output`);
    return errors;
  }

  it("an unreachable server, reached by a URL with the password", async () => {
    const errors = await checkFailingStore({ connection: UNREACHABLE_URL }, "URL");
    assert.match((errors[0] as Error).message, /ECONNREFUSED|connect/);
  });

  it("an unreachable server, reached by a config object with the password", async () => {
    await checkFailingStore({
      connection: { host: "127.0.0.1", port: 1, user: "kms_user", password: PASSWORD },
    }, "config");
  });

  it("a wrong password against the real server", async () => {
    const wrong = `${PASSWORD}-wrong`;
    const errors = await checkFailingStore({
      connection: withPassword((await appWithPassword()).url, wrong),
    }, "wrong password");
    assert.match((errors[0] as Error).message, /Access denied/);
    for (const error of errors) assert.ok(!printable(error).some((text) => text.includes(wrong)));
  });

  it("the right password, then the schema vanishes and the cleanup fails", async () => {
    const app = await appWithPassword();
    const table = app.table;
    // Without createtable, nothing reinstalls the schema, so every operation fails.
    const store = app.store({ connection: app.url, clearInterval: 20 });
    const events = recordEvents(store);
    await store.ready;
    await store.set("sid", { cookie: { maxAge: 60_000 } } as never);
    await database.admin.raw(`DROP TABLE \`${table}\``);
    await database.admin.raw(`DROP PROCEDURE \`${procedureName(table, "set")}\``);
    const outcomes = await everyOutcome(store);
    await new Promise((resolve) => setTimeout(resolve, 200)); // a few failed sweeps
    await store.close();
    const errors = outcomes.filter((outcome) => outcome instanceof Error);
    assert.ok(errors.length >= 9, `only ${errors.length} operations failed`);
    for (const [i, error] of errors.entries()) assertNoSecret(error, `error ${i}`);
    assertNoSecret(events, "events");
    const sweepLogs = capture.output.filter(([name]) => name === "error");
    assert.ok(sweepLogs.length > 0, "the failed sweeps were not logged");
    assertNoSecret(capture.output, "console output");
  });

  it("the CLI's messages and output", async () => {
    const wrong = withPassword((await appWithPassword()).url, `${PASSWORD}-x`);
    const runs: [string[], Record<string, string>][] = [
      [["status", "--url", UNREACHABLE_URL], {}],
      [["status"], { MYSQL_URL: UNREACHABLE_URL }],
      [["install", "--url", wrong], {}],
      [["status", "--url", `mysql://u:${PASSWORD}@127.0.0.1:1/db`], {}], // not percent-encoded
      [["status", "--url", UNREACHABLE_URL.replace(":1/", ":port/")], {}], // does not parse
      [["status", "--url", UNREACHABLE_URL.replace("/db", "")], {}], // names no database
      [["status", "--url", UNREACHABLE_URL.replace("mysql:", "postgres:")], {}],
    ];
    for (const [argv, env] of runs) {
      const { code, stdout, stderr } = await cli(argv, { env });
      assert.notEqual(code, 0, argv.join(" "));
      assertNoSecret(stdout + stderr, `knex-mysql-session ${argv[0]}`);
    }
  });

  it("option TypeErrors around a connection URL", () => {
    const mistakes: unknown[] = [
      { connection: UNREACHABLE_URL, tablename: "bad name" },
      { connection: UNREACHABLE_URL, sidFieldName: "a", sidfieldname: "b" },
      { connection: UNREACHABLE_URL, conection: UNREACHABLE_URL },
      { connection: UNREACHABLE_URL, ttl: -1 },
      { connection: UNREACHABLE_URL, knex: database.admin }, // refused before connecting
      { connection: 42 },
      { connection: "" },
    ];
    for (const options of mistakes) {
      assert.throws(() => new KnexMySQLStore(options as never), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assertNoSecret(error, `TypeError for ${Object.keys(options as object)}`);
        return true;
      });
    }
  });

  it("option TypeErrors for a URL given where no URL belongs", () => {
    const mistakes: unknown[] = [
      UNREACHABLE_URL, // the URL as the whole options argument
      { knex: UNREACHABLE_URL },
      { connection: UNREACHABLE_URL, tableName: UNREACHABLE_URL },
    ];
    for (const options of mistakes) {
      assert.throws(() => new KnexMySQLStore(options as never), (error: unknown) => {
        assert.ok(error instanceof TypeError, String(error));
        assertNoSecret(error, `TypeError for ${inspect(options).slice(0, 20)}`);
        return true;
      });
    }
  });
});
