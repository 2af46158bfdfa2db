// The combined statements of src/statement_batches.ts: which waiting statements go out
// together, what one SELECT or CALL carries for the gets, saves or touches it answers, and each
// caller's share of the reply. Against the servers, in tests/batched_statements.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  batchLimit,
  type Coalescing,
  destroyBatches,
  getBatches,
  MAX_BATCH,
  setBatchBytes,
  setBatches,
  takeAlike,
  touchBatches,
} from "../../src/statement_batches.ts";

const getMany = (count: number) => `SELECT … IN (${Array(count).fill("?").join(", ")}) …`;
const ignore = () => {};

describe("batchLimit", () => {
  it("is 64 under the servers' default max_allowed_packet, less under a small one, 1 for none", () => {
    assert.equal(batchLimit(64 << 20), MAX_BATCH);
    assert.equal(batchLimit(16 << 20), MAX_BATCH);
    assert.equal(batchLimit(64 * 1024), 30);
    assert.equal(batchLimit(1024), 1);
  });
});

describe("getBatches", () => {
  const batches = getBatches(getMany, 64, ignore);

  it("reads each id once, padded to a power of two, live at the earliest caller's time", () => {
    const { sql, values } = batches.combine([
      ["a", "2030-01-01 00:00:05"],
      ["b", "2030-01-01 00:00:03"],
      ["a", "2030-01-01 00:00:04"],
    ]);
    assert.equal(sql, getMany(2));
    assert.deepEqual(values, ["a", "b", "2030-01-01 00:00:03"]);
    const five = batches.combine(["a", "b", "c", "d", "e"].map((sid) => [sid, "2030-01-01"]));
    assert.equal(five.sql, getMany(8));
    assert.deepEqual(five.values, ["a", "b", "c", "d", "e", "a", "a", "a", "2030-01-01"]);
  });

  it("gives each caller the row of its own id, if live at its own time", () => {
    const at = Date.UTC(2030, 0, 1) / 1000;
    const rows = [
      { sid: "a", expires_at: at + 5, sess: "A" },
      { sid: "b", expires_at: String(at + 60), sess: "B" },
    ];
    const callers = [
      ["b", "2030-01-01 00:00:00"],
      ["a", "2030-01-01 00:00:04"],
      ["a", "2030-01-01 00:00:05"], // expired at its time
      ["A", "2030-01-01 00:00:00"], // another id
    ];
    assert.deepEqual(batches.split(rows, callers), [[rows[1]], [rows[0]], [], []]);
  });

  it("gives two callers of one id a row each, equal but not shared", () => {
    const at = Date.UTC(2030, 0, 1) / 1000;
    const rows = [{ sid: "a", expires_at: at + 5, sess: { cart: ["x"] } }];
    const callers = [["a", "2030-01-01 00:00:00"], ["a", "2030-01-01 00:00:00"]];
    const [first, second] = (batches.split(rows, callers) as (typeof rows)[]).map(([row]) => row);
    assert.deepEqual(second, first);
    assert.notEqual(second, first);
    assert.notEqual(second?.sess, first?.sess);
  });
});

describe("touchBatches", () => {
  it("sends each id once with its later expiry, in order of id", () => {
    const sizes: number[] = [];
    const batches = touchBatches("CALL `t_touch_many_v3`(?)", 64, (size) => sizes.push(size));
    const { sql, values } = batches.combine([
      ["b", "2030-01-01 01:00:00", "2030-01-01 00:00:00"],
      ["a", "2030-01-01 02:00:00", "2030-01-01 00:00:01"],
      ["b", "2030-01-01 03:00:00", "2030-01-01 00:00:02"],
      ["b", "2030-01-01 00:30:00", "2030-01-01 00:00:03"],
    ]);
    assert.equal(sql, "CALL `t_touch_many_v3`(?)");
    assert.deepEqual(JSON.parse(values[0] as string), [
      ["a", "2030-01-01 02:00:00", "2030-01-01 00:00:01"],
      ["b", "2030-01-01 03:00:00", "2030-01-01 00:00:02"],
    ]);
    batches.onBatch(4);
    assert.deepEqual(sizes, [4]);
  });
});

