import { parseCommand } from "./args.ts";
import type { Command } from "./command.ts";
import { backfillCommand } from "./commands/backfill.ts";
import { grantCommand } from "./commands/grant.ts";
import { installCommand, uninstallCommand, upgradeCommand } from "./commands/lifecycle.ts";
import { migrateCommand } from "./commands/migrate.ts";
import { sqlCommand } from "./commands/print_sql.ts";
import { statusCommand } from "./commands/status.ts";
import { redactSecretsIn } from "./admin_connection.ts";
import { CliError, explainDatabaseError, usageError, withoutPrefix } from "./failures.ts";
import { commandHelp, PROGRAM, programHelp } from "./help.ts";
import { type Io, println } from "./io.ts";
import { VERSION } from "./version.ts";
import { SessionStoreError } from "../errors.ts";

export const COMMANDS: Command[] = [
  sqlCommand,
  grantCommand,
  installCommand,
  upgradeCommand,
  uninstallCommand,
  statusCommand,
  migrateCommand,
  backfillCommand,
];

const ISSUES = "https://github.com/knex-mysql-session/knex-mysql-session/issues";

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  const specs = COMMANDS.map((command) => command.spec);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(programHelp(specs));
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-V") {
    println(io.stdout, VERSION);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.spec.name === name);
  if (!command) {
    throw usageError(
      name.startsWith("-")
        ? `unknown option ${name} before the command: write <command> [options]; ` +
          `commands: ${specs.map((s) => s.name).join(", ")}`
        : `unknown command ${JSON.stringify(name)}: one of ${specs.map((s) => s.name).join(", ")}`,
    );
  }
  try {
    const parsed = parseCommand(command.spec, rest);
    if (parsed.values.help) {
      io.stdout.write(commandHelp(command.spec));
      return 0;
    }
    return await command.run(parsed, io);
  } catch (error) {
    if (error instanceof CliError) error.command ??= name;
    throw error;
  }
}

/** The one line an error prints, without the program name. */
function errorLine(error: CliError): string {
  const message = withoutPrefix(error.message);
  if (!error.seeHelp) return message;
  return `${message} (see ${error.command ? `${error.command} ` : ""}--help)`;
}

/**
 * Runs the CLI with `argv` (without node and the script) and resolves with the exit code.
 * Every failure becomes one line on stderr, printed after the program name once; an unexpected
 * one keeps its stack.
 */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    // A store error that escaped a connection step still says what to do: print it as one.
    const known = error instanceof SessionStoreError
      ? explainDatabaseError(error, { server: "the server" })
      : error;
    if (known instanceof CliError) {
      println(io.stderr, `${PROGRAM}: ${redactSecretsIn(errorLine(known))}`);
      return known.exitCode;
    }
    // "TypeError: knex-mysql-session: …" keeps its name, not a second program name.
    const text = String((error as Error)?.stack ?? error).replace(
      /^(\w*(?:Error|Exception): )?(?:knex-mysql-session: *)+/,
      "$1",
    );
    println(
      io.stderr,
      `${PROGRAM}: unexpected error (please report it at ${ISSUES}): ${redactSecretsIn(text)}`,
    );
    return 1;
  }
}
