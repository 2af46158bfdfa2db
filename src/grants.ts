import { procedureName, PROCEDURES, type SchemaNames } from "./sql.ts";

/** A MySQL account, as in `'app'@'%'`. */
export interface Account {
  user: string;
  host: string;
}

function quoteString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The account as SQL: `'user'@'host'`. */
export function accountSql(account: Account): string {
  return `${quoteString(account.user)}@${quoteString(account.host)}`;
}

/**
 * The least-privilege GRANTs for an app account: SELECT on the sessions table (every read is a
 * SELECT) and EXECUTE on each procedure (every write is a CALL; the procedures run with their
 * definer's rights). Nothing else: the account cannot INSERT, UPDATE, DELETE or change DDL.
 */
export function grantStatements(database: string, names: SchemaNames, account: Account): string[] {
  const to = accountSql(account);
  return [
    `GRANT SELECT ON \`${database}\`.\`${names.table}\` TO ${to}`,
    ...PROCEDURES.map((procedure) =>
      `GRANT EXECUTE ON PROCEDURE \`${database}\`.\`${
        procedureName(names.table, procedure)
      }\` TO ${to}`
    ),
  ];
}
