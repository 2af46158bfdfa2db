import { procedureName, PROCEDURES, type SchemaNames } from "./sql.ts";

/**
 * The least-privilege GRANTs for an app account (`account` as SQL, e.g. `'app'@'%'`): SELECT
 * on the sessions table (every read is a SELECT) and EXECUTE on each procedure (every write is
 * a CALL; the procedures run with their definer's rights). Nothing else: the account cannot
 * INSERT, UPDATE, DELETE or change the schema. Names are qualified with `database` when given.
 */
export function grantStatements(
  names: SchemaNames,
  account: string,
  database?: string,
): string[] {
  const qualified = (name: string) => (database ? `\`${database}\`.\`${name}\`` : `\`${name}\``);
  return [
    `GRANT SELECT ON ${qualified(names.table)} TO ${account}`,
    ...PROCEDURES.map((procedure) =>
      `GRANT EXECUTE ON PROCEDURE ${qualified(procedureName(names.table, procedure))} TO ${account}`
    ),
  ];
}
