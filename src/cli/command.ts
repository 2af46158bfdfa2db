import type { CommandSpec, ParsedCommand } from "./args.ts";
import { connect, type Connection, serverUrl } from "./connection.ts";
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
