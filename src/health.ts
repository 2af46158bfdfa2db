import { clearTimeout, setTimeout } from "node:timers";

/** Whether the database answers, as the store tells express-session (`connect`/`disconnect`). */
export type Reachability = "connected" | "disconnected";

export interface HealthOptions {
  /** Resolves when the database answers; rejects when it does not, within its own deadline. */
  probe: () => Promise<void>;
  /**
   * Makes the store whole once the database answers again: the start-up when it never
   * finished, a probe otherwise. Rejects when the database still does not answer.
   */
  recover: () => Promise<void>;
  /** Called on each change, `connect` or `disconnect` for express-session. */
  onChange: (state: Reachability) => void;
  /** The first pause between recovery attempts, doubled after each failure up to `maxDelay`. */
  firstDelay: number;
  maxDelay: number;
}

/**
 * Whether the database is reachable. It changes its mind only on evidence: a start-up or a
 * probe that succeeds (connected) or fails to get an answer (disconnected). A slow statement
 * or a failed connection is only a suspicion, checked by one probe on a connection of its own,
 * so a busy pool is never taken for a dead server and a partition is noticed within the
 * probe's deadline even while statements hang. While disconnected it retries with backoff on
 * an unref'd timer; `stop()` ends that.
 */
export class ConnectionHealth {
  readonly #options: HealthOptions;
  #state: Reachability | "unknown" = "unknown";
  #probing = false;
  #recovering = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;
  #stopped = false;

  constructor(options: HealthOptions) {
    this.#options = options;
  }

  get state(): Reachability | "unknown" {
    return this.#state;
  }

  /** The database answered. */
  connected(): void {
    this.#change("connected");
  }

  /** The database did not answer: say so, then try to recover with backoff until it does. */
  disconnected(): void {
    if (this.#change("disconnected")) void this.#recover();
  }

  /** Something looked wrong while connected (a slow statement, a lost connection): probe once. */
  suspect(): void {
    if (this.#stopped || this.#state !== "connected" || this.#probing) return;
    this.#probing = true;
    let probe: Promise<void>;
    try {
      probe = this.#options.probe();
    } catch (error) {
      probe = Promise.reject(error); // a probe that throws has failed all the same
    }
    probe.then(
      () => {},
      () => this.disconnected(),
    ).finally(() => {
      this.#probing = false;
    });
  }

  /** No more events, probes or timers. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#wake?.();
  }

  /** Moves to `state`; true when that is a change (and it was announced). */
  #change(state: Reachability): boolean {
    if (this.#stopped || this.#state === state) return false;
    this.#state = state;
    this.#options.onChange(state);
    return true;
  }

  async #recover(): Promise<void> {
    if (this.#recovering) return;
    this.#recovering = true;
    let delay = this.#options.firstDelay;
    while (!this.#stopped && this.#state === "disconnected") {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#timer = setTimeout(resolve, delay);
        this.#timer.unref();
      });
      if (this.#stopped) break;
      try {
        await this.#options.recover();
        this.connected();
      } catch {
        delay = Math.min(delay * 2, this.#options.maxDelay);
      }
    }
    this.#recovering = false;
  }
}
