// Bun as its users run the package (docs/docs/getting-started/bun.md): the packed npm package
// installed in a fresh project; the consumer apps served by Bun with Express 4 and 5; the page's
// app run as printed and built with the page's `bun build --compile` command, as is the project's
// example app; the CLI through `bun --bun x`, on a PATH where `node` fails, so that it cannot
// have run on Node.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { dirname, join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { Guide, shellCommands } from "../helpers/guide.ts";
import { serveApp } from "../helpers/sample_app.ts";
import { createTestDatabase, tableName, type TestDatabase } from "../helpers/database.ts";
import {
  assertScenario,
  createScratchProject,
  installedVersion,
  lastJsonLine,
  removeScratchProject,
  ROOT,
  succeed,
} from "./helpers.ts";
import type { ScenarioReport } from "./fixtures/express_scenario.mjs";

/** The project's Bun (its `bun` devDependency), or BUN. */
const BUN = process.env.BUN ?? join(ROOT, "node_modules", ".bin", "bun");
const page = new Guide("getting-started/bun.md");

let scratch: string;
let database: TestDatabase;
/** A PATH whose `node` fails loudly, then Bun's directory, then the usual PATH. */
let pathWithoutNode: string;

before(async () => {
  ({ scratch, database } = await createScratchProject("bun_package"));
  const [pack] = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], {
      cwd: ROOT,
      encoding: "utf8",
    }),
  );
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({ name: "kms-bun-app", private: true }),
  );
  // What the page's `bun add` installs, from npm's cache (the versions the repository tests).
  succeed("npm", [
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    join(scratch, pack.filename),
    ...["knex", "express-session", "express"].map((name) => `${name}@${installedVersion(name)}`),
    `express4@npm:express@${installedVersion("express4")}`,
  ], scratch);
  const noNode = join(scratch, "no-node");
  mkdirSync(noNode);
  writeFileSync(join(noNode, "node"), '#!/bin/sh\necho "node was run: $*" >&2\nexit 97\n');
  chmodSync(join(noNode, "node"), 0o755);
  pathWithoutNode = [noNode, dirname(BUN), process.env.PATH].join(":");
});

after(() => removeScratchProject({ scratch, database }));

describe("the npm package under Bun", () => {
  for (const consumer of ["consumer.cjs", "consumer.mjs"]) {
    for (const express of [{ name: "express4", major: "4" }, { name: "express", major: "5" }]) {
      it(`${consumer} with Express ${express.major}, served by Bun`, async () => {
        const table = tableName();
        const { stdout } = succeed(BUN, [consumer, express.name], scratch, {
          MYSQL_URL: database.url,
          TABLE: table,
          PATH: pathWithoutNode,
        });
        const result = lastJsonLine(stdout);
        assert.equal(String(result.express).split(".")[0], express.major);
        await assertScenario(result.report as ScenarioReport, database, table);
      });
    }
  }

  it("the CLI through `bun --bun x`, as the page runs it, on Bun and not on Node", () => {
    const table = tableName();
    const commands = shellCommands(page.block("bun-cli").code);
    assert.deepEqual(commands.map((words) => words.slice(0, 5)), [
      ["bun", "--bun", "x", "knex-mysql-session", "install"],
      ["bun", "--bun", "x", "knex-mysql-session", "status"],
    ]);
    for (const [, ...args] of commands) {
      // The page's `--table sessions --url "$MYSQL_URL"`, with this test's table and database.
      const words = args.map((word) => word === "sessions" ? table : word);
      words[words.indexOf("--url") + 1] = database.url;
      const { stdout } = succeed(BUN, words, scratch, { PATH: pathWithoutNode });
      assert.match(stdout, new RegExp(table));
    }
    // Plain `bunx` follows the CLI's `#!/usr/bin/env node`: the page's warning.
    const plain = spawnSync(BUN, ["x", "knex-mysql-session", "--version"], {
      cwd: scratch,
      env: { ...process.env, PATH: pathWithoutNode },
      encoding: "utf8",
    });
    assert.equal(plain.status, 97, `${plain.stdout}${plain.stderr}`);
    assert.match(plain.stderr, /node was run: .*knex-mysql-session/);
  });
});

describe("the Bun page's app", () => {
  /** Two requests share a session through its cookie. */
  async function assertServes(url: string, output: () => string) {
    const first = await fetch(url);
    assert.equal(await first.text(), "Views in this session: 1\n", output());
    const cookie = first.headers.get("set-cookie")?.split(";")[0];
    assert.ok(cookie, "a session cookie");
    const second = await fetch(url, { headers: { cookie } });
    assert.equal(await second.text(), "Views in this session: 2\n");
  }

  before(() => writeFileSync(join(scratch, "app.ts"), page.block("bun-app").code));

  it("runs as printed: bun app.ts", async () => {
    // As root, as the docs' other apps: the scratch project's mysql2 is the newest, which needs
    // the server's RSA key for a password account on MySQL over plain TCP (the repository's
    // may be older and not know that option), and the page's app installs its schema itself.
    await serveApp(BUN, ["app.ts"], scratch, ({ url, output }) => assertServes(url, output), {
      as: "root",
    });
  });

  it("builds with the page's bun build --compile command into a binary that serves it", async () => {
    const [build] = shellCommands(page.block("bun-compile").code);
    assert.deepEqual(build!.slice(0, 3), ["bun", "build", "--compile"]);
    succeed(BUN, build!.slice(1), scratch, { PATH: pathWithoutNode });
    const binary = join(scratch, build![build!.indexOf("--outfile") + 1]!);
    await serveApp(binary, [], scratch, ({ url, output }) => assertServes(url, output), {
      as: "root",
    });
  });

  it("the page's externals compile the project's example app too, whose binary serves it", async () => {
    const [build] = shellCommands(page.block("bun-compile").code);
    const externals = build!.flatMap((word, i) => build![i - 1] === "--external" ? [word] : []);
    const binary = join(scratch, "example-app");
    succeed(BUN, [
      "build",
      "--compile",
      join(ROOT, "examples", "express-app.ts"),
      "--outfile",
      binary,
      ...externals.flatMap((name) => ["--external", name]),
    ], scratch);
    const database = await createTestDatabase("bun_example");
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    const child = spawn(binary, [], {
      env: { ...process.env, MYSQL_URL: database.url, PORT: String(port) },
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const exited = once(child, "exit");
    try {
      const deadline = Date.now() + 30_000;
      while (!output.includes(`listening on http://localhost:${port}`)) {
        assert.ok(Date.now() < deadline && child.exitCode === null, `not listening:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const api = `http://127.0.0.1:${port}/api/session`;
      const first = await fetch(api);
      assert.equal((await first.json()).views, 1, output);
      const cookie = first.headers.get("set-cookie")?.split(";")[0] ?? "";
      assert.equal((await (await fetch(api, { headers: { cookie } })).json()).views, 2);
      child.kill("SIGTERM");
      assert.deepEqual(await exited, [0, null], `exit on SIGTERM:\n${output}`);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      await database.drop();
    }
  });
});
