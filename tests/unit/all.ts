// The unit tier in one process: a TypeScript loader and a module graph once, instead of one
// process per file (which cost most of the tier's time). Imports are static so that every test
// is registered before the run starts. Deno runs the files themselves (`deno test tests/unit/`).
import "./cleanup.test.ts";
import "./cli_layout.test.ts";
import "./cli_progress.test.ts";
import "./cli_usage.test.ts";
import "./codec.test.ts";
import "./connection_url.test.ts";
import "./database.test.ts";
import "./docs_options.test.ts";
import "./docs_pages.test.ts";
import "./driver_errors.test.ts";
import "./encryption.test.ts";
import "./health.test.ts";
import "./linger.test.ts";
import "./migration_plan.test.ts";
import "./options.test.ts";
import "./session_memo.test.ts";
import "./slot_set.test.ts";
import "./sql_embed.test.ts";
import "./startup.test.ts";
import "./statement_batches.test.ts";
import "./sync_version.test.ts";
import "./tcp_proxy.test.ts";
import "./test_database.test.ts";
import "./workflows.test.ts";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

test("every unit test file is imported here", () => {
  const here = new URL(".", import.meta.url);
  const imported = [
    ...readFileSync(new URL("all.ts", here), "utf8").matchAll(/^import "\.\/(.+)";$/gm),
  ]
    .map((match) => match[1]);
  const files = readdirSync(here).filter((name) => name.endsWith(".test.ts")).sort();
  assert.deepEqual(imported, files);
});
