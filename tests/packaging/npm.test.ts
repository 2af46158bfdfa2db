// The npm package as users get it: packs the tarball (`npm run test:packaging` builds first),
// installs it into a fresh project with the packages an app brings (from npm's cache when
// `npm ci` has filled it), and runs CommonJS and ESM apps against the database through Express 4
// and 5, the installed CLI, and a TypeScript type-check under moduleResolution node16 and bundler.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { tableName, type TestDatabase } from "../helpers/database.ts";
import {
  assertScenario,
  assertShipsOnly,
  createScratchProject,
  installedVersion,
  lastJsonLine,
  removeScratchProject,
  ROOT,
  succeed,
} from "./helpers.ts";
import type { ScenarioReport } from "./fixtures/express_scenario.mjs";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** An install spec pinned to the repository's version, so the scratch install hits the cache. */
function pinned(name: string, alias = name): string {
  const version = installedVersion(alias);
  return alias === name ? `${name}@${version}` : `${alias}@npm:${name}@${version}`;
}

/** npm install into the scratch project, from npm's cache when `npm ci` filled it. */
function npmInstall(specs: string[]): void {
  succeed(npm, [
    "install",
    "--prefer-offline",
    "--no-audit",
    "--no-fund",
    "--loglevel=error",
    ...specs,
  ], scratch);
}

let scratch: string;
let packedFiles: string[];
let database: TestDatabase;

before(async () => {
  ({ scratch, database } = await createScratchProject("npm_package"));
  // --ignore-scripts: pack exactly the dist/ just built, and keep npm's JSON alone on stdout.
  const [pack] = JSON.parse(
    execFileSync(npm, ["pack", "--json", "--ignore-scripts", "--pack-destination", scratch], {
      cwd: ROOT,
      encoding: "utf8",
    }),
  );
  packedFiles = (pack.files as { path: string }[]).map((file) => file.path).sort();
  writeFileSync(
    join(scratch, "package.json"),
    JSON.stringify({ name: "kms-npm-package-app", private: true }),
  );
  npmInstall([
    join(scratch, pack.filename),
    pinned("knex"),
    pinned("express-session"),
    pinned("express"),
    pinned("express", "express4"),
    pinned("@types/express"),
    pinned("@types/express-session"),
    pinned("@types/node"),
  ]);
});

after(() => removeScratchProject({ scratch, database }));

describe("the npm tarball", () => {
  it("ships the builds, their types, the CLI, the SQL and the docs, and nothing else", () => {
    const topLevel = ["package.json", "README.md", "LICENSE", "CHANGELOG.md"];
    assertShipsOnly(
      packedFiles,
      [
        "dist/index.js",
        "dist/index.cjs",
        "dist/index.d.ts",
        "dist/index.d.cts",
        "dist/cli.js",
        "sql/table.sql",
        ...topLevel,
      ],
      /^(dist|sql)\//,
      topLevel,
    );
  });

  it("needs no correction from npm publish (which silently drops a bin it deems invalid)", () => {
    const { stderr } = succeed(npm, ["publish", "--dry-run", "--ignore-scripts"], ROOT);
    assert.doesNotMatch(stderr, /auto-corrected|errors corrected/);
  });

  it("installs its own mysql2 dependency", () => {
    const { stdout } = succeed("node", ["-p", 'require("mysql2/package.json").name'], scratch);
    assert.equal(stdout.trim(), "mysql2");
  });
});

describe("apps using the installed package", () => {
  const exportNames: Record<string, unknown> = {};
  const consumers = [
    { file: "consumer.cjs", entry: "dist/index.cjs" },
    { file: "consumer.mjs", entry: "dist/index.js" },
  ];
  const expressVersions = [{ name: "express4", major: "4" }, { name: "express", major: "5" }];

  for (const consumer of consumers) {
    for (const express of expressVersions) {
      it(`${consumer.file} with Express ${express.major} keeps, destroys and stores sessions`, async () => {
        const table = tableName();
        const { stdout } = succeed("node", [consumer.file, express.name], scratch, {
          MYSQL_URL: database.url,
          TABLE: table,
        });
        const result = lastJsonLine(stdout);
        const entry = join("node_modules", "knex-mysql-session", consumer.entry);
        assert.ok(String(result.entry).endsWith(entry), `loaded ${result.entry}`);
        assert.equal(String(result.express).split(".")[0], express.major);
        await assertScenario(result.report as ScenarioReport, database, table);
        exportNames[consumer.file] = result.exports;
      });
    }
  }

  it("require and import see the same exports", () => {
    const [cjs, esm] = consumers.map(({ file }) => exportNames[file] as string[] | undefined);
    assert.ok(cjs && esm, "both consumers ran");
    assert.deepEqual(cjs, esm);
    for (const name of ["ConnectSessionKnexStore", "KnexMySQLStore", "SCHEMA_VERSION"]) {
      assert.ok(esm.includes(name), `${name} is exported`);
    }
  });
});

describe("the installed CLI", () => {
  it("runs as knex-mysql-session --help", () => {
    const bin = join(scratch, "node_modules", ".bin", "knex-mysql-session");
    assert.match(succeed(bin, ["--help"], scratch).stdout, /knex-mysql-session/);
  });
});

describe("TypeScript apps", () => {
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  for (const resolution of ["node16", "bundler"]) {
    it(`type-check against the package's types under moduleResolution ${resolution}`, () => {
      succeed("node", [tsc, "-p", join("types", `tsconfig.${resolution}.json`)], scratch);
    });
  }
});

describe("the oldest express-session and knex the peer ranges take", () => {
  // Last in this file: it replaces the scratch project's express-session and knex. The newest
  // (the repository's own versions) ran above.
  it("install without a peer conflict and run the Express 4 app", async () => {
    const peers = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).peerDependencies;
    const oldest = (name: string) => {
      const version = installedVersion(`${name}-oldest`);
      assert.equal(peers[name], `^${version}`, `the tested ${name} is its range's floor`);
      return `${name}@${version}`;
    };
    // No --legacy-peer-deps: npm refuses (ERESOLVE) a version outside a peer range.
    npmInstall([oldest("express-session"), oldest("knex")]);
    const table = tableName();
    const { stdout } = succeed("node", ["consumer.mjs", "express4"], scratch, {
      MYSQL_URL: database.url,
      TABLE: table,
    });
    for (const name of ["express-session", "knex"]) {
      const installed = JSON.parse(
        readFileSync(join(scratch, "node_modules", name, "package.json"), "utf8"),
      ).version;
      assert.equal(installed, installedVersion(`${name}-oldest`));
    }
    await assertScenario(lastJsonLine(stdout).report as ScenarioReport, database, table);
  });
});
