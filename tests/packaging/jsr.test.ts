// The JSR package as Deno users get it: the files `deno publish` would upload (listed by its dry
// run) in a fresh Deno project without node_modules, whose npm packages come from the registry
// through Deno's own resolver, as for an app after `deno add jsr:…`. An Express 5 app runs
// against the database, type-checks, and the CLI entry answers --help.
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { tableName, type TestDatabase } from "../helpers/database.ts";
import type { ScenarioReport } from "./fixtures/express_scenario.mjs";
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

const deno = join(ROOT, "node_modules", ".bin", "deno");
const DENO_ENV = { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };

/** The files `deno publish` would upload, relative to the root. */
function publishedFiles(): string[] {
  const { stderr } = succeed(deno, ["publish", "--dry-run", "--allow-dirty"], ROOT, DENO_ENV);
  return [...stderr.matchAll(/^\s*(file:\/\/\S+)/gm)]
    .map((match) => relative(ROOT, fileURLToPath(match[1] as string)))
    .sort();
}

let scratch: string;
let files: string[];
let database: TestDatabase;

before(async () => {
  ({ scratch, database } = await createScratchProject("jsr_package"));
  files = publishedFiles();
  // The manifest stays behind: the registry reads it, and the app's import map carries its
  // imports (in the package's directory it would make Deno look for a node_modules).
  for (const file of files.filter((file) => file !== "deno.json")) {
    mkdirSync(dirname(join(scratch, "pkg", file)), { recursive: true });
    cpSync(join(ROOT, file), join(scratch, "pkg", file));
  }
  const manifest = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));
  writeFileSync(
    join(scratch, "deno.json"),
    JSON.stringify({
      imports: {
        ...manifest.imports,
        "knex-mysql-session": "./pkg/mod.ts",
        express: `npm:express@${installedVersion("express")}`,
      },
      nodeModulesDir: "none",
    }),
  );
});

after(() => removeScratchProject({ scratch, database }));

describe("the JSR package", () => {
  it("publishes the sources, the SQL and the docs, and nothing else", () => {
    assertShipsOnly(
      files,
      ["mod.ts", "src/store.ts", "src/cli/main.ts", "LICENSE", "README.md"],
      /^(src|sql)\//,
      ["mod.ts", "deno.json", "README.md", "LICENSE", "CHANGELOG.md"],
    );
    assert.deepEqual(files.filter((file) => /\.test\.ts$/.test(file)), []);
  });

  it("serves a Deno Express 5 app that keeps, destroys and stores sessions", async () => {
    const table = tableName();
    const { stdout } = succeed(deno, ["run", "-A", "deno_app.ts"], scratch, {
      ...DENO_ENV,
      MYSQL_URL: database.url,
      TABLE: table,
    });
    const result = lastJsonLine(stdout);
    await assertScenario(result.report as ScenarioReport, database, table);
  });

  it("type-checks a Deno app against the package", () => {
    succeed(deno, ["check", "deno_app.ts"], scratch, DENO_ENV);
  });

  it("runs the CLI entry: deno run -A …/src/cli/main.ts --help", () => {
    const help = succeed(deno, ["run", "-A", "pkg/src/cli/main.ts", "--help"], scratch, DENO_ENV);
    assert.match(help.stdout, /knex-mysql-session/);
  });
});
