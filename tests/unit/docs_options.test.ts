// The Options page documents every option the store accepts, and only those: each one in the
// summary table (with its aliases) and in a section of its own, with the default the code
// applies.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { OPTION_NAMES, type ResolvedOptions, resolveOptions } from "../../src/options.ts";

const page = readFileSync(
  new URL("../../docs/docs/options.md", import.meta.url),
  "utf8",
);

interface DocumentedOption {
  name: string;
  aliases: string[];
  /** The Default cell as written. */
  defaultCell: string;
}

/** The first code span of a Markdown table cell, e.g. `"sessions"` from ``[`x`](#x)``. */
function codeSpans(cell: string): string[] {
  return [...cell.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
}

/** The rows of the summary table: | Option | Type | Default | Aliases | (cells padded or not). */
function summaryTable(markdown: string): DocumentedOption[] {
  const lines = markdown.split("\n");
  const header = lines.findIndex((line) =>
    /^\|\s*Option\s*\|\s*Type\s*\|\s*Default\s*\|\s*Aliases\s*\|$/.test(line)
  );
  assert.notEqual(
    header,
    -1,
    "options.md has no summary table | Option | Type | Default | Aliases |",
  );
  const rows: DocumentedOption[] = [];
  for (const line of lines.slice(header + 2)) {
    if (!line.startsWith("|")) break;
    const [option = "", , defaultCell = "", aliases = ""] = line.split("|")
      .slice(1, -1);
    const [name] = codeSpans(option);
    assert.ok(name, `a summary row names no option: ${line}`);
    rows.push({
      name,
      aliases: codeSpans(aliases),
      defaultCell: defaultCell.trim(),
    });
  }
  return rows;
}

/** The names of the `### \`name\`` section headings. */
function sectionHeadings(markdown: string): string[] {
  return [...markdown.matchAll(/^### `(\w+)`$/gm)].map((match) => match[1] as string);
}

const documented = summaryTable(page);

describe("the Options page", () => {
  it("lists every option name the store accepts, and no other", () => {
    const onPage = documented.flatMap((row) => [row.name, ...row.aliases])
      .sort();
    assert.deepEqual(onPage, [...OPTION_NAMES].sort());
  });

  it("gives every option of the summary a section with an example", () => {
    const headings = sectionHeadings(page);
    assert.deepEqual(
      headings.slice().sort(),
      documented.map((row) => row.name).sort(),
    );
    for (const name of headings) {
      const start = page.indexOf(`### \`${name}\``);
      const end = page.indexOf("\n#", start + 1);
      const section = page.slice(start, end === -1 ? undefined : end);
      const example = /```js\n([\s\S]*?)\n```/.exec(section)?.[1];
      assert.ok(example, `the section of ${name} has no example`);
      assert.match(
        example,
        new RegExp(`\\b${name}\\b`),
        `the example of ${name} does not use it`,
      );
    }
  });

  it("states the defaults the code applies", () => {
    const resolved = resolveOptions({
      connection: "mysql://user@127.0.0.1:3306/db",
    }, {});
    let checked = 0;
    for (const row of documented) {
      const [literal] = codeSpans(row.defaultCell);
      if (literal === undefined || !/^(".*"|\d+|true|false)$/.test(literal)) {
        continue;
      }
      const field = [row.name, ...row.aliases].find((name) => name in resolved) as
        | keyof ResolvedOptions
        | undefined;
      if (field === undefined) continue; // e.g. disableDbCleanup: folded into cleanupInterval
      const value = resolved[field];
      const actual = typeof value === "function"
        ? (value as (session: object) => unknown)({})
        : value;
      assert.deepEqual(
        actual,
        JSON.parse(literal),
        `the default of ${row.name}`,
      );
      checked++;
    }
    // tablename, sidfieldname, createtable, clearInterval, cleanupBatchSize, ttl, disableTouch,
    // touchAfter, maxRetries, retryDelay at the time of writing.
    assert.ok(checked >= 10, `only ${checked} defaults were checked`);
  });
});
