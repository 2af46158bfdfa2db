#!/usr/bin/env node
// The `knex-mysql-session` command: node dist/cli.js, node --import tsx src/cli/main.ts, or
// deno run -A src/cli/main.ts.
import process from "node:process";
import { runCli } from "./run.ts";

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
