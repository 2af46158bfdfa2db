import { clearTimeout, setTimeout } from "node:timers";
import { clock } from "./clock.ts";

/** How a sweep runs: when to stop early, and whether anyone is waiting for it. */
export interface SweepControl {
  /** Checked after each batch and rest; true ends the sweep. */
  stopped?: () => boolean;
  /**
   * A background sweep (the periodic one) rests on unref'd timers, so that it never keeps a
   * process alive; a sweep someone awaits (clearExpired) keeps it alive until it is done.
   */
  background?: boolean;
}

/**
 * Deletes expired sessions batch by batch until a batch comes back short (or `stopped()`);
 * resolves with how many went. After each full batch it rests for as long as that batch took,
 * so a sweep of a big backlog takes at most half of the time of the server thread that serves
 * it and live requests keep the rest; a loaded server makes batches slower and rests longer.
 */
export async function sweepInBatches(
  sweepBatch: (limit: number) => Promise<number>,
  batchSize: number,
  { stopped = () => false, background = false }: SweepControl = {},
): Promise<number> {
  let total = 0;
  for (;;) {
    const started = clock.monotonic();
    const deleted = await sweepBatch(batchSize);
    total += deleted;
    if (deleted < batchSize || stopped()) return total;
    await clock.rest(clock.monotonic() - started, { unref: background });
    if (stopped()) return total;
  }
}

/**
 * Sweeps expired sessions every `interval` ms (see sweepInBatches). The next sweep is scheduled
 * when the previous one ends, so sweeps never overlap; each delay is jittered by ±10% so app
 * instances started together drift apart. The timer is unref'd: it never keeps a process alive.
 */
export class CleanupScheduler {
  readonly #interval: number;
  readonly #batchSize: number;
  readonly #sweepBatch: (limit: number) => Promise<number>;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the scheduled sweep starts, in ms since the epoch. */
  #nextAt: number | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: {
    interval: number;
    batchSize: number;
    sweepBatch: (limit: number) => Promise<number>;
    onError: (error: unknown) => void;
  }) {
    this.#interval = options.interval;
    this.#batchSize = options.batchSize;
    this.#sweepBatch = options.sweepBatch;
    this.#onError = options.onError;
  }

  /** Schedules the first sweep (one interval from now). */
  start(): void {
    if (this.#stopped || this.#timer || this.#running) return;
    this.#schedule();
  }

  /** When the next sweep starts; undefined while one runs, or once stopped. */
  get nextSweep(): Date | undefined {
    return this.#nextAt === undefined ? undefined : new Date(this.#nextAt);
  }

  /** Cancels the next sweep and waits for a running one to finish its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAt = undefined;
    await this.#running;
  }

  #schedule(): void {
    const delay = this.#interval * (0.9 + 0.2 * clock.random());
    this.#nextAt = clock.now() + delay;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#nextAt = undefined;
      const sweep = sweepInBatches(this.#sweepBatch, this.#batchSize, {
        stopped: () => this.#stopped,
        background: true,
      });
      this.#running = sweep.then(
        () => undefined,
        (error) => this.#report(error),
      ).finally(() => {
        this.#running = undefined;
        if (!this.#stopped) this.#schedule();
      });
    }, delay);
    this.#timer.unref();
  }

  #report(error: unknown): void {
    try {
      this.#onError(error);
    } catch {
      // A throwing error handler must not stop the sweeps or crash the process.
    }
  }
}
