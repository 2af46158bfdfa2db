import type { Database } from "./database.ts";
import type { Coalescing } from "./statement_batches.ts";
import { databaseError, isConnectionError, isWriteConflict } from "./driver_errors.ts";
import { isSetupError, SessionStoreError } from "./errors.ts";
import type { ConnectionHealth } from "./health.ts";
import { certainlyNotApplied, isTransientError, retryAfter, type RetryPolicy } from "./retry.ts";
import type { Startup } from "./startup.ts";
import { statementSent } from "./tracing.ts";
import { clock } from "./clock.ts";

/**
 * What may be sent again after a failure. A read, after any transient failure. A write only
 * when it certainly changed nothing: resending one whose reply was lost could undo a later
 * write (a logout). A sweep batch, like a read, except after a conflict: another instance is
 * sweeping the same rows, and leaving them to it is the point.
 */
export type Resendable = (error: unknown) => boolean;
export const READ: Resendable = isTransientError;
export const WRITE: Resendable = certainlyNotApplied;
export const SWEEP: Resendable = (error) => isTransientError(error) && !isWriteConflict(error);

/** What a write whose reply never came says: it may have been applied, and was not resent. */
const UNKNOWN_OUTCOME = "the server may or may not have applied the write, and it was not " +
  "sent again, as a late copy could undo a later write";

/**
 * Counts a statement into its operation's trace, if it is traced, and returns what tells that
 * trace the size of the batch the statement went out with.
 */
function traced(sql: string): ((batchSize: number) => void) | undefined {
  const trace = statementSent(sql);
  return trace && ((batchSize) => {
    trace.batchSize = batchSize;
  });
}

/** Whether `error` is a deadline the database layer enforced (no reply, or no connection). */
function isTimeout(error: unknown): boolean {
  const code = error instanceof SessionStoreError ? error.code : undefined;
  return code === "ERR_TIMEOUT" || code === "ERR_POOL_TIMEOUT";
}

export interface StatementRunnerOptions extends RetryPolicy {
  db: Database;
  startup: Startup;
  health: ConnectionHealth;
  /** The deadline of each operation, its resends included, in ms. */
  queryTimeout: number;
  /** A statement is being sent again (the store counts it and emits `retry`). */
  onRetry: (operation: string, attempt: number, error: unknown) => void;
  /** A set-up error, to report once. */
  onSetupError: (error: SessionStoreError) => void;
  /** Whether the store is closing: nothing is resent then. */
  closing: () => boolean;
}

/**
 * The one path of every statement the store sends: it waits for the start-up check, gives
 * each operation its deadline, resends what may be resent (see {@link Resendable}) and turns
 * the final failure into the SessionStoreError the operation reports, telling the health
 * monitor and the start-up what it means.
 */
export class StatementRunner {
  readonly #options: StatementRunnerOptions;

  constructor(options: StatementRunnerOptions) {
    this.#options = options;
  }

  /**
   * A SELECT (or a CALL that selects), resolving to its rows; with `coalescing`, it may go out
   * with others of its kind waiting for a connection at the same time.
   */
  rows<Row>(
    operation: string,
    sql: string,
    values: unknown[],
    resendable: Resendable,
    coalescing?: Coalescing,
  ): Promise<Row[]> {
    const { db } = this.#options;
    return this.#send(
      operation,
      (msLeft) => db.execute<Row>(sql, values, msLeft, coalescing, traced(sql)),
      resendable,
    );
  }

  /** A CALL that selects nothing, resolving to the rows it changed; `coalescing` as for rows. */
  write(
    operation: string,
    sql: string,
    values: unknown[],
    resendable: Resendable,
    coalescing?: Coalescing,
  ): Promise<number> {
    const { db } = this.#options;
    return this.#send(
      operation,
      (msLeft) => db.write(sql, values, msLeft, coalescing, traced(sql)),
      resendable,
    );
  }

  /**
   * Once the schema is known usable, straight to the database (the hot path: no retry
   * machinery on the first attempt); a failure goes to #recover. `attempt` sends the statement
   * once, within `msLeft` ms (the default deadline when undefined).
   */
  #send<T>(
    operation: string,
    attempt: (msLeft?: number) => Promise<T>,
    resendable: Resendable,
  ): Promise<T> {
    const { startup, queryTimeout } = this.#options;
    if (!startup.facts) {
      return startup.started().then(() => this.#send(operation, attempt, resendable));
    }
    const deadline = clock.monotonic() + queryTimeout;
    return attempt().catch((error) =>
      this.#recover(operation, attempt, resendable, deadline, error)
    );
  }

  /** Sends the statement again while that is safe and its deadline allows, or reports why not. */
  async #recover<T>(
    operation: string,
    attempt: (msLeft: number) => Promise<T>,
    resendable: Resendable,
    deadline: number,
    error: unknown,
  ): Promise<T> {
    const { health, onRetry, closing } = this.#options;
    try {
      return await retryAfter(
        error,
        attempt,
        deadline,
        this.#options,
        (attempt, cause) => {
          // A connection that failed: is the server gone? Ask now, not at the deadline.
          if (isConnectionError(cause)) health.suspect();
          onRetry(operation, attempt, cause);
        },
        // The database layer's own errors (a deadline, a full queue, closing) are final.
        (cause) => !closing() && !(cause instanceof SessionStoreError) && resendable(cause),
      );
    } catch (final) {
      throw this.#failure(operation, final, resendable === WRITE);
    }
  }

  /** The error an operation reports, after telling whoever needs to know. */
  #failure(operation: string, cause: unknown, write: boolean): SessionStoreError {
    const unanswered = isConnectionError(cause) || isTimeout(cause);
    const failure = databaseError(
      operation,
      cause,
      write && unanswered && !certainlyNotApplied(cause) ? UNKNOWN_OUTCOME : undefined,
    );
    if (isSetupError(failure)) {
      this.#options.onSetupError(failure);
      // A table or procedure gone at run time: the next operation runs the start-up check
      // again, which reinstalls it with createtable, or fails fast with the fix.
      if (failure.code === "ERR_SCHEMA") this.#options.startup.invalidate();
    } else if (unanswered) {
      this.#options.health.suspect();
    }
    return failure;
  }
}
