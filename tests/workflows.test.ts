// The GitHub workflows cannot run here, so this keeps them honest: valid YAML, every npm script
// they run exists, CI runs every command .ci/run runs on the promised Node versions and servers,
// and the release checks its tag against both manifests (the check itself is tested here too).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { versionProblems, withVersion } from "../scripts/sync-version.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(fileURLToPath(new URL(path, root)), "utf8");

interface Step {
  run?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  "runs-on"?: string;
  uses?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown> };
  services?: Record<string, { image: string }>;
  steps?: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const WORKFLOWS = ["ci.yml", "release.yml", "docs.yml"];
const workflows = Object.fromEntries(
  WORKFLOWS.map((name) => [name, parse(read(`.github/workflows/${name}`)) as Workflow]),
);
const scripts: Record<string, string> = JSON.parse(read("package.json")).scripts;

function steps(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps ?? []);
}

/** Each line of each `run:` of a workflow, trimmed. */
function runLines(workflow: Workflow): string[] {
  return steps(workflow).flatMap((step) => (step.run ?? "").split("\n").map((line) => line.trim()));
}

/** The npm scripts a command line runs: `npm test`, `npm run <name>`. */
function npmScriptsIn(line: string): string[] {
  return [...line.matchAll(/\bnpm (?:run(?:-script)? ([\w:.-]+)|(test|start)\b)/g)].map((match) =>
    (match[1] ?? match[2]) as string
  );
}

/**
 * .ci/run commands that GitHub's CI leaves out, each for a reason: the Galera suite and its soak
 * need a 3-node cluster that scripts/cluster.sh builds as root from Debian packages; the Group
 * Replication suite, one that scripts/gr-cluster.sh builds as root in the MySQL chroot.
 */
const LOCAL_ONLY = new Set([
  "npm run test:cluster",
  "npm run test:cluster:mysql",
  "npm run soak -- --quick",
]);

/**
 * .ci/run's commands that run project tools (npm, npx), without leading VAR=value settings or
 * the `on_each_server "title"` that runs a command once per server.
 */
