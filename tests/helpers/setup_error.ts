// The contract of a set-up error (ERR_SCHEMA, ERR_ACCESS_DENIED, ERR_CONFIG), as every test of
// one checks it: reported once, `ready` rejects naming the fix, operations fail at once, no
// resend and no `disconnect`.
import assert from "node:assert/strict";
import { KnexMySQLStore, type SessionStoreError } from "../../mod.ts";
import { later } from "./clock.ts";
import { sessionFor } from "./sessions.ts";

/** A store whose `error`, `disconnect` and `connect` events are recorded. */
export function watched(options: ConstructorParameters<typeof KnexMySQLStore>[0]) {
  const store = new KnexMySQLStore({ clearInterval: 0, ...options });
  const errors: SessionStoreError[] = [];
  const changes: string[] = [];
  store.on("error", (error: SessionStoreError) => errors.push(error));
  for (const name of ["connect", "disconnect"] as const) store.on(name, () => changes.push(name));
  return { store, errors, changes };
}

/**
 * The set-up error contract: `ready` rejects with `code` and a message matching `fix`; five
 * operations fail at once with the same error; it was reported once; no disconnect.
 */
export async function assertSetupError(
  { store, errors, changes }: ReturnType<typeof watched>,
  code: string,
  fix: RegExp,
): Promise<SessionStoreError> {
  let first: SessionStoreError | undefined;
  await assert.rejects(store.ready, (error: SessionStoreError) => {
    assert.equal(error.code, code, error.message);
    assert.match(error.message, fix);
    first = error;
    return true;
  });
  // Failing at once: the very error of the check, kept for a while rather than checked again
  // on every request, and never sent again and again until the deadline.
  const retries: unknown[] = [];
  store.on("retry", (event) => retries.push(event));
  for (let i = 0; i < 5; i++) {
    await assert.rejects(store.set(`s${i}`, sessionFor({})), (error) => error === first);
  }
  assert.deepEqual(retries, []);
  // Ten seconds on, the next operation checks again.
  await later(
    10_001,
    () =>
      assert.rejects(store.set("again", sessionFor({})), (error: SessionStoreError) => {
        assert.notEqual(error, first);
        return error.code === code;
      }),
  );
  assert.equal(errors.length, 1, errors.map((e) => e.message).join("\n"));
  assert.equal(errors[0]!.code, code);
  assert.deepEqual(changes, []);
  return errors[0]!;
}
