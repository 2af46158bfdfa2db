/** Where the CLI writes: process.stdout/stderr, or a capture in tests. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  stdout: OutputStream;
  stderr: OutputStream;
  env: Record<string, string | undefined>;
}

/** Writes `text` and a newline. */
export function println(stream: OutputStream, text = ""): void {
  stream.write(`${text}\n`);
}
