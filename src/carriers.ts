// Under heavy load a few of the store's connections carry its statements, so that those waiting
// go out in larger batches and fewer statements (src/database.ts asks; this decides).

/**
 * Under more than twice the pool's connections in statements, at most this many of the store's
 * connections carry them: the combinable ones wait for these and go out together, where ten
 * connections side by side carried small batches that each cost the server and this process a
 * statement (MariaDB, paired runs: 32 concurrent touches 1.14x a second at 0.90x the CPU, gets
 * 1.06x at 0.85x). A lighter load uses every connection it can borrow: there a batch of two
 * touches costs more than two touches side by side (0.78x at 8 concurrent, with 4 carriers).
 */
const CARRIERS_UNDER_LOAD = 4;

/** How long (ms) the load counts as heavy after the last sign of it. */
const HEAVY_FOR = 50;

/** Whether the load is heavy, and so whether a statement should wait for a carrier. */
export class Carriers {
  /** Until when (performance.now()) the load counts as heavy. */
  #heavyUntil = 0;

  /**
   * Notes `outstanding` statements at `now` on a pool of `max` connections. Heavy stays heavy
   * for a while after: the count dips each time a batch settles, and a rule that followed each
   * dip would borrow and give back a connection every few statements.
   */
  note(outstanding: number, max: number | undefined, now: number): void {
    if (max && outstanding > 2 * max) this.#heavyUntil = now + HEAVY_FOR;
  }

  /**
   * Whether a statement that may be combined (at most `batchMax` to a statement) should wait for
   * one of the `carrying` connections rather than take another: the load is heavy, enough of them
   * carry statements, and they can take the `waiting` ones at once (more waiting than that: more
   * connections, not a longer queue).
   */
  carried(carrying: number, batchMax: number, waiting: number): boolean {
    return carrying >= CARRIERS_UNDER_LOAD && CARRIERS_UNDER_LOAD * batchMax > waiting &&
      performance.now() < this.#heavyUntil;
  }
}
