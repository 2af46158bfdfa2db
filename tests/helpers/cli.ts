// Runs the CLI in-process with captured output, and as a child process for tests that must
// interrupt it.
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { runCli } from "../../src/cli/run.ts";
import { SCHEMA_VERSION } from "../../src/sql.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `knex-mysql-session <argv>` in this process; `env` replaces process.env. */
export async function cli(
  argv: string[],
  options: { env?: Record<string, string | undefined>; tty?: boolean } = {},
): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
  });
  return { code, stdout, stderr };
}

const CLI_MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

/** The CLI as a child process (node with tsx, or deno), its output piped. */
export function spawnCli(argv: string[]) {
  const runtime = "Deno" in globalThis ? ["run", "-A", CLI_MAIN] : ["--import", "tsx", CLI_MAIN];
  return spawn(process.execPath, [...runtime, ...argv], {
    env: { ...process.env, MYSQL_URL: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** `status` of a table in this store's exact layout: current schema, the sid collation given. */
export function assertExactLayout(status: CliResult, sidCollation: string): void {
  assert.equal(status.code, 0, status.stderr);
  assert.match(status.stdout, new RegExp(`layout: +knex-mysql-session schema ${SCHEMA_VERSION}\n`));
  assert.match(status.stdout, new RegExp(`sid column: \`sid\` varchar\\(255\\) ${sidCollation}\n`));
  assert.equal(status.stderr, "", "status warns about nothing");
}
