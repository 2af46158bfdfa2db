// The README's first command runs the example app: start it as `npm start` does, use it over
// HTTP, and stop it with SIGTERM.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { after, before, it } from "node:test";
import { createTestDatabase, type TestDatabase } from "./helpers/database.ts";

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase("example");
});
after(() => database.drop());

it("the example app keeps a session across requests and exits on SIGTERM", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const app = spawn(process.execPath, ["--import", "tsx", "examples/express-app.ts"], {
    cwd: root,
    env: { ...process.env, MYSQL_URL: database.url, PORT: String(port) },
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

it("with no server to reach, the example says how to get one and exits, in seconds", async () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const app = spawn(process.execPath, ["--import", "tsx", "examples/express-app.ts"], {
    cwd: root,
    env: { ...process.env, MYSQL_URL: "mysql://root@127.0.0.1:1/test", PORT: "0" },
    stdio: ["ignore", "pipe", "pipe"],
    // Only so that a failure ends: an example that retried forever would be killed here.
    timeout: 120_000,
  });
  let output = "";
  app.stdout.on("data", (chunk) => (output += chunk));
  app.stderr.on("data", (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => app.on("exit", resolve));
  assert.equal(code, 1, output);
  assert.match(output, /no MySQL or MariaDB answers at MYSQL_URL\. Three ways out:/);
  assert.match(output, /MYSQL_URL=mysql:\/\/user:password@host:3306\/database npm start/);
  assert.doesNotMatch(output, /listening/);
  assert.doesNotMatch(output, /Acquire connection error/);
});
