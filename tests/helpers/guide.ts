// The migration guides' checklists as data: the fenced blocks tagged `checklist=<id>` in their
// info string, the shell commands in them as argument lists, and the comparison of a documented
// output with the real one. A test reads what to run from the page, so the page and the test
// cannot drift apart.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

const docs = new URL("../../docs/docs/", import.meta.url);

export interface GuideBlock {
  /** The `checklist=<id>` tag. */
  id: string;
  language: string;
  /** The block's `title="…"`, if any. */
  title: string | undefined;
  /** The block's text, its list indentation removed. */
  code: string;
  /** Where the block starts in the page, to compare the order of steps. */
  offset: number;
}

/** A docs page (path under docs/docs/) with its tagged blocks. */
export class Guide {
  readonly page: string;
  readonly text: string;
  readonly #blocks = new Map<string, GuideBlock>();

  constructor(page: string) {
    this.page = page;
    this.text = readFileSync(new URL(page, docs), "utf8");
    // A fence may be indented (a block inside a list item); its closing fence is too.
    const fence = /^( *)```(\w+)([^\n]*)\n([\s\S]*?)^\1```$/gm;
    for (const match of this.text.matchAll(fence)) {
      const [, indent, language, meta, body] = match as unknown as string[];
      const id = /(?:^|\s)checklist=(\S+)/.exec(meta!)?.[1];
      if (!id) continue;
      assert.ok(!this.#blocks.has(id), `${page}: two blocks tagged checklist=${id}`);
      const code = body!.split("\n").map((line) => line.slice(indent!.length)).join("\n");
      this.#blocks.set(id, {
        id,
        language: language!,
        title: /title="([^"]*)"/.exec(meta!)?.[1],
        code,
        offset: match.index,
      });
    }
  }

  /** The block tagged `id`; fails the test when the page has none. */
  block(id: string): GuideBlock {
    const block = this.#blocks.get(id);
    assert.ok(block, `${this.page} has no block tagged checklist=${id}`);
    return block;
  }

  /** Every tagged block's id, in page order. */
  ids(): string[] {
    return [...this.#blocks.values()].sort((a, b) => a.offset - b.offset).map((b) => b.id);
  }

  /** The fenced block with this title (any page's way of naming a block). */
  titled(title: string): string {
    const start = this.text.indexOf(`title="${title}"`);
    assert.notEqual(start, -1, `${this.page} has no block titled "${title}"`);
    const body = this.text.indexOf("\n", start) + 1;
    return this.text.slice(body, this.text.indexOf("\n```", body));
  }
}

/**
 * The commands of a shell block, each as its words: POSIX-like quoting ('…' literal, "…" with
 * backslash escapes), `#` comments, a line ending in `\` continued on the next, no expansion (a
 * `$` fails: the checklists use none, and the test would have to guess its value).
 */
export function shellCommands(code: string): string[][] {
  const commands: string[][] = [];
  for (const line of code.replace(/ \\\n\s*/g, " ").split("\n")) {
    const words: string[] = [];
    let word: string | undefined;
    let quote: "'" | '"' | undefined;
    for (let i = 0; i < line.length; i++) {
      const char = line[i]!;
      if (quote === "'") {
        if (char === "'") quote = undefined;
        else word = `${word}${char}`;
      } else if (quote === '"') {
        if (char === '"') quote = undefined;
        else if (char === "\\" && /["\\$`]/.test(line[i + 1] ?? "")) word = `${word}${line[++i]}`;
        else if (char === "$" || char === "`") throw new Error(`expansion in: ${line}`);
        else word = `${word}${char}`;
      } else if (char === " " || char === "\t") {
        if (word !== undefined) words.push(word);
        word = undefined;
      } else if (char === "#" && word === undefined) {
        break;
      } else if (char === "'" || char === '"') {
        word ??= "";
        quote = char;
      } else if (char === "$" || char === "`" || char === "\\") {
        throw new Error(`expansion or escape the test cannot follow in: ${line}`);
      } else {
        word = (word ?? "") + char;
      }
    }
    if (quote) throw new Error(`unbalanced quote in: ${line}`);
    if (word !== undefined) words.push(word);
    if (words.length > 0) commands.push(words);
  }
  return commands;
}

/** The statements of an SQL block. */
export function sqlStatements(code: string): string[] {
  return code.split(/;\s*(?:\n|$)/).map((statement) => statement.trim()).filter(Boolean);
}

/**
 * Asserts that every line of a documented output appears in the real one, in order, other real
 * lines allowed in between: `…` stands for any text, a line of only `…` for any lines.
 */
export function assertOutputShows(documented: string, actual: string, what: string): void {
  const lines = actual.split("\n").map((line) => line.trimEnd());
  let at = 0;
  for (const expected of documented.split("\n").map((line) => line.trimEnd())) {
    if (expected === "" || expected === "…") continue;
    const pattern = new RegExp(
      `^${
        expected.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")
      }$`,
    );
    const found = lines.findIndex((line, index) => index >= at && pattern.test(line));
    assert.notEqual(
      found,
      -1,
      `${what}: the documented line\n  ${expected}\nis not in the real output (from line ${
        at + 1
      }):\n${actual}`,
    );
    at = found + 1;
  }
}
