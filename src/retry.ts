import { neverSent } from "./driver_replies.ts";
import { isConnectionError, isInterrupted, isRolledBack } from "./driver_errors.ts";
import { clock } from "./clock.ts";

/** How a failed statement is sent again. */
export interface RetryPolicy {
  /** The most resends of one statement; 0 turns resending off. Within its deadline either way. */
  maxRetries: number;
  /** Base delay in ms; resend n waits a random time up to retryDelay * 2^(n-1), capped. */
  retryDelay: number;
}

const MAX_BACKOFF = 2_000;

/**
 * Whether the statement certainly changed nothing, so that sending it again cannot reorder
 * writes: the server rolled it back (a deadlock, a lock wait timeout, a certification
 * conflict, a Group Replication certification failure) or refused it before running it (a
 * read-only member), or it never reached the driver (no connection).
 * A write whose connection failed after it was sent may have been applied: sending it again
 * could undo a later write (a logout after a save whose reply was lost), so it is not.
 */
export function certainlyNotApplied(error: unknown): boolean {
  return isRolledBack(error) || neverSent(error);
}

/**
 * Whether sending a statement that changes nothing (a read) again may succeed: it certainly
 * changed nothing, or its connection failed, or it was interrupted.
 */
export function isTransientError(error: unknown): boolean {
  return certainlyNotApplied(error) || isConnectionError(error) || isInterrupted(error);
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
