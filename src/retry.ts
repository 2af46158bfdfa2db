import { setTimeout } from "node:timers";
import { isConnectionError } from "./errors.ts";

/** How a failed statement is tried again. */
export interface RetryPolicy {
  /** Extra attempts after the first; 0 turns retrying off. */
  maxRetries: number;
  /** Base delay in ms; attempt n waits a random time up to retryDelay * 2^(n-1), capped. */
  retryDelay: number;
}

const MAX_BACKOFF = 2_000;

// Server errors after which the same statement may succeed if sent again.
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213; // also how Galera reports a certification failure
const ER_UNKNOWN_COM_ERROR = 1047; // Galera: "WSREP has not yet prepared node for application use"
const ER_QUERY_INTERRUPTED = 1317;
const ER_CONNECTION_KILLED = 1927; // MariaDB
const TRANSIENT_ERRNOS = new Set([
  ER_LOCK_WAIT_TIMEOUT,
  ER_LOCK_DEADLOCK,
  ER_UNKNOWN_COM_ERROR,
  ER_QUERY_INTERRUPTED,
  ER_CONNECTION_KILLED,
]);

/** Whether the statement lost a race with another writer (the row was busy). */
export function isWriteConflict(error: unknown): boolean {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

/**
 * Whether sending the statement again may succeed: a conflict, a node not ready, or a
 * connection that failed (possibly before the reply, so the statement may or may not have run —
 * which is why only idempotent statements are retried).
 */
export function isTransientError(error: unknown): boolean {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return (typeof errno === "number" && TRANSIENT_ERRNOS.has(errno)) || isConnectionError(error);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Continues after `attempt` failed with `error`: runs it again, after a jittered exponential
 * pause, while it fails with an error `retryable` accepts and retries remain; rejects with the
 * last error otherwise. Every statement the store sends is idempotent (upsert, touch to a given
 * time, delete, reads), so repeating one is safe. The first attempt is the caller's, so the
 * common case (it succeeds) costs nothing here.
 */
export async function retryAfter<T>(
  error: unknown,
  attempt: () => Promise<T>,
  policy: RetryPolicy,
  onRetry: (attempt: number, error: unknown) => void,
  retryable: (error: unknown) => boolean = isTransientError,
): Promise<T> {
  for (let failures = 0;; failures++) {
    if (failures >= policy.maxRetries || !retryable(error)) throw error;
    onRetry(failures + 1, error);
    const ceiling = Math.min(policy.retryDelay * 2 ** failures, MAX_BACKOFF);
    await pause(Math.random() * ceiling);
    try {
      return await attempt();
    } catch (next) {
      error = next;
    }
  }
}
