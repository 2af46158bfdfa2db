import { MAX_IDENTIFIER_LENGTH } from "./identifiers.ts";
import type { ServerKind } from "./server.ts";
import { SQL_TEXT, type SqlFileName } from "./sql_text.generated.ts";

/**
 * The schema version stamped in the table comment, in every procedure name and in every
 * procedure's comment. 2: the owner column `user_id` and its index with the procedure
 * destroy_user; procedures carry the layout they were made for in their comment; MySQL's set
 * procedure uses the row alias instead of the deprecated VALUES(). 3: destroy and destroy_user
 * leave a marker (the column `destroyed`) that no later save or touch overwrites, instead of a
 * guard in each process's memory; writes report their count in the CALL's OK packet.
 */
export const SCHEMA_VERSION = 3;

/** The names a schema is built from. */
export interface SchemaNames {
  table: string;
  sid: string;
}

/** The character set and collation of a column, which the procedures' parameters copy. */
export interface ColumnType {
  charset: string;
  collation: string;
}

/** The types of the columns procedure parameters are compared with. */
export interface ParameterTypes {
  sid: ColumnType;
  user: ColumnType;
}

/** The procedures of one schema version, in the order the install creates them. */
export const PROCEDURES = [
  "set",
  "set_many",
  "touch",
  "touch_many",
  "destroy",
  "destroy_many",
  "destroy_user",
  "clear",
  "clear_expired",
] as const;
export type ProcedureName = (typeof PROCEDURES)[number];

/** The stored procedure `name` of `table`, e.g. `sessions_set_v3`. */
export function procedureName(table: string, name: ProcedureName): string {
  return `${table}_${name}_v${SCHEMA_VERSION}`;
}

/** The longest table name that leaves room for the longest procedure suffix (`_clear_expired_v3`). */
export const MAX_TABLE_NAME_LENGTH = MAX_IDENTIFIER_LENGTH -
  Math.max(...PROCEDURES.map((name) => procedureName("", name).length));

/**
 * Fills a file of sql/ with names. The names were validated against the identifier pattern
 * before they get here; a placeholder without a value is a bug, so it throws.
 */
function renderSql(file: SqlFileName, values: Record<string, string | number>): string {
  return SQL_TEXT[file].replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`sql/${file}.sql: no value for {{${key}}}`);
    return String(value);
  }).trimEnd();
}

/** A statement without its comment lines, as the store sends it. */
export function withoutComments(sql: string): string {
  return sql.split("\n").filter((line) => !line.trimStart().startsWith("--")).join("\n");
}

/** The SQL the store sends: one SELECT per read, one CALL per write. */
export interface Statements {
  get: string;
  /** The SELECT answering `count` gets at once (see sql/queries/get_many.sql). */
  getMany: (count: number) => string;
  length: string;
  all: string;
  sessionsOf: string;
  countOf: string;
  set: string;
  /** The CALL making several saves at once, with a JSON array (sql/procedures/set_many.sql). */
  setMany: string;
  touch: string;
  /** The CALL making several touches at once, with a JSON array (sql/procedures/touch_many.sql). */
  touchMany: string;
  destroy: string;
  /** The CALL ending several sessions at once, with a JSON array (sql/procedures/destroy_many.sql). */
  destroyMany: string;
  destroyUser: string;
  clear: string;
  clearExpired: string;
}

export function statements(names: SchemaNames): Statements {
  const values = { table: names.table, sid: names.sid };
  const query = (file: SqlFileName, more = {}) =>
    withoutComments(renderSql(file, { ...values, ...more }));
  const call = (name: ProcedureName, parameters: number) =>
    `CALL \`${procedureName(names.table, name)}\`(${Array(parameters).fill("?").join(", ")})`;
  // Rendered once per count: a batch's SELECT is on the hot path (a few counts, powers of two).
  const getMany: string[] = [];
  return {
    get: query("queries/get"),
    getMany: (count) => (getMany[count] ??= query("queries/get_many", {
      sids: Array(count).fill("?").join(", "),
    })),
    length: query("queries/length"),
    all: query("queries/all"),
    sessionsOf: query("queries/sessions_of"),
    countOf: query("queries/count_of"),
    set: call("set", 4),
    setMany: call("set_many", 1),
    touch: call("touch", 3),
    touchMany: call("touch_many", 1),
    destroy: call("destroy", 1),
    destroyMany: call("destroy_many", 1),
    destroyUser: call("destroy_user", 2),
    clear: call("clear", 0),
    clearExpired: call("clear_expired", 2),
  };
}

