import type { SchemaNames } from "../sql.ts";
import { type CommandSpec, type ParsedCommand, schemaNames } from "./args.ts";
import { connect, type Connection, serverUrl } from "./admin_connection.ts";
import type { Io } from "./io.ts";

/** A CLI command: its spec (options, help) and what it does. Resolves with the exit code. */
export interface Command {
  spec: CommandSpec;
  run(parsed: ParsedCommand, io: Io): Promise<number>;
}

/** Connects to --url (or MYSQL_URL), runs `work`, and always closes the connection. */
export async function withConnection<T>(
  url: string | boolean | undefined,
  io: Io,
  work: (connection: Connection) => Promise<T>,
): Promise<T> {
  const connection = await connect(serverUrl(url as string | undefined, io.env));
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}

/**
 * The `run` of a command on one session table: `work` gets its names (--table, --sid) and a
 * connection to --url (or MYSQL_URL), closed after it; the exit code is 0 unless it throws.
 */
export function onTable(
  work: (
    connection: Connection,
    names: SchemaNames,
    parsed: ParsedCommand,
    io: Io,
  ) => Promise<void>,
): Command["run"] {
  return async (parsed, io) => {
    const names = schemaNames(parsed.values);
    await withConnection(
      parsed.values.url,
      io,
      (connection) => work(connection, names, parsed, io),
    );
    return 0;
  };
}
