// Without MYSQL_URL the tests try MySQL 8.4 through testcontainers; without Docker that must
// fail at once with a message saying how to give the tests a database, never hang.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { it } from "node:test";

it("with neither MYSQL_URL nor Docker, the tests say how to provide a database", async () => {
  const script = fileURLToPath(new URL("../fixtures/no_database.ts", import.meta.url));
  const args = "Deno" in globalThis ? ["run", "-A", script] : ["--import", "tsx", script];
  const env: Record<string, string | undefined> = {
    ...process.env,
    // A Docker endpoint that does not exist, so the result is the same where Docker runs.
    DOCKER_HOST: "unix:///nonexistent/docker.sock",
    TESTCONTAINERS_RYUK_DISABLED: "true",
  };
  delete env.MYSQL_URL;
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  const code = await new Promise((resolve) => child.on("exit", resolve));
  clearTimeout(timer);
  assert.equal(code, 0, output);
  assert.match(output, /No database for the tests: MYSQL_URL is not set and testcontainers/);
  assert.match(output, /MYSQL_URL=mysql:\/\/root@127\.0\.0\.1:3306\/test npm test/);
});
