// One progress line on stderr: rewritten in place on a terminal, printed as lines otherwise.
import process from "node:process";

const started = Date.now();
const interactive = process.stderr.isTTY === true;
let lastLineAt = 0;

function line(text: string): string {
  const seconds = Math.round((Date.now() - started) / 1000);
  return `[bench ${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}] ${text}`;
}

/** Shows `text` as the current step; off a terminal, at most one line every 2 s. */
export function progress(text: string): void {
  if (interactive) {
    process.stderr.write(`\r\x1b[K${line(text).slice(0, (process.stderr.columns || 120) - 1)}`);
  } else if (Date.now() - lastLineAt >= 2000) {
    lastLineAt = Date.now();
    process.stderr.write(`${line(text)}\n`);
  }
}

/** A line that stays (phase changes, warnings). */
export function note(text: string): void {
  process.stderr.write(`${interactive ? "\r\x1b[K" : ""}${line(text)}\n`);
}
