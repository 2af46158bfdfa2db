// The hook every test file loads (tests/helpers/linger.ts): a file whose tests pass but whose
// process stays alive fails within seconds, naming what keeps it alive, instead of hanging
// until the runner's timeout.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** Runs a fixture test file the way the npm scripts do: Node's test runner, tsx, the hook. */
async function runWithHook(fixture: string) {
  const started = Date.now();
  const child = spawn(process.execPath, [
    "--import",
    "tsx",
    "--import",
    "./tests/helpers/linger.ts",
    "--test",
    `tests/fixtures/${fixture}`,
  ], {
    cwd: root,
    // Without NODE_TEST_CONTEXT, which would make it a subtest of this run.
    env: { ...process.env, NODE_TEST_CONTEXT: undefined, LINGER_GRACE_MS: "300" },
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const killer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const [status, signal] = await once(child, "close");
  clearTimeout(killer);
  // The runner itself ends, failed, long before this test's 60 s: the file did not hang it.
  assert.equal(signal, null, `it hung until killed:\n${output}`);
  assert.notEqual(status, 0, output);
  assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  return output;
}

const nodeOnly = {
  skip: "Deno" in globalThis || "Bun" in globalThis ? "Node's test runner only" : false,
};

// Each fixture is a process of its own: they run side by side.
describe("the linger hook", { concurrency: true }, () => {
  it(
    "a file that leaves a server listening fails, naming the server's port",
    nodeOnly,
    async () => {
      const output = await runWithHook("lingering_test.ts");
      const port = /listening on (\d+)/.exec(output)?.[1];
      assert.ok(port, output);
      assert.match(output, /tests finished 300 ms ago but its process is still alive/);
      assert.match(output, new RegExp(`Server listening on ${port}`));
    },
  );

  it("a file whose event loop never turns again fails, saying so", nodeOnly, async () => {
    const output = await runWithHook("blocking_test.ts");
    assert.match(output, /tests finished \d+ ms ago and its event loop has not turned since/);
  });

  it(
    "a file stuck in Node's exit fails, naming the socket that never closed",
    nodeOnly,
    async () => {
      const output = await runWithHook("spinning_exit_test.ts");
      assert.match(output, /its process began to exit \d+ ms ago and has not ended/);
      assert.match(
        output,
        /socket fd \d+: its connection has ended, its descriptor was never closed/,
      );
    },
  );
});
