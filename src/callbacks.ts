/** express-session's callback: an error, or null and the value. */
export type Callback<T> = (error: unknown, value?: T) => void;

/**
 * Delivers an operation's outcome the way express-session expects: to the callback, once and
 * asynchronously, or as the returned promise when there is no callback. An exception thrown
 * by the callback is rethrown outside the promise chain, as from any Node callback, rather
 * than turned into a rejection nobody handles.
 */
export function respond<T>(work: Promise<T>, callback: Callback<T> | undefined): Promise<T> | void {
  if (typeof callback !== "function") return work;
  work.then((value) => deliver(callback, null, value), (error) => deliver(callback, error));
}

function deliver<T>(callback: Callback<T>, error: unknown, value?: T): void {
  try {
    callback(error, value);
  } catch (thrown) {
    queueMicrotask(() => {
      throw thrown;
    });
  }
}
