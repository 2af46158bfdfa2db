// The README's first command runs the example app: start it as `npm start` does, use it over
// HTTP, and stop it with SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { after, before, it } from "node:test";
import { appAccount } from "./helpers/app_account.ts";
import { createTestDatabase, type TestDatabase, testServerUrl } from "./helpers/database.ts";

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase("example");
});
after(() => database.drop());

it("the example app keeps a session across requests and exits on SIGTERM", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  // As deployed: the schema installed and granted beforehand, the app on its own account.
  const { url } = await appAccount(database);
  const app = spawn(process.execPath, ["--import", "tsx", "examples/express-app.ts"], {
    cwd: root,
    env: { ...process.env, MYSQL_URL: url, PORT: String(port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  app.stdout.on("data", (chunk) => (output += chunk));
  app.stderr.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => app.on("exit", resolve));
  try {
    const deadline = Date.now() + 20_000;
    while (!output.includes(`http://localhost:${port}`)) {
      if (Date.now() > deadline) throw new Error(`the example did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const first = await fetch(`http://127.0.0.1:${port}/api/session`);
    const cookie = first.headers.get("set-cookie")!.split(";")[0]!;
    assert.equal((await first.json()).views, 1);
    const second = await fetch(`http://127.0.0.1:${port}/api/session`, { headers: { cookie } });
    assert.equal((await second.json()).views, 2);
    const page = await (await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } })).text();
    assert.match(page, /<strong id="views">3<\/strong>/);
  } finally {
    app.kill("SIGTERM");
  }
  assert.equal(await exited, 0, output);
});

/** Runs the example on `url` until it exits by itself; resolves with its exit code and output. */
async function exampleExiting(url: string): Promise<{ code: number | null; output: string }> {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const app = spawn(process.execPath, ["--import", "tsx", "examples/express-app.ts"], {
    cwd: root,
    env: { ...process.env, MYSQL_URL: url, PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    // Only so that a failure ends: an example that retried forever would be killed here.
    timeout: 120_000,
  });
  let output = "";
  app.stdout.on("data", (chunk) => (output += chunk));
  app.stderr.on("data", (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => app.on("exit", resolve));
  return { code, output };
}

it("with no server to reach, the example says how to get one and exits, in seconds", async () => {
  const { code, output } = await exampleExiting("mysql://root@127.0.0.1:1/test");
  assert.equal(code, 1, output);
  // MYSQL_URL was set: the advice is about it, naming the address and the cause.
  assert.match(
    output,
    /the server at MYSQL_URL does not answer \(.*ECONNREFUSED 127\.0\.0\.1:1\): check the host and port in MYSQL_URL/,
  );
  assert.doesNotMatch(output, /listening/);
  assert.doesNotMatch(output, /Acquire connection error/);
});

it("a refused login is named as one, with its fix, not as an unreachable database", async () => {
  const url = new URL(await testServerUrl());
  url.username = "kms_example_nobody";
  url.password = "wrong-password";
  const { code, output } = await exampleExiting(url.toString());
  assert.equal(code, 1, output);
  assert.match(output, /refused the login of 'kms_example_nobody' at /);
  assert.doesNotMatch(output, /unreachable|does not answer|wrong-password/);
});
