import { grantStatements } from "../../grants.ts";
import { schemaNames, TABLE_OPTIONS, URL_OPTION } from "../args.ts";
import { type Command, withConnection } from "../command.ts";
import { quoteAccount } from "../connection.ts";
import { println } from "../io.ts";

/** The database named in a URL's path, without connecting. */
function databaseOfUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).pathname.slice(1)) || undefined;
  } catch {
    return undefined;
  }
}

export const grantCommand: Command = {
  spec: {
    name: "grant",
    summary: "print (or --apply) the least-privilege GRANTs for an app account",
    positionals: [{
      name: "<account>",
      description: "the app's account, e.g. app@'%' or app@10.0.0.%",
    }],
    options: [
      ...TABLE_OPTIONS,
      {
        name: "apply",
        type: "boolean",
        description: "run the GRANTs on the server at --url/MYSQL_URL",
      },
      {
        name: "database",
        type: "string",
        value: "<name>",
        description: "qualify the printed GRANTs with this database (default: the URL's)",
      },
      URL_OPTION,
    ],
    details:
      "The app's account needs only SELECT on the table and EXECUTE on the procedures (every\n" +
      "write is a CALL; the procedures run with their definer's rights). The procedures must\n" +
      "exist before EXECUTE can be granted on them: run `install` first. An account without a\n" +
      "host part means user@'%'.",
  },
  async run({ values, positionals }, io) {
    const names = schemaNames(values);
    const account = positionals[0] as string;
    if (!values.apply) {
      const database = (values.database as string | undefined) ??
        databaseOfUrl((values.url as string | undefined) ?? io.env.MYSQL_URL);
      for (const statement of grantStatements(names, quoteAccount(account), database)) {
        println(io.stdout, `${statement};`);
      }
      return 0;
    }
    await withConnection(values.url, io, async (connection) => {
      for (
        const statement of grantStatements(names, quoteAccount(account), connection.server.database)
      ) {
        await connection.step("GRANT OPTION", () => connection.db.query(statement));
        println(io.stdout, `${statement};`);
      }
      println(io.stdout, `granted: ${quoteAccount(account)} may now use \`${names.table}\``);
    });
    return 0;
  },
};
