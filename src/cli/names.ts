// Names from the command line that reach SQL text, and values looked up by them.

/** MySQL and MariaDB allow 64 characters in a database name. */
const MAX_DATABASE_NAME_LENGTH = 64;

/**
 * Why `name` cannot be used as a database name in SQL text the CLI writes, or undefined when
 * it can. Server names may hold almost any character (`my-app` is common), so only what could
 * end the quoted name or hide in a terminal is refused: a backtick, a control character.
 */
export function databaseNameProblem(name: string): string | undefined {
  if (name.length === 0) return "is empty";
  if (name.length > MAX_DATABASE_NAME_LENGTH) {
    return `is longer than ${MAX_DATABASE_NAME_LENGTH} characters`;
  }
  if (name.includes("`")) return "contains a backtick";
  // deno-lint-ignore no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return "contains a control character";
  if (name.endsWith(" ")) return "ends with a space";
  return undefined;
}

/** `name` quoted for SQL text: in backticks, a backtick inside doubled. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}