/** CREATE TABLE IF NOT EXISTS for the sessions table. */
export function createTableSql(names: SchemaNames, sidCollation: string): string {
  return renderSql("table", {
    table: names.table,
    sid: names.sid,
    sid_collation: sidCollation,
    schema_version: SCHEMA_VERSION,
  });
}

/** The file of sql/ holding `procedure` for `server`: its own variant, else the shared one. */
function procedureFile(procedure: ProcedureName, server: ServerKind): SqlFileName {
  const variant = `procedures/${procedure}.${server}`;
  return variant in SQL_TEXT ? variant as SqlFileName : `procedures/${procedure}` as SqlFileName;
}

/** CREATE PROCEDURE for one procedure, its parameters typed like the columns they meet. */
export function createProcedureSql(
  names: SchemaNames,
  procedure: ProcedureName,
  types: ParameterTypes,
  server: ServerKind,
): string {
  return renderSql(procedureFile(procedure, server), {
    table: names.table,
    sid: names.sid,
    sid_charset: types.sid.charset,
    sid_collation: types.sid.collation,
    user_charset: types.user.charset,
    user_collation: types.user.collation,
    schema_version: SCHEMA_VERSION,
  });
}

/**
 * How every procedure's comment ends: the table, sid column and collation it was made for.
 * A procedure made for another layout (another sid column, or the column before a migration
 * changed its collation) would fail every call; the start-up check compares this.
 */
export function procedureSignature(names: SchemaNames, sidType: ColumnType): string {
  return `for \`${names.table}\`.\`${names.sid}\` ${sidType.collation}`;
}

/**
 * The ALTER statements that give a table made before schema 2 its owner column and index,
 * in order; `collation` is the server's byte-wise NO PAD one.
 */
export function userColumnSql(table: string, collation: string): [string, string] {
  const values = { table, sid_collation: collation };
  return [renderSql("upgrade/user_column", values), renderSql("upgrade/user_index", values)];
}

/** The ALTER statement that narrows schema 2's owner index (`user_id`, `expired`) to `user_id`. */
export function narrowUserIndexSql(table: string): string {
  return renderSql("upgrade/user_index_narrow", { table });
}

/** The ALTER statement that gives a table made before schema 3 its `destroyed` column. */
export function markerColumnSql(table: string): string {
  return renderSql("upgrade/marker_column", { table });
}

/** Every statement of a fresh install on `server`, in order: the table, then each procedure. */
export function installStatements(
  names: SchemaNames,
  sidCollation: string,
  server: ServerKind,
): string[] {
  const type: ColumnType = { charset: "utf8mb4", collation: sidCollation };
  return [
    createTableSql(names, sidCollation),
    ...PROCEDURES.map((procedure) =>
      createProcedureSql(names, procedure, { sid: type, user: type }, server)
    ),
  ];
}

/** A stored procedure name split into its parts, e.g. `sessions_set_v1`. */
export interface ProcedureVersion {
  procedure: ProcedureName;
  version: number;
}

/** The procedure and schema version `name` stands for in `table`'s schema, if it is one. */
export function parseProcedureName(table: string, name: string): ProcedureVersion | undefined {
  const prefix = `${table}_`.toLowerCase();
  if (!name.toLowerCase().startsWith(prefix)) return undefined;
  const match = /^(\w+?)_v(\d+)$/.exec(name.slice(prefix.length));
  const procedure = PROCEDURES.find((known) => known === match?.[1]);
  if (!match || !procedure) return undefined;
  return { procedure, version: Number(match[2]) };
}
