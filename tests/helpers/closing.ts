// Closes what a test opened (stores, apps, pools, child processes) however the test ends, so a
// failed assertion fails the test instead of leaving a listening server or an open pool that
// keeps the test file's process from ever exiting.

/**
 * Registers `close` to run when the test ends; the function returned runs it now instead (once:
 * the end of the test does not run it again).
 */
export type Defer = (close: () => unknown) => () => Promise<unknown>;

/**
 * Runs `body`, then every close it deferred, last first, even when `body` throws. The first
 * error wins: the body's, else a close's.
 */
export async function closing(body: (defer: Defer) => Promise<void>): Promise<void> {
  const closers: (() => Promise<unknown>)[] = [];
  const defer: Defer = (close) => {
    let closed: Promise<unknown> | undefined;
    const once = () => (closed ??= (async () => await close())());
    closers.push(once);
    return once;
  };
  const errors: unknown[] = [];
  try {
    await body(defer);
  } catch (error) {
    errors.push(error);
  }
  for (const close of closers.reverse()) {
    try {
      await close();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw errors[0];
}
