import { parseArgs } from "node:util";
import { identifierProblem, MAX_IDENTIFIER_LENGTH } from "../identifiers.ts";
import { MAX_TABLE_NAME_LENGTH } from "../sql.ts";
import type { SchemaNames } from "../sql.ts";
import { CliError, usageError } from "./failures.ts";

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

/** `--name`, with its value's placeholder for a string option. */
function flag(option: OptionSpec): string {
  return `--${option.name}${option.value ? ` ${option.value}` : ""}`;
}

/** The command's options, for a usage error: `--table, --sid, --url`. */
function optionList(spec: CommandSpec): string {
  return spec.options.map((option) => `--${option.name}`).join(", ");
}

/** Parses the arguments after the command name against the command's options. */
export function parseCommand(spec: CommandSpec, argv: string[]): ParsedCommand {
  // Looked up in Maps, never on a plain object: `--constructor` or `--__proto__` is unknown.
  const long = new Map([...spec.options, HELP_OPTION].map((option) => [option.name, option]));
  const short = new Map([["-h", HELP_OPTION]]);
  // Not strict: Node's own messages (an unbalanced quote, a hint about `--`) are replaced by
  // ours, which name the command's options; the tokens say what each argument was.
  const { values: parsedValues, positionals, tokens } = parseArgs({
    args: argv,
    options: Object.fromEntries(
      [...long.values()].map((option) => [
        option.name,
        { type: option.type, ...(option.name === "help" ? { short: "h" } : {}) },
      ]),
    ),
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const option = token.rawName.startsWith("--") ? long.get(token.name) : short.get(token.rawName);
    if (!option) {
      throw new CliError(
        `${spec.name}: unknown option ${token.rawName} (options: ${optionList(spec)}; ` +
          `see ${spec.name} --help)`,
        2,
      );
    }
    if (option.type === "boolean" && token.value !== undefined) {
      throw usageError(`${spec.name}: --${option.name} takes no value`);
    }
    if (option.type === "string") {
      if (token.value === undefined) {
        throw usageError(`${spec.name}: ${token.rawName} needs a value: ${flag(option)}`);
      }
      // `--table --url x`: the value is another option, almost surely a forgotten value.
      if (!token.inlineValue && token.value.startsWith("-")) {
        throw usageError(
          `${spec.name}: ${token.rawName} needs a value, ${flag(option)}, and got the option ` +
            `${token.value}: give the value, or write ${token.rawName}=${token.value} if that is it`,
        );
      }
    }
  }
  const values: ParsedValues = {};
  for (const option of long.values()) {
    const value = Object.prototype.hasOwnProperty.call(parsedValues, option.name)
      ? parsedValues[option.name]
      : undefined;
    values[option.name] = typeof value === "string" || typeof value === "boolean"
      ? value
      : option.default;
  }
  if (!values.help) {
    const names = spec.positionals.map((p) => p.name).join(" ");
    if (positionals.length > spec.positionals.length) {
      throw usageError(
        `${spec.name}: unexpected argument ${
          JSON.stringify(positionals[spec.positionals.length])
        }` +
          `: ${spec.name} takes ${names ? `only ${names}` : "no arguments, only options"}`,
      );
    }
    const missing = spec.positionals[positionals.length];
    if (missing) {
      throw usageError(`${spec.name}: missing ${missing.name}, ${missing.description}`);
    }
  }
  return { values, positionals };
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
