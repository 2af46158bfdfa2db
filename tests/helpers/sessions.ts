// Session objects shaped like express-session's, and small helpers the store tests share.
import type { SessionData } from "express-session";

/**
 * A session whose cookie has `maxAge` and expires `expiresIn` ms from now (by default
 * `maxAge`), as express-session serialises it. A touch of a session keeps its maxAge and moves
 * its expiry: `sessionFor(data, maxAge, later)`; a different maxAge is a cookie change, which
 * the store saves in full.
 */
export function sessionFor(
  data: Record<string, unknown> = {},
  maxAge = 60_000,
  expiresIn = maxAge,
): SessionData {
  return {
    cookie: {
      originalMaxAge: maxAge,
      expires: new Date(Date.now() + expiresIn),
      httpOnly: true,
      path: "/",
    },
    ...data,
  } as unknown as SessionData;
}

/** A session that expired `ago` ms ago. */
export function expiredSession(data: Record<string, unknown> = {}, ago = 5_000): SessionData {
  return sessionFor(data, -ago);
}

/** What a session looks like after a JSON round trip (Dates become ISO strings). */
export function asStored(session: SessionData): unknown {
  return JSON.parse(JSON.stringify(session));
}

export interface CallbackOutcome<T> {
  error: unknown;
  value: T | undefined;
  /** How many times the callback ran (counted for 50 ms after the first). */
  calls: number;
  /** Whether the callback ran before the method returned. */
  calledSynchronously: boolean;
  /** What the method returned. */
  returned: unknown;
}

/** Calls `method` with a callback and reports how the callback was called. */
export function viaCallback<T>(
  method: (callback: (error: unknown, value?: T) => void) => unknown,
): Promise<CallbackOutcome<T>> {
  return new Promise((resolve) => {
    let calls = 0;
    let methodReturned = false;
    const returned: unknown = method((error, value) => {
      calls++;
      if (calls > 1) return;
      const calledSynchronously = !methodReturned;
      setTimeout(() => resolve({ error, value, calls, calledSynchronously, returned }), 50);
    });
    methodReturned = true;
  });
}
