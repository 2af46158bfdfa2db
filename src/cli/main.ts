#!/usr/bin/env node
// The `knex-mysql-session` command: node dist/cli.js, node --import tsx src/cli/main.ts, or
// deno run -A src/cli/main.ts.
import process from "node:process";
import { runCli } from "./run.ts";

// `knex-mysql-session sql | head`: a reader that stops early closes the pipe. That is no
// failure of the command, and no reason for Node to throw an unhandled 'error' event.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw error;
  });
}

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
