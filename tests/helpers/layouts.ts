// Table layouts written by hand, as src/cli/layout.ts describes a table: for the unit tests of
// what the CLI makes of a layout (tests/unit/cli_layout.test.ts, tests/unit/migration_plan.test.ts).
import type { Column, TableLayout } from "../../src/cli/layout.ts";
import { SID_COLLATION } from "../../src/server.ts";

/** A column of SQL type `type` (text types in utf8mb4 with MySQL's sid collation), NOT NULL. */
export function column(name: string, type: string, overrides: Partial<Column> = {}): Column {
  const dataType = type.replace(/[ (].*$/, "");
  const text = /char|text/.test(dataType);
  return {
    name,
    dataType,
    columnType: type,
    charset: text ? "utf8mb4" : null,
    collation: text ? SID_COLLATION.mysql : null,
    nullable: false,
    json: dataType === "json",
    ...overrides,
  };
}

/** This store's current layout (schema 3) of `table`: indexed expiry and owner, and markers. */
export function storeLayout(table: string, overrides: Partial<TableLayout> = {}): TableLayout {
  return {
    family: "connect-session-knex",
    table,
    comment: "knex-mysql-session schema 3",
    key: column("sid", "varchar(255)"),
    data: column("sess", "json"),
    expiry: column("expired", "datetime"),
    expiryIndexed: true,
    user: column("user_id", "varchar(255)", { nullable: true }),
    userIndexed: true,
    marked: true,
    ...overrides,
  };
}