describe("takeAlike", () => {
  const job = (coalescing: Coalescing | undefined, sess = "{}") => ({
    coalescing,
    values: ["s", sess, "2030-01-01 00:00:00", null],
  });

  it("takes the waiting statements of the same kind, in order, up to max with the first", () => {
    const sets = setBatches("CALL s", 3, Infinity, ignore);
    const touches = touchBatches("CALL t", 64, ignore);
    const [first, a, b, c] = [job(sets), job(sets), job(sets), job(sets)];
    const other = job(touches);
    const queue = [a, other, b, job(undefined), c];
    assert.deepEqual(takeAlike(queue, first), [a, b]);
    assert.equal(queue.length, 3);
    assert.deepEqual(queue.slice(0, 2), [other, queue[1]]);
    assert.equal(queue[2], c, "over max: waits for the next statement");
    assert.equal(takeAlike([other], first), undefined, "none alike: it goes alone");
  });

  it("ends the batch at a save too large for what is left of maxBytes", () => {
    // Each save counts its session at 3 bytes a unit, plus 3,200 for its id and owner.
    const sets = setBatches("CALL s", 64, 3 * 3_300, ignore);
    const first = job(sets, "x".repeat(10));
    const small = job(sets, "y".repeat(10));
    const large = job(sets, "x".repeat(2_000));
    const later = job(sets, "z".repeat(10));
    const queue = [small, large, later];
    assert.deepEqual(takeAlike(queue, first), [small]);
    assert.deepEqual(queue, [large, later], "a later save of an id never overtakes an earlier one");
    assert.equal(takeAlike([later], large), undefined, "a large first save goes alone");
  });
});

describe("setBatches", () => {
  it("sends each id once, its later save, in order of id, each session as JSON in the array", () => {
    const batches = setBatches("CALL `t_set_many_v3`(?)", 64, 1 << 20, ignore);
    const { sql, values } = batches.combine([
      ["b", '{"n":1}', "2030-01-01 01:00:00", null],
      ["a", '{"s":"\\"é\\u2028"}', "2030-01-01 02:00:00", "alice"],
      ["b", '{"n":2}', "2030-01-01 00:30:00", "bob"],
    ]);
    assert.equal(sql, "CALL `t_set_many_v3`(?)");
    assert.deepEqual(JSON.parse(values[0] as string), [
      ["a", { s: '"é\u2028' }, "2030-01-01 02:00:00", "alice"],
      ["b", { n: 2 }, "2030-01-01 00:30:00", "bob"],
    ]);
  });

  it("carries at most 512 KiB, less under a small max_allowed_packet", () => {
    assert.equal(setBatchBytes(64 << 20), 512 * 1024);
    assert.equal(setBatchBytes(256 * 1024), 256 * 1024 - 16_384);
  });
});

describe("destroyBatches", () => {
  it("sends each id once, in order of id; tells each caller whether its id held a session", () => {
    const batches = destroyBatches("CALL `t_destroy_many_v3`(?)", 64, ignore);
    const { sql, values } = batches.combine([["b"], ["a"], ["b"], ["c"]]);
    assert.equal(sql, "CALL `t_destroy_many_v3`(?)");
    assert.deepEqual(JSON.parse(values[0] as string), ["a", "b", "c"]);
    // mysql2's reply to a CALL that selects: the rows, then the OK packet.
    const reply = [[{ sid: "a" }, { sid: "b" }], { affectedRows: 2 }];
    const counts = batches.split(reply, [["b"], ["a"], ["b"], ["c"]]);
    // Of two destroys of b, the first ended the session and the second found none.
    assert.deepEqual(counts, [{ affectedRows: 1 }, { affectedRows: 1 }, { affectedRows: 0 }, {
      affectedRows: 0,
    }]);
    assert.deepEqual(
      batches.split([[{ sid: "b" }], {}], [["B"]]),
      [{ affectedRows: 0 }],
      "another id",
    );
  });
});
