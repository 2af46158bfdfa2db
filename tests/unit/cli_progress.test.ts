import assert from "node:assert/strict";
import { test } from "node:test";
import { createProgress } from "../../src/cli/progress.ts";

function capture(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (text: string) => writes.push(text) } };
}

test("on a terminal the bar is redrawn in place and ends with a newline", () => {
  const { writes, stream } = capture(true);
  const progress = createProgress(stream, "copying", 200);
  progress.update(0);
  progress.update(100);
  progress.finish(200);
  assert.deepEqual(writes, [
    `\rcopying [${"-".repeat(30)}] 0% 0/200`,
    `\rcopying [${"#".repeat(15)}${"-".repeat(15)}] 50% 100/200`,
    `\rcopying [${"#".repeat(30)}] 100% 200/200`,
    "\n",
  ]);
});

test("elsewhere it prints plain lines: the first, at most one a second, and the last", () => {
  const { writes, stream } = capture(false);
  let now = 0;
  const progress = createProgress(stream, "copying", 1000, () => now);
  progress.update(0);
  now = 400;
  progress.update(100); // within the second: not printed
  now = 1000;
  progress.update(500);
  progress.finish(1000);
  assert.deepEqual(writes, [
    "copying: 0/1000 (0%)\n",
    "copying: 500/1000 (50%)\n",
    "copying: 1000/1000 (100%)\n",
  ]);
});

test("an empty copy is complete at once", () => {
  const { writes, stream } = capture(false);
  createProgress(stream, "copying", 0).finish(0);
  assert.deepEqual(writes, ["copying: 0/0 (100%)\n"]);
});
