import { neverSent } from "./database.ts";
import { isConnectionError, isReadOnlyRefusal } from "./errors.ts";
import { clock } from "./clock.ts";

/** How a failed statement is sent again. */
export interface RetryPolicy {
  /** The most resends of one statement; 0 turns resending off. Within its deadline either way. */
  maxRetries: number;
  /** Base delay in ms; resend n waits a random time up to retryDelay * 2^(n-1), capped. */
  retryDelay: number;
}

const MAX_BACKOFF = 2_000;

// Server errors after which the statement certainly changed nothing: it was rolled back, or
// refused before it ran.
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213; // also how Galera reports a certification failure
const ER_UNKNOWN_COM_ERROR = 1047; // Galera: "WSREP has not yet prepared node for application use"
const ER_TRANSACTION_ROLLBACK_DURING_COMMIT = 3101; // Group Replication certification failure
const NOT_APPLIED_ERRNOS = new Set([
  ER_LOCK_WAIT_TIMEOUT,
  ER_LOCK_DEADLOCK,
  ER_UNKNOWN_COM_ERROR,
  ER_TRANSACTION_ROLLBACK_DURING_COMMIT,
]);
// "Got error 149 - 'Lock deadlock; Retry transaction' during COMMIT": Group Replication's
// applier aborted the local transaction at commit for a conflicting one certified first; it was
// rolled back. Other handler errors during COMMIT say nothing of the outcome.
const ER_ERROR_DURING_COMMIT = 1180;
const DEADLOCK_AT_COMMIT = /\berror 149\b/;
// Not here: 3100 (ER_RUN_HOOK_ERROR, "Error on observer while running replication hook
// 'before_commit'"). A member that leaves the group while its transaction awaits certification
// reports it, yet the group may have certified and committed that transaction.
// A statement interrupted by KILL QUERY or a killed connection: it may have committed first.
const ER_QUERY_INTERRUPTED = 1317;
const ER_CONNECTION_KILLED = 1927; // MariaDB

function errnoOf(error: unknown): unknown {
  return (error as { errno?: unknown } | null)?.errno;
}

/** Whether the statement lost a race with another writer (the row was busy). */
export function isWriteConflict(error: unknown): boolean {
  const errno = errnoOf(error);
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

/**
 * Whether the statement certainly changed nothing, so that sending it again cannot reorder
 * writes: the server rolled it back (a deadlock, a lock wait timeout, a certification
 * conflict, a Group Replication certification failure) or refused it before running it (a
 * read-only member), or it never reached the driver (no connection).
 * A write whose connection failed after it was sent may have been applied: sending it again
 * could undo a later write (a logout after a save whose reply was lost), so it is not.
 */
export function certainlyNotApplied(error: unknown): boolean {
  return NOT_APPLIED_ERRNOS.has(errnoOf(error) as number) || isReadOnlyRefusal(error) ||
    isDeadlockAtCommit(error) || neverSent(error);
}

function isDeadlockAtCommit(error: unknown): boolean {
  const { sqlMessage, message } = (error ?? {}) as { sqlMessage?: unknown; message?: unknown };
  return errnoOf(error) === ER_ERROR_DURING_COMMIT &&
    DEADLOCK_AT_COMMIT.test(String(sqlMessage ?? message));
}

/** Whether sending a statement that changes nothing (a read) again may succeed. */
export function isTransientError(error: unknown): boolean {
  const errno = errnoOf(error);
  return certainlyNotApplied(error) || isConnectionError(error) ||
    errno === ER_QUERY_INTERRUPTED || errno === ER_CONNECTION_KILLED;
}

/**
 * Continues after `attempt` failed with `error`: while the error is one `resendable` accepts
 * and the statement's `deadline` (clock.monotonic() time) leaves room, waits a jittered,
 * growing pause and runs `attempt(msLeft)` again; rejects with the last error otherwise. The
 * first attempt is the caller's, so the common case (it succeeds) costs nothing here.
 */
export async function retryAfter<T>(
  error: unknown,
  attempt: (msLeft: number) => Promise<T>,
  deadline: number,
  policy: RetryPolicy,
  onRetry: (attempt: number, error: unknown) => void,
  resendable: (error: unknown) => boolean,
): Promise<T> {
  for (let failures = 0;; failures++) {
    if (failures >= policy.maxRetries || !resendable(error)) throw error;
    const ceiling = Math.min(policy.retryDelay * 2 ** Math.min(failures, 30), MAX_BACKOFF);
    const delay = clock.random() * ceiling;
    if (clock.monotonic() + delay >= deadline) throw error;
    onRetry(failures + 1, error);
    await clock.rest(delay, { unref: true });
    try {
      return await attempt(deadline - clock.monotonic());
    } catch (next) {
      error = next;
    }
  }
}
