// Tracing without a dependency: every store operation publishes on one tracing channel of
// `node:diagnostics_channel` (Node, Deno and Bun have it), which OpenTelemetry, or any other
// subscriber, turns into spans. While nobody subscribes, an operation costs one property read
// more, and nothing is allocated for it.
import { AsyncLocalStorage } from "node:async_hooks";
import diagnosticsChannel from "node:diagnostics_channel";
import type { ServerKind } from "./server.ts";

/** The store operations that publish a trace, as `operation` names them. */
export type TracedOperation =
  | "get"
  | "set"
  | "touch"
  | "destroy"
  | "length"
  | "all"
  | "clear"
  | "clearExpired"
  | "sweep"
  | "sessionsOf"
  | "countOf"
  | "destroyUser";

/**
 * What a trace of one store operation carries: the context object of the tracing channel
 * `knex-mysql-session:operation`, from `start` to `asyncEnd`. Never a session id, a user id or
 * session data.
 */
export interface OperationTrace {
  /** The store method (`sweep`: one batch of the periodic sweep). */
  readonly operation: TracedOperation;
  /** The sessions table. */
  readonly table: string;
  /** The database of the store's connection, when its settings name one. */
  readonly database: string | undefined;
  /** `mysql` or `mariadb`, once the store's start-up check has met the server. */
  server: "mysql" | "mariadb" | undefined;
  /** The stored procedure of the last CALL sent (reads are SELECTs and name none). */
  procedure: string | undefined;
  /** Statements sent, each resend counted: 0 when the operation sent none (a touch skipped). */
  statements: number;
  /**
   * How many operations the last statement sent answered: 1 when it went alone, more when gets
   * (saves, touches, destroys) waiting for a connection at the same moment went out as one;
   * undefined when none was sent.
   */
  batchSize: number | undefined;
  /** Set by the channel when the operation failed: a SessionStoreError, its `code` to branch on. */
  error?: unknown;
  /** Set by the channel when the operation succeeded: what it resolved to. */
  result?: unknown;
}

/**
 * The name of the tracing channel every store operation publishes on:
 * `diagnostics_channel.tracingChannel(TRACING_CHANNEL).subscribe({ start, asyncEnd, error })`,
 * each handler called with the operation's {@link OperationTrace}.
 */
export const TRACING_CHANNEL = "knex-mysql-session:operation";

const operationChannel = diagnosticsChannel.tracingChannel<OperationTrace, OperationTrace>(
  TRACING_CHANNEL,
);

/**
 * Whether anyone subscribes to the channel: its own `hasSubscribers` where the runtime has it
 * (Node, Deno); else any of its five channels' (Bun 1.4's tracing channels lack the property,
 * which would read as "nobody" forever).
 */
const subscribed: () => boolean = (() => {
  if (typeof operationChannel.hasSubscribers === "boolean") {
    return () => operationChannel.hasSubscribers;
  }
  const { start, end, asyncStart, asyncEnd, error } = operationChannel;
  const channels = [start, end, asyncStart, asyncEnd, error];
  return () => channels.some((channel) => channel.hasSubscribers);
})();

/** The trace of the operation under way, for the statements it sends to count themselves in. */
const current = new AsyncLocalStorage<OperationTrace>();

/** What the store's start-up knows of the server. */
interface StartupFacts {
  readonly facts: { server: ServerKind } | undefined;
}

/** Traces the operations of one store: its table, database and server. */
export class OperationTracer {
  readonly #table: string;
  readonly #database: string | undefined;
  readonly #startup: StartupFacts;

  /** `knex` is the store's; `startup` knows the server's kind once its check has passed. */
  constructor(knex: unknown, table: string, startup: StartupFacts) {
    const settings = (knex as { client?: { connectionSettings?: { database?: unknown } } })
      .client?.connectionSettings;
    this.#table = table;
    this.#database = typeof settings?.database === "string" ? settings.database : undefined;
    this.#startup = startup;
  }

  #server(): ServerKind | undefined {
    return this.#startup.facts?.server;
  }

  /** Runs `work`, the store operation `operation`, inside a trace when anyone subscribes. */
  run<T>(operation: TracedOperation, work: () => Promise<T>): Promise<T> {
    if (!subscribed()) return work();
    const trace: OperationTrace = {
      operation,
      table: this.#table,
      database: this.#database,
      server: this.#server(),
      procedure: undefined,
      statements: 0,
      batchSize: undefined,
    };
    const run = async () => {
      try {
        return await work();
      } finally {
        trace.server = this.#server(); // known once the start-up check has met the server
      }
    };
    return operationChannel.tracePromise(() => current.run(trace, run), trace);
  }
}

const CALLED = /^CALL `([^`]+)`/;

/** Counts a statement into the operation's trace, if it is traced, and returns the trace. */
export function statementSent(sql: string): OperationTrace | undefined {
  if (!subscribed()) return undefined;
  const trace = current.getStore();
  if (!trace) return undefined;
  trace.statements++;
  trace.procedure = CALLED.exec(sql)?.[1] ?? trace.procedure;
  return trace;
}
