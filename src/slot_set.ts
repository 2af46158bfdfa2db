// The database layer's record of its unsettled statements: added and removed once each per
// statement, which at one statement at a time a Set made costly (V8 reallocates a Set's table
// as it empties and fills again: a table on nearly every statement, profiled).

/** What a SlotSet holds: an object that keeps its own place in the set. */
export interface Slotted {
  slot: number;
}

/** An unordered set of objects that know their place: adding and removing allocate nothing. */
export class SlotSet<T extends Slotted> {
  readonly #items: (T | undefined)[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(item: T): void {
    item.slot = this.#size;
    this.#items[this.#size++] = item;
  }

  /** Removes `item`, which is in the set: the last one takes its place. */
  delete(item: T): void {
    const last = this.#items[--this.#size] as T;
    this.#items[item.slot] = last;
    last.slot = item.slot;
    this.#items[this.#size] = undefined;
    item.slot = -1;
  }

  /** Calls `visit` with each item, last first, so that `visit` may delete the one it is given. */
  forEach(visit: (item: T) => void): void {
    for (let i = this.#size - 1; i >= 0; i--) visit(this.#items[i] as T);
  }
}
