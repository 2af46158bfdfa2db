// Tracing: every store operation publishes one trace on `knex-mysql-session:operation`, with
// what operators need (the operation, the table, the procedure, the statements sent, the
// error's code) and nothing private; and the OpenTelemetry recipe of the Tracing page, run as
// printed with OpenTelemetry's SDK, makes spans and metrics of them: a resent write and a get
// past its deadline visible as such.
import assert from "node:assert/strict";
import diagnosticsChannel from "node:diagnostics_channel";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { metrics, trace } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { type KnexMySQLStore, type OperationTrace, TRACING_CHANNEL } from "../mod.ts";
import { type AppAccount, appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, everyConnectionRuns, type TestDatabase } from "./helpers/database.ts";
import { serverFacts } from "./helpers/server.ts";
import { sessionFor } from "./helpers/sessions.ts";
import { proxyFor } from "./fixtures/tcp_proxy.ts";

const root = new URL("..", import.meta.url);
const channel = diagnosticsChannel.tracingChannel<OperationTrace, OperationTrace>(TRACING_CHANNEL);
/** Handlers for the events a test does not watch (Node 20's types want all five). */
const IGNORED = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
const SID = "trace-me-7f3a";
const SECRET = "the-session-data-9b2c";

let db: TestDatabase;
let app: AppAccount;
let kind: "mysql" | "mariadb";
const stores: KnexMySQLStore[] = [];

before(async () => {
  db = await createTestDatabase("tracing");
  app = await appAccount(db);
  kind = (await serverFacts(db.admin)).kind;
});
after(async () => {
  await Promise.all(stores.map((store) => store.close()));
  await db?.drop();
});

function open(options: Parameters<AppAccount["store"]>[0] = {}): KnexMySQLStore {
  const store = app.store({ disableDbCleanup: true, userId: () => "alice", ...options });
  store.on("warning", () => {});
  stores.push(store);
  return store;
}

/** Every operation the store traces, each once, in order. */
async function everyOperation(store: KnexMySQLStore): Promise<void> {
  await store.set(SID, sessionFor({ secret: SECRET }));
  await store.get(SID);
  await store.touch(SID, sessionFor({ secret: SECRET }, 7_200_000));
  await store.length();
  await store.all();
  await store.sessionsOf("alice");
  await store.countOf("alice");
  await store.destroyUser("alice");
  await store.destroy(SID);
  await store.clearExpired();
  await store.clear();
}
const OPERATIONS = [
  "set",
  "get",
  "touch",
  "length",
  "all",
  "sessionsOf",
  "countOf",
  "destroyUser",
  "destroy",
  "clearExpired",
  "clear",
];

/** Holds a row lock on `sid` for `ms` from another connection; `released` settles after. */
async function holdRow(sid: string, ms: number): Promise<{ released: Promise<void> }> {
  const transaction = await db.admin.transaction();
  await transaction.raw(`SELECT sid FROM ${app.table} WHERE sid = ? FOR UPDATE`, [sid]);
  const released = new Promise<void>((resolve) =>
    setTimeout(() => transaction.commit().then(() => resolve()), ms)
  );
  return { released };
}

describe("the tracing channel", () => {
  it("one trace per operation: table, database, server, procedure, statements; nothing private", async () => {
    const store = open();
    await store.ready;
    const ended: OperationTrace[] = [];
    let started = 0;
    const handlers = {
      ...IGNORED,
      start: () => started++,
      asyncEnd: (t: OperationTrace) => ended.push(t),
    };
    channel.subscribe(handlers);
    try {
      await everyOperation(store);
    } finally {
      channel.unsubscribe(handlers);
    }
    assert.deepEqual(ended.map((t) => t.operation), OPERATIONS);
    assert.equal(started, OPERATIONS.length);
    for (const t of ended) {
      assert.equal(t.table, app.table);
      assert.equal(t.database, db.name);
      assert.equal(t.server, kind);
      assert.equal(t.error, undefined, `${t.operation} failed`);
      const text = JSON.stringify({ ...t, result: undefined });
      assert.ok(!text.includes(SID) && !text.includes(SECRET) && !text.includes("alice"), text);
    }
    const byName = Object.fromEntries(ended.map((t) => [t.operation, t]));
    assert.equal(byName.get?.procedure, undefined, "a read calls no procedure");
    assert.equal(byName.get?.statements, 1);
    assert.match(byName.set?.procedure ?? "", new RegExp(`^${app.table}_set_v\\d+$`));
    assert.match(byName.destroyUser?.procedure ?? "", /_destroy_user_v\d+$/);
    assert.equal(byName.clearExpired?.statements, 1, "one batch: nothing expired");
  });

  it("publishes nothing while nobody subscribes", async () => {
    const store = open();
    let seen = 0;
    const probe = { ...IGNORED, start: () => seen++ };
    channel.subscribe(probe);
    channel.unsubscribe(probe);
    // Each of the five channels: Bun's tracing channel has no hasSubscribers of its own.
    const { start, end, asyncStart, asyncEnd, error } = channel;
    for (const each of [start, end, asyncStart, asyncEnd, error]) {
      assert.equal(each.hasSubscribers, false);
    }
    await store.set("unwatched", sessionFor({}));
    assert.equal(seen, 0);
  });
});

