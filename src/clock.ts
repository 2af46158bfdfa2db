import { setTimeout } from "node:timers";

/**
 * Where the store reads the time, draws its randomness (retry backoff, sweep jitter) and rests
 * between sweep batches and retries: one seam, so that tests move time on, pin jitter and see
 * every rest instead of sleeping and hoping. Not part of the public API.
 */
export const clock: {
  /** Wall-clock time in ms since the epoch: what expiry is computed from. */
  now: () => number;
  /** A monotonic time in ms: what durations and deadlines are measured with. */
  monotonic: () => number;
  random: () => number;
  /** Resolves after `ms`; an unref'd rest never keeps the process alive. */
  rest: (ms: number, options: { unref: boolean }) => Promise<void>;
} = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  random: () => Math.random(),
  rest: (ms, { unref }) =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (unref) timer.unref();
    }),
};
