// What the packaging tests share: paths, running commands, and checking the Express scenario's
// report (tests/packaging/fixtures/express_scenario.mjs) against the database.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import type { ScenarioReport } from "./fixtures/express_scenario.mjs";
import { createTestDatabase, type TestDatabase } from "../helpers/database.ts";

/** The repository's root directory. */
export const ROOT: string = fileURLToPath(new URL("../..", import.meta.url));
/** The fixtures directory: consumer apps and their shared Express scenario. */
const FIXTURES: string = fileURLToPath(new URL("./fixtures/", import.meta.url));

/** The version of a package as installed in the repository (`alias`: its node_modules name). */
export function installedVersion(alias: string): string {
  return JSON.parse(readFileSync(join(ROOT, "node_modules", alias, "package.json"), "utf8"))
    .version;
}

/**
 * Copies the fixtures into a scratch project. TypeScript apps are stored as `*.fixture` so that
 * the repository's own tsc, which includes tests/, does not check them against a package it
 * cannot resolve; they get their real names here.
 */
function copyFixtures(destination: string): void {
  cpSync(FIXTURES, destination, { recursive: true });
  for (const entry of readdirSync(FIXTURES, { recursive: true, encoding: "utf8" })) {
    if (entry.endsWith(".fixture")) {
      renameSync(join(destination, entry), join(destination, entry.slice(0, -".fixture".length)));
    }
  }
}

/** A package test's scratch project (in the temp directory, with the fixtures) and database. */
export interface ScratchProject {
  scratch: string;
  database: TestDatabase;
}

export async function createScratchProject(name: string): Promise<ScratchProject> {
  const database = await createTestDatabase(name);
  const scratch = mkdtempSync(join(tmpdir(), `kms-${name.replace(/_/g, "-")}-`));
  copyFixtures(scratch);
  return { scratch, database };
}

/** Drops what createScratchProject made; either may be missing after a failed set-up. */
export async function removeScratchProject(project: Partial<ScratchProject>): Promise<void> {
  await project.database?.drop();
  if (project.scratch) rmSync(project.scratch, { recursive: true, force: true });
}

/**
 * A package's files hold every one of `required`, and nothing but files under `directories`
 * and the `topLevel` ones.
 */
export function assertShipsOnly(
  files: string[],
  required: string[],
  directories: RegExp,
  topLevel: string[],
): void {
  for (const file of required) {
    assert.ok(files.includes(file), `${file} is missing from ${files.join(", ")}`);
  }
  const unexpected = files.filter((file) => !directories.test(file) && !topLevel.includes(file));
  assert.deepEqual(unexpected, []);
}

/** Runs a command to completion (2 minutes at most) and returns its output; fails on exit != 0. */
export function succeed(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): { stdout: string; stderr: string } {
  const result = spawnSync(command, args, {
    cwd,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  if (result.error) throw result.error;
  assert.equal(
    result.status,
    0,
    `${command} ${args.join(" ")} exited ${result.status}\n${result.stdout}\n${result.stderr}`,
  );
  return { stdout: result.stdout, stderr: result.stderr };
}

/** The JSON object a consumer app prints as its last line. */
export function lastJsonLine(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout.trim().split("\n").at(-1) as string);
}

/**
 * Checks what the Express scenario saw (a session kept over three requests, destroyed on
 * logout, a new one after) and that the table holds exactly the last session, and the marker
 * the logout left of the first.
 */
export async function assertScenario(
  report: ScenarioReport,
  database: TestDatabase,
  table: string,
): Promise<void> {
  assert.deepEqual(report.visits, [1, 2, 3]);
  assert.equal(report.liveBeforeLogout, 1);
  assert.equal(report.liveAfterLogout, 0);
  assert.equal(report.visitAfterLogout, 1);
  const [rows] = await database.admin.raw(
    `SELECT sid, destroyed FROM \`${table}\` ORDER BY destroyed DESC`,
  );
  assert.deepEqual(rows.map((row: { destroyed: number }) => Number(row.destroyed)), [1, 0]);
  assert.equal(rows[1].sid, report.sid);
}