describe("the OpenTelemetry recipe on the Tracing page, with the SDK", () => {
  const spans = new InMemorySpanExporter();
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({
    exporter: metricExporter,
    exportIntervalMillis: 3_600_000,
  });
  let scratch: string;

  before(async () => {
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
    );
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    // The recipe as printed, its package specifier mapped onto this checkout.
    const page = readFileSync(new URL("docs/docs/tracing.md", root), "utf8");
    const recipe = /^```ts title="opentelemetry\.ts"\n([\s\S]*?)^```$/m.exec(page)?.[1];
    assert.ok(recipe, "the Tracing page prints opentelemetry.ts");
    scratch = mkdtempSync(join(new URL("tests/", root).pathname, ".otel-"));
    const file = join(scratch, "opentelemetry.ts");
    writeFileSync(
      file,
      recipe.replace('"knex-mysql-session"', JSON.stringify(new URL("mod.ts", root).href)),
    );
    await import(pathToFileURL(file).href);
  });
  after(async () => {
    rmSync(scratch, { recursive: true, force: true });
    await reader.shutdown();
    trace.disable();
    metrics.disable();
  });

  async function observeStore(store: KnexMySQLStore): Promise<void> {
    const recipe = await import(pathToFileURL(join(scratch, "opentelemetry.ts")).href);
    recipe.observeStore(store);
  }

  const attributesOf = (span: ReadableSpan) => span.attributes as Record<string, unknown>;

  it("a span per operation, by the database semantic conventions", async () => {
    const store = open();
    await store.ready;
    spans.reset();
    await everyOperation(store);
    const finished = spans.getFinishedSpans();
    assert.deepEqual(
      finished.map((span) => span.name),
      OPERATIONS.map((op) => `${op} ${app.table}`),
    );
    for (const span of finished) {
      const attributes = attributesOf(span);
      assert.equal(attributes["db.system.name"], kind);
      assert.equal(attributes["db.namespace"], db.name);
      assert.equal(attributes["db.collection.name"], app.table);
      assert.equal(span.status.code, 0, `${span.name}: status unset`);
      assert.ok(!JSON.stringify(attributes).includes(SID));
    }
    const set = finished.find((span) => span.name.startsWith("set "))!;
    assert.match(String(attributesOf(set)["db.stored_procedure.name"]), /_set_v\d+$/);
    const get = finished.find((span) => span.name.startsWith("get "))!;
    assert.equal(attributesOf(get)["db.stored_procedure.name"], undefined);
  });

  it("a set sent again after a lock wait: statements 2 or more, status OK; retries counted", async () => {
    // Lock waits give up after 1 s (error 1205), which the store resends.
    const store = open({
      knex: app.knex(everyConnectionRuns("SET SESSION innodb_lock_wait_timeout = 1", 4)),
    });
    await observeStore(store);
    await store.set("busy", sessionFor({ v: 1 }));
    const { released } = await holdRow("busy", 1_500);
    spans.reset();
    await store.set("busy", sessionFor({ v: 2 }));
    await released;
    const [span] = spans.getFinishedSpans();
    assert.ok(span, "a span for the set");
    assert.ok(Number(attributesOf(span)["knex_mysql_session.statements"]) >= 2);
    assert.equal(span.status.code, 0);
    await reader.forceFlush();
    const points = metricExporter.getMetrics().at(-1)?.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((metric) => metric.descriptor.name === "knex_mysql_session.retries")?.dataPoints ?? [];
    assert.ok(points.some((point) => Number(point.value) >= 1), "the retry is counted");
  });

  it("gets that went out as one SELECT: db.operation.batch.size on their spans", async () => {
    const store = open({ knex: app.knex({ pool: { min: 0, max: 1 } }) });
    await store.set("batched", sessionFor({}));
    spans.reset();
    await Promise.all(Array.from({ length: 10 }, () => store.get("batched")));
    const sizes = spans.getFinishedSpans().map((span) =>
      attributesOf(span)["db.operation.batch.size"]
    );
    // The first went alone on the one connection; the nine that waited for it, together.
    assert.deepEqual(sizes.sort(), [...Array(9).fill(9), undefined]);
  });

  it("a get past its deadline: a failed span with error.type ERR_TIMEOUT", async () => {
    const { proxy, url } = await proxyFor(app.url);
    try {
      const store = open({ connection: url, queryTimeout: 500 });
      await store.ready;
      await store.set("slow", sessionFor({}));
      proxy.pause(); // a silent partition: sockets open, nothing moves
      spans.reset();
      await assert.rejects(store.get("slow"), { code: "ERR_TIMEOUT" });
      const [span] = spans.getFinishedSpans();
      assert.ok(span, "a span for the get");
      assert.equal(attributesOf(span)["error.type"], "ERR_TIMEOUT");
      assert.equal(span.status.code, 2, "status ERROR");
    } finally {
      proxy.resume();
      await proxy.cut();
    }
  });
});
