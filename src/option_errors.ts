// How a rejected option is reported, for every option (encryption's included): one message form,
// and one way of showing the value given.

/**
 * A value, shown in an error message without leaking a secret or flooding the log. With
 * `secret` (a key, or what may be one), only the kind of value is said, never its contents.
 */
export function describeValue(value: unknown, secret = false): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return `a Uint8Array of ${value.length} bytes`;
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return "an object";
  if (secret) return `a ${typeof value}`;
  if (typeof value === "string") {
    // A URL may carry a password (a connection URL given in the wrong place): never echo one.
    if (/:\/\/|@/.test(value)) return "a string that looks like a URL (not shown)";
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  }
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

/**
 * The TypeError for option `name`: `problem` says what is wrong ("must be …"), and `got`, when
 * given, what was passed (as {@link describeValue} shows it).
 */
export function optionError(name: string, problem: string, got?: string): TypeError {
  return new TypeError(
    `knex-mysql-session: option "${name}" ${problem}${got === undefined ? "" : ` (got ${got})`}`,
  );
}
