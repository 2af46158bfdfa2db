import type { OutputStream } from "./io.ts";

/** Reports how far a long step got: a redrawn bar on a terminal, plain lines otherwise. */
export interface Progress {
  update(done: number): void;
  finish(done: number): void;
}

const BAR_WIDTH = 30;
/** Plain output prints the first update, then at most one line per interval, then the last. */
const PLAIN_INTERVAL_MS = 1000;

function percent(done: number, total: number): number {
  return total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
}

export function createProgress(
  stream: OutputStream,
  label: string,
  total: number,
  now: () => number = Date.now,
): Progress {
  if (stream.isTTY) {
    const draw = (done: number) => {
      const filled = Math.round((percent(done, total) / 100) * BAR_WIDTH);
      const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
      stream.write(`\r${label} [${bar}] ${percent(done, total)}% ${done}/${total}`);
    };
    return {
      update: draw,
      finish(done) {
        draw(done);
        stream.write("\n");
      },
    };
  }
  let lastLine: number | undefined;
  let lastDone: number | undefined;
  const line = (done: number) => {
    lastLine = now();
    lastDone = done;
    stream.write(`${label}: ${done}/${total} (${percent(done, total)}%)\n`);
  };
  return {
    update(done) {
      if (lastLine === undefined || now() - lastLine >= PLAIN_INTERVAL_MS) line(done);
    },
    finish(done) {
      if (done !== lastDone) line(done); // the last update may have said it already
    },
  };
}
