// Identifiers reach SQL text (they cannot be bound parameters), so they are held to a strict
// pattern: ASCII letters, digits and underscores, not starting with a digit.

/** MySQL and MariaDB allow 64 characters in a table, column or routine name. */
export const MAX_IDENTIFIER_LENGTH = 64;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Returns why `name` is not an acceptable identifier of at most `maxLength` characters, or
 * undefined when it is.
 */
export function identifierProblem(name: unknown, maxLength: number): string | undefined {
  if (typeof name !== "string") return "must be a string";
  if (!IDENTIFIER.test(name)) {
    return "must match /^[A-Za-z_][A-Za-z0-9_]*$/ (ASCII letters, digits, underscores)";
  }
  if (name.length > maxLength) return `must be at most ${maxLength} characters long`;
  return undefined;
}
