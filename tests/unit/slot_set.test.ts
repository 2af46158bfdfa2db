// SlotSet, the database layer's record of its unsettled statements: each added once and removed
// once, in any order, and visited by the deadline check, which may remove the one it visits.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SlotSet } from "../../src/slot_set.ts";

const item = (name: string) => ({ name, slot: -1 });
const names = (set: SlotSet<{ name: string; slot: number }>) => {
  const seen: string[] = [];
  set.forEach((one) => seen.push(one.name));
  return seen.sort();
};

describe("SlotSet", () => {
  it("holds what was added and not deleted, whatever the order of the deletes", () => {
    const set = new SlotSet<{ name: string; slot: number }>();
    const [a, b, c, d] = [item("a"), item("b"), item("c"), item("d")];
    for (const one of [a, b, c, d]) set.add(one);
    set.delete(b); // from the middle: the last takes its place
    assert.deepEqual(names(set), ["a", "c", "d"]);
    set.delete(d); // the one that moved
    set.delete(a);
    assert.deepEqual(names(set), ["c"]);
    assert.equal(set.size, 1);
    set.delete(c);
    assert.equal(set.size, 0);
    assert.deepEqual(names(set), []);
    set.add(b); // emptied and filled again
    assert.deepEqual(names(set), ["b"]);
  });

  it("visits each once while the visit deletes the one it is given", () => {
    const set = new SlotSet<{ name: string; slot: number }>();
    const all = Array.from({ length: 7 }, (_, i) => item(`s${i}`));
    for (const one of all) set.add(one);
    const visited: string[] = [];
    set.forEach((one) => {
      visited.push(one.name);
      if (Number(one.name.slice(1)) % 2 === 0) set.delete(one);
    });
    assert.deepEqual(visited.sort(), all.map((one) => one.name).sort());
    assert.deepEqual(names(set), ["s1", "s3", "s5"]);
  });
});
