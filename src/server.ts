// The two servers the store runs on, and what differs between them for the schema.

/** MySQL (Oracle's, 8.0.19 and later) or MariaDB. */
export type ServerKind = "mysql" | "mariadb";

export const SERVER_KINDS: readonly ServerKind[] = ["mysql", "mariadb"];

/** Which server a `SELECT VERSION()` answer comes from. */
export function serverKindOf(version: string): ServerKind {
  return /mariadb/i.test(version) ? "mariadb" : "mysql";
}

/**
 * The sid column's collation in a fresh install: utf8mb4, compared byte for byte and NO PAD, so
 * that ids differing only in case or in trailing spaces stay apart. MySQL 8.0+ and MariaDB
 * 10.2+ have these; MySQL has no *_nopad_bin, and MariaDB knows utf8mb4_0900_bin only since
 * 11.4.5.
 */
export const SID_COLLATION: Readonly<Record<ServerKind, string>> = {
  mysql: "utf8mb4_0900_bin",
  mariadb: "utf8mb4_nopad_bin",
};

/** Whether `collation` compares bytes, so that ids differing only in case stay apart. */
export function isCaseSensitiveCollation(collation: string): boolean {
  return collation.endsWith("_bin") || collation === "binary";
}

/**
 * Whether a sid column of `collation` tells ids apart exactly as JavaScript's `===` does (byte
 * for byte, NO PAD), so that rows of several ids read at once can be told apart in JavaScript.
 */
export function comparesLikeJavaScript(collation: string): boolean {
  return /_(0900|nopad)_bin$/.test(collation);
}

/** The oldest MySQL the store runs on: the row alias of INSERT … ON DUPLICATE KEY UPDATE. */
const MIN_MYSQL = [8, 0, 19] as const;

/** Why the store cannot run on this server version, or undefined when it can. */
export function unsupportedVersion(version: string): string | undefined {
  if (serverKindOf(version) === "mariadb") return undefined;
  const parts = (/^(\d+)\.(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
  if (parts.length < 3) return undefined; // a fork with its own numbering: let it try
  for (const [i, minimum] of MIN_MYSQL.entries()) {
    if ((parts[i] as number) !== minimum) {
      return (parts[i] as number) > minimum ? undefined : `MySQL ${version} is older than ` +
        `${MIN_MYSQL.join(".")}, the first with the row alias the set procedure uses`;
    }
  }
  return undefined;
}
