// scripts/sync-version.ts: what the release checks its tag against (package.json's and deno.json's
// versions), and how `npm version` keeps deno.json in step.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { versionProblems, withVersion } from "../../scripts/sync-version.ts";

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");

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
