// The GitHub workflows cannot run here, so this keeps them honest: valid, running only npm
// scripts that exist, calling the one check as .ci/run does (and everything else .ci/run runs but
// what needs root), and publishing only a tag that names the version.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { parse } from "yaml";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");

interface Job {
  "runs-on"?: string;
  uses?: string;
  needs?: string;
  steps?: { run?: string; uses?: string }[];
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

/** Each line of each `run:` of a workflow, trimmed. */
function runLines(workflow: Workflow): string[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps ?? [])
    .flatMap((step) => (step.run ?? "").split("\n").map((line) => line.trim()));
}

/** The npm scripts some text runs: `npm test`, `npm run <name>`. */
function npmScriptsIn(text: string): string[] {
  return [...text.matchAll(/\bnpm (?:run(?:-script)? ([\w:.-]+)|(test|start)\b)/g)]
    .map((match) => (match[1] ?? match[2]) as string);
}

/**
 * What .ci/run runs that GitHub's CI leaves out, each built as root: the Galera cluster
 * (scripts/cluster.sh) and its soak, the Group Replication cluster (scripts/gr-cluster.sh, in the
 * MySQL chroot).
 */
const ROOT_ONLY = ["test:cluster", "test:cluster:mysql", "soak"];
/**
 * Parts of tiers ci.yml runs whole on every server: .ci/run, one machine against the clock,
 * runs them on the second server of a variant instead of the whole tier again (after installing
 * the newest releases once, as test:newest does); and the unit tier without coverage, which ci.yml
 * runs as test:coverage.
 */
const SUBSETS = ["install:newest", "test:core", "test:deno:core", "test:unit"];

describe("GitHub workflows", () => {
  for (const name of WORKFLOWS) {
    it(`${name}: jobs that run somewhere, steps that run or use something, scripts that exist`, () => {
      const workflow = workflows[name] as Workflow;
      assert.equal(typeof workflow.on, "object");
      for (const [id, job] of Object.entries(workflow.jobs)) {
        if (job.uses) continue; // a reusable workflow: checked as its own file
        assert.ok(job["runs-on"], `${name}: job ${id} has runs-on`);
        for (const step of job.steps ?? []) assert.ok(step.run || step.uses, `${name}: ${id}`);
      }
      const missing = runLines(workflow).flatMap(npmScriptsIn).filter((s) => !(s in scripts));
      assert.deepEqual(missing, []);
    });
  }

  it("ci.yml and .ci/run both run npm run check, and ci.yml every other script .ci/run runs", () => {
    const ciRun = npmScriptsIn(read(".ci/run"));
    const ciYml = runLines(workflows["ci.yml"] as Workflow).flatMap(npmScriptsIn);
    assert.ok(ciRun.includes("check"));
    assert.ok(ciYml.includes("check"));
    const elsewhere = [...ROOT_ONLY, ...SUBSETS];
    assert.deepEqual(ciRun.filter((s) => !elsewhere.includes(s) && !ciYml.includes(s)), []);
  });

  it("release.yml publishes a version tag after CI, checking the tag first", () => {
    const release = workflows["release.yml"] as Workflow;
    assert.deepEqual((release.on.push as { tags: string[] }).tags, ["v*.*.*"]);
    assert.equal(release.jobs.ci?.uses, "./.github/workflows/ci.yml");
    assert.equal(release.jobs.publish?.needs, "ci");
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
});
