import { withoutComments } from "../../sql.ts";
import {
  type ParsedValues,
  positiveIntegerOption,
  sidOption,
  tableNameOption,
  URL_OPTION,
} from "../args.ts";
import { type Command, withConnection } from "../command.ts";
import { usageError } from "../failures.ts";
import { type Io, println } from "../io.ts";
import { describeLayout } from "../layout.ts";
import { executePlan } from "../migration/execute.ts";
import { gatherFacts } from "../migration/facts.ts";
import { copyBatchSql, type Plan, planMigration } from "../migration/plan.ts";

function printPlan(io: Io, plan: Plan): void {
  println(io.stdout, "plan:");
  for (const [index, step] of plan.steps.entries()) {
    println(io.stdout, `${index + 1}. ${step.description}`);
    const sql = step.kind === "sql"
      ? withoutComments(step.sql)
      : step.kind === "copy"
      ? copyBatchSql(step.copy, { lower: true, upper: true })
      : undefined;
    if (sql) println(io.stdout, sql.split("\n").map((line) => `     ${line}`).join("\n"));
  }
  for (const note of plan.notes) println(io.stdout, `note: ${note}`);
}

function request(values: ParsedValues) {
  if (values.from === undefined) {
    throw usageError("migrate: --from <table> is required: the old store's session table");
  }
  const from = tableNameOption(values, "from");
  const to = values.to === undefined ? undefined : tableNameOption(values, "to");
  return { from, to, sid: sidOption(values) };
}

export const migrateCommand: Command = {
  spec: {
    name: "migrate",
    summary: "convert a connect-session-knex or express-mysql-session table",
    positionals: [],
    options: [
      { name: "from", type: "string", value: "<table>", description: "the existing session table" },
      {
        name: "to",
        type: "string",
        value: "<table>",
        description: "copy into this table instead of converting --from in place",
      },
      {
        name: "sid",
        type: "string",
        value: "<column>",
        description: "session-id column (connect-session-knex's sidfieldname)",
        default: "sid",
      },
      { name: "dry-run", type: "boolean", description: "print the plan and change nothing" },
      {
        name: "batch-size",
        type: "string",
        value: "<rows>",
        description: "rows per copy statement",
        default: "1000",
      },
      URL_OPTION,
    ],
    details: "Detects the layout of --from: connect-session-knex (any major: sess JSON or TEXT,\n" +
      "expired DATETIME or TIMESTAMP, with or without the expired index, any sid collation) or\n" +
      "express-mysql-session (session_id, expires in unix seconds, data).\n" +
      "\n" +
      "Without --to (or with --to equal to --from) the table is converted in place:\n" +
      "connect-session-knex's with one ALTER TABLE (its old app keeps working on the result),\n" +
      "express-mysql-session's by a batched copy into <from>_kms_staging and a swap that keeps\n" +
      "the original as <from>_kms_backup. With --to, live sessions are copied into a new\n" +
      "table in batches and --from is left untouched. Either way the procedures are installed\n" +
      "at the end.\n" +
      "\n" +
      "An interrupted run resumes where it stopped: run the same command again. Expired\n" +
      "sessions and rows whose data is not JSON are not copied. Expiry times are read in the\n" +
      "server's default time zone, as the old store's connections did.",
  },
  async run({ values }, io) {
    const migration = request(values);
    const batchSize = positiveIntegerOption(values, "batch-size");
    await withConnection(values.url, io, async (connection) => {
      const facts = await gatherFacts(connection, migration);
      println(io.stdout, `\`${migration.from}\`: ${describeLayout(facts.source)}`);
      const plan = planMigration(facts, migration);
      if (values["dry-run"]) {
        printPlan(io, plan);
        println(io.stdout, "dry run: nothing was changed");
        return;
      }
      await executePlan(connection, plan, { batchSize, io });
      for (const note of plan.notes) println(io.stdout, `note: ${note}`);
      println(io.stdout, `done: the sessions are in \`${plan.result}\``);
    });
    return 0;
  },
};
