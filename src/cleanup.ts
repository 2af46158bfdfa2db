import { clearTimeout, setTimeout } from "node:timers";

/**
 * Deletes expired sessions batch by batch until a batch comes back short (or `stopped()`);
 * resolves with how many went.
 */
export async function sweepInBatches(
  sweepBatch: (limit: number) => Promise<number>,
  batchSize: number,
  stopped: () => boolean = () => false,
): Promise<number> {
  let total = 0;
  for (;;) {
    const deleted = await sweepBatch(batchSize);
    total += deleted;
    if (deleted < batchSize || stopped()) return total;
  }
}

/**
 * Sweeps expired sessions every `interval` ms (see sweepInBatches). The next sweep is scheduled when the previous one ends, so sweeps never
 * overlap; each delay is jittered by ±10% so app instances started together drift apart. The
 * timer is unref'd: it never keeps a process alive.
 */
export class CleanupScheduler {
  readonly #interval: number;
  readonly #batchSize: number;
  readonly #sweepBatch: (limit: number) => Promise<number>;
  readonly #onError: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
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

  /** Cancels the next sweep and waits for a running one to finish its current batch. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
  }

  #schedule(): void {
    const delay = this.#interval * (0.9 + 0.2 * Math.random());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const sweep = sweepInBatches(this.#sweepBatch, this.#batchSize, () => this.#stopped);
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