function ciRunCommands(): string[] {
  return read(".ci/run").split("\n")
    .map((line) =>
      line.trim()
        .replace(/^on_each_server "[^"]*" /, "")
        .replace(/^(?:\w+=(?:"[^"]*"|\S*)\s+)+/, "")
    )
    .filter((line) => /^(npm|npx) /.test(line));
}

describe("GitHub workflows", () => {
  for (const name of WORKFLOWS) {
    it(`${name} has triggers and jobs whose steps run or use something`, () => {
      const workflow = workflows[name] as Workflow;
      assert.equal(typeof workflow.on, "object");
      assert.ok(Object.keys(workflow.jobs).length > 0);
      for (const [id, job] of Object.entries(workflow.jobs)) {
        if (job.uses) continue; // a reusable workflow: checked as its own file
        assert.ok(job["runs-on"], `${name}: job ${id} has runs-on`);
        for (const step of job.steps ?? []) {
          assert.ok(step.run || step.uses, `${name}: a step of ${id} neither runs nor uses`);
        }
      }
    });

    it(`${name} runs only npm scripts that package.json defines`, () => {
      const missing = runLines(workflows[name] as Workflow).flatMap(npmScriptsIn)
        .filter((script) => !(script in scripts));
      assert.deepEqual(missing, []);
    });
  }

  it("ci.yml runs every npm/npx command of .ci/run but the cluster ones", () => {
    const lines = runLines(workflows["ci.yml"] as Workflow);
    const missing = ciRunCommands().filter((command) =>
      !LOCAL_ONLY.has(command) &&
      !lines.some((line) => line === command || line.startsWith(`${command} `))
    );
    assert.deepEqual(missing, []);
  });

  it("ci.yml tests Node 20, 22 and 24 and Deno against MySQL 8.0, 8.4 and MariaDB 11", () => {
    const { jobs } = workflows["ci.yml"] as Workflow;
    assert.deepEqual(jobs.node?.strategy?.matrix?.node, [20, 22, 24]);
    for (const job of [jobs.node, jobs.deno]) {
      const images = (job?.strategy?.matrix?.database as { image: string }[]).map((db) => db.image);
      assert.deepEqual(images, ["mysql:8.0", "mysql:8.4", "mariadb:11"]);
      assert.equal(job?.services?.database?.image, "${{ matrix.database.image }}");
    }
    assert.ok(runLines(workflows["ci.yml"] as Workflow).includes("npm run test:deno"));
  });

  it("ci.yml runs the tests once through testcontainers, with MYSQL_URL unset", () => {
    const job = (workflows["ci.yml"] as Workflow).jobs.testcontainers as Job & {
      env?: Record<string, string>;
    };
    assert.equal(job.env?.MYSQL_URL, "");
    assert.ok((job.steps ?? []).some((step) => step.run === "npm test"));
    assert.equal(job.services, undefined);
  });

  it("release.yml publishes a version tag after CI, checking the tag against both versions", () => {
    const release = workflows["release.yml"] as Workflow;
    assert.deepEqual((release.on.push as { tags: string[] }).tags, ["v*.*.*"]);
    assert.equal(release.jobs.ci?.uses, "./.github/workflows/ci.yml");
    assert.equal(release.jobs.publish?.needs, "ci");
    assert.equal(release.jobs.publish?.permissions?.["id-token"], "write");
    const lines = runLines(release);
    const at = (command: string) => {
      const index = lines.findIndex((line) => line.startsWith(command));
      assert.notEqual(index, -1, `release.yml runs ${command}`);
      return index;
    };
    const check = at('npm run check:version -- --tag "$GITHUB_REF_NAME"');
    assert.ok(check < at("npm publish --provenance"), "the tag is checked before publishing");
    assert.ok(check < at("npx deno publish"));
  });

  it("docs.yml builds the docs and deploys docs/build to GitHub Pages", () => {
    const docs = workflows["docs.yml"] as Workflow;
    assert.ok(runLines(docs).includes("npm run docs:build"));
    const upload = steps(docs).find((step) =>
      step.uses?.startsWith("actions/upload-pages-artifact")
    );
    assert.equal(upload?.with?.path, "docs/build");
    assert.ok(steps(docs).some((step) => step.uses?.startsWith("actions/deploy-pages")));
  });
});

describe("release version check (scripts/sync-version.ts)", () => {
  it("accepts equal semver versions and the matching tag", () => {
    assert.deepEqual(versionProblems({ npm: "1.2.3", jsr: "1.2.3", tag: "v1.2.3" }), []);
    assert.deepEqual(versionProblems({ npm: "2.0.0-rc.1", jsr: "2.0.0-rc.1" }), []);
  });

  it("names each disagreement", () => {
    assert.deepEqual(versionProblems({ npm: "1.2.3", jsr: "1.2.2", tag: "1.2.3" }), [
      'deno.json\'s version "1.2.2" differs from package.json\'s "1.2.3": ' +
      "run `node --import tsx scripts/sync-version.ts`",
      'tag "1.2.3" does not name version 1.2.3 (expected "v1.2.3")',
    ]);
    assert.match(versionProblems({ npm: "1.2", jsr: "1.2" })[0] as string, /not semver/);
  });

  it("rewrites only deno.json's version, keeping its formatting", () => {
    const before =
      '{\n  "name": "@s/p",\n  "version": "0.1.0",\n  "imports": { "a": "npm:a@1" }\n}\n';
    assert.equal(
      withVersion(before, "0.2.0"),
      '{\n  "name": "@s/p",\n  "version": "0.2.0",\n  "imports": { "a": "npm:a@1" }\n}\n',
    );
    assert.throws(() => withVersion('{ "name": "@s/p" }', "0.2.0"), /no "version" field/);
  });

  it("the repository's two manifests agree", () => {
    const npm = JSON.parse(read("package.json")).version;
    assert.deepEqual(versionProblems({ npm, jsr: JSON.parse(read("deno.json")).version }), []);
  });
});
