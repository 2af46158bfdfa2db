import { parseCommand } from "./args.ts";
import type { Command } from "./command.ts";
import { grantCommand } from "./commands/grant.ts";
import { installCommand, uninstallCommand, upgradeCommand } from "./commands/lifecycle.ts";
import { migrateCommand } from "./commands/migrate.ts";
import { sqlCommand } from "./commands/sql.ts";
import { statusCommand } from "./commands/status.ts";
import { CliError, usageError } from "./errors.ts";
import { commandHelp, PROGRAM, programHelp } from "./help.ts";
import { type Io, println } from "./io.ts";

export const COMMANDS: Command[] = [
  sqlCommand,
  grantCommand,
  installCommand,
  upgradeCommand,
  uninstallCommand,
  statusCommand,
  migrateCommand,
];

async function dispatch(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  const specs = COMMANDS.map((command) => command.spec);
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(programHelp(specs));
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.spec.name === name);
  if (!command) {
    throw usageError(
      `unknown command ${JSON.stringify(name)}: one of ${specs.map((s) => s.name).join(", ")}`,
    );
  }
  const parsed = parseCommand(command.spec, rest);
  if (parsed.values.help) {
    io.stdout.write(commandHelp(command.spec));
    return 0;
  }
  return await command.run(parsed, io);
}

/**
 * Runs the CLI with `argv` (without node and the script) and resolves with the exit code.
 * Every failure becomes one line on stderr; an unexpected one keeps its stack.
 */
export async function runCli(argv: string[], io: Io): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    if (error instanceof CliError) {
      println(io.stderr, `${PROGRAM}: ${error.message}`);
      return error.exitCode;
    }
    println(io.stderr, `${PROGRAM}: unexpected error: ${(error as Error)?.stack ?? error}`);
    return 1;
  }
}
