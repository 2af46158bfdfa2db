import type { UnreadableReason } from "./encryption.ts";
import type { SessionStoreError } from "./errors.ts";

/** The payload of the `retry` event. */
export interface RetryEvent {
  /**
   * The store operation (get, set, touch, destroy, all, length, clear, the by-user lookups,
   * cleanup), or start-up: the schema check, run again after the server rolled it back.
   */
  operation: string;
  /** 1 for the first retry. */
  attempt: number;
  /** The failure that allowed it. */
  error: unknown;
}

/** The payload of the `unreadable` event: a stored session that reads as no session. */
export interface UnreadableEvent {
  /** The session id whose stored row could not be opened. */
  sid: string;
  /** Why it could not be opened. */
  reason: UnreadableReason;
  /** What happened and what to do about it, for a log line. */
  message: string;
}

/** Each event of the store and its listener's arguments: `store.on(name, listener)`. */
export interface StoreEvents {
  /** The database is usable: after start-up, and after it answers again. */
  connect: [];
  /**
   * The database stopped answering: express-session serves requests without a session until
   * `connect`.
   */
  disconnect: [];
  /**
   * A set-up error (ERR_SCHEMA, ERR_ACCESS_DENIED, ERR_CONFIG), once each, whose message names
   * the fix; printed with console.error when nobody listens. Operations fail at once with it
   * until the set-up is fixed (checked again every 10 s and on each read of `ready`).
   */
  error: [error: SessionStoreError];
  /** Something that weakens the store but does not stop it (console.warn when nobody listens). */
  warning: [message: string];
  /** A statement was sent again. */
  retry: [event: RetryEvent];
  /**
   * A stored session could not be opened (tampered, sealed with an unknown key, sealed while
   * the store has no `encryption`, or not a JSON object) and so reads as no session
   * (console.warn when nobody listens).
   */
  unreadable: [event: UnreadableEvent];
}

/** A listener of the store's event `E`, called with that event's arguments. */
export type StoreListener<E extends keyof StoreEvents> = (...args: StoreEvents[E]) => void;
