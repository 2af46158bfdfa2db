// Keeps deno.json's version (the JSR release) and the CLI's --version constant
// (src/cli/version.ts) equal to package.json's (the npm release). `npm version <bump>` runs it
// through package.json's "version" script.
//
//   node --import tsx scripts/sync-version.ts                      copy the version into deno.json
//   node --import tsx scripts/sync-version.ts --check              exit 1 when the two differ
//   node --import tsx scripts/sync-version.ts --check --tag v1.2.3 also require tag = v<version>
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const PACKAGE_JSON = join(root, "package.json");
const DENO_JSON = join(root, "deno.json");
const CLI_VERSION = join(root, "src", "cli", "version.ts");
const VERSION_CONSTANT = /^(export const VERSION = )"[^"]*";$/m;

// semver.org's grammar, simplified to what a release may carry: x.y.z[-pre][+build].
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
const VERSION_FIELD = /^(\s*"version"\s*:\s*)"[^"]*"/m;

export interface Versions {
  /** package.json's version. */
  npm: string;
  /** deno.json's version. */
  jsr: string;
  /** The git tag being released, when there is one. */
  tag?: string;
}

/** What is wrong with the versions, one sentence each; empty when they agree. */
export function versionProblems({ npm, jsr, tag }: Versions): string[] {
  const problems: string[] = [];
  if (!SEMVER.test(npm)) problems.push(`package.json's version "${npm}" is not semver`);
  if (jsr !== npm) {
    problems.push(
      `deno.json's version "${jsr}" differs from package.json's "${npm}": ` +
        "run `node --import tsx scripts/sync-version.ts`",
    );
  }
  if (tag !== undefined && tag !== `v${npm}`) {
    problems.push(`tag "${tag}" does not name version ${npm} (expected "v${npm}")`);
  }
  return problems;
}

/** deno.json's text with its version replaced, everything else (formatting too) kept. */
export function withVersion(denoJson: string, version: string): string {
  if (!VERSION_FIELD.test(denoJson)) throw new Error('deno.json has no "version" field');
  const updated = denoJson.replace(VERSION_FIELD, `$1${JSON.stringify(version)}`);
  if (JSON.parse(updated).version !== version) {
    throw new Error('deno.json\'s first "version" field is not its top-level one');
  }
  return updated;
}

function versionOf(path: string): string {
  const version = JSON.parse(readFileSync(path, "utf8")).version;
  if (typeof version !== "string") throw new Error(`${path} has no string "version" field`);
  return version;
}

function optionValue(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index === -1) return undefined;
  const value = args[index + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`${name} needs a value`);
  return value;
}

function main(args: string[]): void {
  const npm = versionOf(PACKAGE_JSON);
  if (args.includes("--check")) {
    const problems = versionProblems({
      npm,
      jsr: versionOf(DENO_JSON),
      tag: optionValue(args, "--tag"),
    });
    for (const problem of problems) console.error(problem);
    if (problems.length > 0) process.exit(1);
    console.log(`versions agree: ${npm}`);
    return;
  }
  const problems = versionProblems({ npm, jsr: npm });
  if (problems.length > 0) throw new Error(problems.join("; "));
  writeFileSync(DENO_JSON, withVersion(readFileSync(DENO_JSON, "utf8"), npm));
  const cli = readFileSync(CLI_VERSION, "utf8");
  if (!VERSION_CONSTANT.test(cli)) throw new Error("src/cli/version.ts has no VERSION constant");
  writeFileSync(CLI_VERSION, cli.replace(VERSION_CONSTANT, `$1${JSON.stringify(npm)};`));
  console.log(`deno.json and src/cli/version.ts version: ${npm}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`sync-version: ${(error as Error).message}`);
    process.exit(2);
  }
}
