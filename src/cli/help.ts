import { type CommandSpec, HELP_OPTION } from "./args.ts";

export const PROGRAM = "knex-mysql-session";

function optionLines(spec: CommandSpec): string[] {
  const rows = [...spec.options, HELP_OPTION].map((option) => {
    const flag = `${option.name === "help" ? "-h, " : ""}--${option.name}` +
      (option.value ? ` ${option.value}` : "");
    const fallback = option.default !== undefined ? ` (default: ${option.default})` : "";
    return [flag, `${option.description}${fallback}`] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length));
  return rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`);
}

/** `<command> --help`. */
export function commandHelp(spec: CommandSpec): string {
  const positionals = spec.positionals.map((p) => ` ${p.name}`).join("");
  return [
    `Usage: ${PROGRAM} ${spec.name}${positionals} [options]`,
    "",
    `${spec.summary[0]?.toUpperCase()}${spec.summary.slice(1)}.`,
    "",
    spec.details,
    "",
    ...(spec.positionals.length > 0
      ? ["Arguments:", ...spec.positionals.map((p) => `  ${p.name}  ${p.description}`), ""]
      : []),
    "Options:",
    ...optionLines(spec),
    "",
  ].join("\n");
}

/** `--help` with no command. */
export function programHelp(specs: CommandSpec[]): string {
  const width = Math.max(...specs.map((spec) => spec.name.length));
  return [
    `Usage: ${PROGRAM} <command> [options]`,
    "",
    "Schema lifecycle and migration for the knex-mysql-session express-session store.",
    "",
    "Commands:",
    ...specs.map((spec) => `  ${spec.name.padEnd(width)}  ${spec.summary}`),
    "",
    "Options:",
    "  -h, --help     show this help",
    "  -V, --version  print the version",
    "",
    `Run \`${PROGRAM} <command> --help\` for a command's options. Commands that talk to a`,
    "server take --url mysql://user:password@host:3306/database, or read MYSQL_URL.",
    "",
  ].join("\n");
}
