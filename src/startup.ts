import { databaseError, isRolledBack } from "./driver_errors.ts";
import { closedError, isSetupError, type SessionStoreError } from "./errors.ts";
import { retryAfter, type RetryPolicy } from "./retry.ts";
import type { ServerFacts } from "./schema_setup.ts";
import { clock } from "./clock.ts";

export interface StartupOptions extends RetryPolicy {
  /**
   * Checks (and with createtable, installs) the schema, idempotently; rejects with the
   * driver's error or a SessionStoreError naming the fix.
   */
  check: () => Promise<ServerFacts>;
  /** How long a check rolled back by the server is run again, in ms. */
  queryTimeout: number;
  /** The check is being run again after the server rolled it back. */
  onRetry: (attempt: number, error: unknown) => void;
  /** The check passed (again). */
  onReady: (facts: ServerFacts) => void;
  /** The check failed for want of a fix by someone (ERR_SCHEMA, ERR_ACCESS_DENIED, ERR_CONFIG). */
  onSetupError: (error: SessionStoreError) => void;
  /** The check failed without an answer from the database: the health monitor takes over. */
  onUnreachable: () => void;
  /** After a set-up error, operations fail at once with it; the check runs again after this. */
  recheckAfter: number;
}

/**
 * The store's start-up: the schema check, run once at a time, its facts once it has passed,
 * and what a set-up error does. A set-up error stays until someone fixes the schema, the
 * grants or the configuration, so operations fail at once with it instead of each running the
 * check; the check runs again after `recheckAfter` ms, or at once when asked (`ready`).
 */
export class Startup {
  readonly #options: StartupOptions;
  #facts: ServerFacts | undefined;
  #running: Promise<ServerFacts> | undefined;
  #failure: { error: SessionStoreError; at: number } | undefined;
  #closed = false;
  /** Counts invalidate() calls: a check that began before one proves nothing after it. */
  #generation = 0;

  constructor(options: StartupOptions) {
    this.#options = options;
  }

  /** The facts of the last check that passed, while they hold. */
  get facts(): ServerFacts | undefined {
    return this.#facts;
  }

  /** The facts, from the last check that passed or from one run now. */
  started(): Promise<ServerFacts> {
    if (this.#closed) return Promise.reject(closedError());
    if (this.#facts) return Promise.resolve(this.#facts);
    if (this.#failure && clock.now() - this.#failure.at < this.#options.recheckAfter) {
      return Promise.reject(this.#failure.error);
    }
    this.#running ??= this.#check().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Like started(), but a set-up error does not wait for its recheck time. */
  ready(): Promise<ServerFacts> {
    if (this.#failure) this.#failure.at = -Infinity;
    return this.started();
  }

  /** The schema changed under the store (a table or procedure gone): check again next time. */
  invalidate(): void {
    this.#generation++;
    this.#facts = undefined;
  }

  /** No check starts after this; one under way finishes (its statements have deadlines). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#facts = undefined;
    await this.#running?.catch(() => {});
  }

  /**
   * The check, run again while the server rolls it back: on a cluster, stores starting on
   * several nodes at once each install the schema, and one node's DDL aborts a statement of
   * another's check (Galera reports a deadlock). The check is idempotent, so running it again
   * is safe.
   */
  #attempt(): Promise<ServerFacts> {
    const { check, queryTimeout, onRetry } = this.#options;
    const deadline = clock.monotonic() + queryTimeout;
    return check().catch((error) =>
      retryAfter(
        error,
        check,
        deadline,
        this.#options,
        onRetry,
        (cause) => !this.#closed && isRolledBack(cause),
      )
    ).catch((error) => {
      throw databaseError("start-up", error);
    });
  }

  async #check(): Promise<ServerFacts> {
    const generation = this.#generation;
    let facts: ServerFacts;
    try {
      facts = await this.#attempt();
    } catch (error) {
      if (isSetupError(error)) {
        this.#failure = { error: error as SessionStoreError, at: clock.now() };
        this.#options.onSetupError(error as SessionStoreError);
      } else if (!this.#closed) {
        this.#options.onUnreachable();
      }
      throw error;
    }
    if (this.#closed) throw closedError();
    // The schema changed while this check ran: its callers get its facts, the next one checks.
    if (generation !== this.#generation) return facts;
    this.#facts = facts;
    this.#failure = undefined;
    this.#options.onReady(facts);
    return facts;
  }
}
