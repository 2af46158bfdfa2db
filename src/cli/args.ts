import { parseArgs } from "node:util";
import { identifierProblem, MAX_IDENTIFIER_LENGTH, MAX_TABLE_NAME_LENGTH } from "../identifiers.ts";
import type { SchemaNames } from "../sql.ts";
import { usageError } from "./errors.ts";

/** One option of a command, as parsed and as shown by --help. */
export interface OptionSpec {
  name: string;
  type: "string" | "boolean";
  /** The value's placeholder in help, e.g. `<url>`. */
  value?: string;
  description: string;
  default?: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional arguments after the command name, e.g. `<account>`. */
  positionals: { name: string; description: string }[];
  options: OptionSpec[];
  /** Longer explanation shown by `<command> --help`. */
  details: string;
}

export type ParsedValues = Record<string, string | boolean | undefined>;

export interface ParsedCommand {
  values: ParsedValues;
  positionals: string[];
}

/** Options every command that touches a table takes. */
export const URL_OPTION: OptionSpec = {
  name: "url",
  type: "string",
  value: "<url>",
  description: "server and database, mysql://user:password@host:3306/database (default: MYSQL_URL)",
};
export const TABLE_OPTIONS: OptionSpec[] = [
  {
    name: "table",
    type: "string",
    value: "<name>",
    description: "table name",
    default: "sessions",
  },
  {
    name: "sid",
    type: "string",
    value: "<column>",
    description: "session-id column",
    default: "sid",
  },
];
export const HELP_OPTION: OptionSpec = {
  name: "help",
  type: "boolean",
  description: "show this help",
};

/** Parses the arguments after the command name against the command's options. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  const options = Object.fromEntries(
    [...spec.options, HELP_OPTION].map((option) => [
      option.name,
      { type: option.type, ...(option.name === "help" ? { short: "h" } : {}) },
    ]),
  );
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw usageError(`${spec.name}: ${(error as Error).message}`);
  }
  const values: ParsedValues = { ...parsed.values };
  for (const option of spec.options) {
    if (values[option.name] === undefined && option.default !== undefined) {
      values[option.name] = option.default;
    }
  }
  if (!values.help) {
    if (parsed.positionals.length > spec.positionals.length) {
      throw usageError(
        `${spec.name}: unexpected argument ${parsed.positionals[spec.positionals.length]}`,
      );
    }
    const missing = spec.positionals[parsed.positionals.length];
    if (missing) throw usageError(`${spec.name}: missing ${missing.name}`);
  }
  return { values, positionals: parsed.positionals };
}

/** A table name from an option, checked like the store checks it. */
export function tableNameOption(values: ParsedValues, option: string): string {
  const name = values[option] as string;
  const problem = identifierProblem(name, MAX_TABLE_NAME_LENGTH);
  if (problem) throw usageError(`--${option} ${JSON.stringify(name)} ${problem}`);
  return name;
}

/** The sid column name from --sid. */
export function sidOption(values: ParsedValues): string {
  const sid = values.sid as string;
  const problem = identifierProblem(sid, MAX_IDENTIFIER_LENGTH);
  if (problem) throw usageError(`--sid ${JSON.stringify(sid)} ${problem}`);
  return sid;
}

/** The table and sid column names from --table and --sid. */
export function schemaNames(values: ParsedValues): SchemaNames {
  return { table: tableNameOption(values, "table"), sid: sidOption(values) };
}

/** A positive integer from an option. */
export function positiveIntegerOption(values: ParsedValues, option: string): number {
  const text = values[option] as string;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) {
    throw usageError(`--${option} must be a positive integer (got ${JSON.stringify(text)})`);
  }
  return value;
}
