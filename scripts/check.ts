// `npm run check`: every static check (each `check:*` script of package.json), run side by side
// on the machine's cores. Each step's output is printed whole when it ends, so steps never
// interleave; the exit code is 1 when any step failed, after all have run.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import process from "node:process";

const { scripts } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const steps = Object.keys(scripts as Record<string, string>).filter((name) =>
  name.startsWith("check:")
);

interface Outcome {
  step: string;
  code: number | null;
  output: string;
  seconds: number;
}

function run(step: string): Promise<Outcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", step], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on(
      "close",
      (code) => resolve({ step, code, output, seconds: (performance.now() - started) / 1000 }),
    );
  });
}

const pending = [...steps];
const outcomes: Outcome[] = [];
async function worker(): Promise<void> {
  for (let step = pending.shift(); step; step = pending.shift()) {
    const outcome = await run(step);
    outcomes.push(outcome);
    const status = outcome.code === 0 ? "ok" : `FAILED (exit ${outcome.code})`;
    process.stdout.write(`\n--- ${step}: ${status} in ${outcome.seconds.toFixed(1)} s\n`);
    if (outcome.code !== 0 || process.env.CHECK_VERBOSE) process.stdout.write(outcome.output);
  }
}

await Promise.all(Array.from({ length: Math.max(2, availableParallelism()) }, worker));
const failed = outcomes.filter((outcome) => outcome.code !== 0).map((outcome) => outcome.step);
process.stdout.write(
  failed.length === 0
    ? `\nall ${outcomes.length} checks passed\n`
    : `\n${failed.length} of ${outcomes.length} checks failed: ${failed.join(", ")}\n`,
);
process.exitCode = failed.length === 0 ? 0 : 1;
