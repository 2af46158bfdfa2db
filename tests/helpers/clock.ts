// Stands in for parts of the store's clock (src/clock.ts) while a test runs, and puts the real
// ones back afterwards, whatever happens.
import { clock } from "../../src/clock.ts";

type Clock = typeof clock;

export async function withClock<T>(replaced: Partial<Clock>, run: () => Promise<T>): Promise<T> {
  const original = { ...clock };
  Object.assign(clock, replaced);
  try {
    return await run();
  } finally {
    Object.assign(clock, original);
  }
}

/** Runs `run` with the wall clock `ms` ahead of real time: sessions age without sleeping. */
export function later<T>(ms: number, run: () => Promise<T>): Promise<T> {
  const realNow = clock.now;
  return withClock({ now: () => realNow() + ms }, run);
}
