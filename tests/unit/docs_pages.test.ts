// Facts on the docs pages that come from the code: the least-privilege GRANTs are the ones the
// privileges test grants, the schema page includes every file of sql/, the install commands
// name the packages as package.json and deno.json do, and every page names the sid collation
// the code gives each server (SID_COLLATION).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { grantStatements } from "../../src/grants.ts";
import { SERVER_KINDS, SID_COLLATION } from "../../src/server.ts";

const docs = new URL("../../docs/docs/", import.meta.url);
const sqlDir = new URL("../../sql/", import.meta.url);

/**
 * The hand-written pages (the API reference is generated from the source) and the README, by
 * name.
 */
function allPages(): [string, string][] {
  const pages = readdirSync(docs, { recursive: true, encoding: "utf8" })
    .map((file) => file.split("\\").join("/"))
    .filter((file) => /\.mdx?$/.test(file) && !file.startsWith("api/"))
    .map((file): [string, string] => [file, readFileSync(new URL(file, docs), "utf8")]);
  return [...pages, [
    "README.md",
    readFileSync(new URL("../../README.md", import.meta.url), "utf8"),
  ]];
}

/** One claim to check: a table cell (with its column's header), a sentence, or a code line. */
interface Statement {
  text: string;
  /** A table cell's column header; "" elsewhere. */
  column: string;
  line: number;
}

/** A page cut into statements. */
function statements(markdown: string): Statement[] {
  const found: Statement[] = [];
  const lines = markdown.split("\n");
  let paragraph: { text: string; line: number } | undefined;
  const endParagraph = () => {
    if (!paragraph) return;
    // Sentences end at ".", ";", "!" or "?" before a space (not in "11.4.5").
    for (const sentence of paragraph.text.split(/(?<=[.;!?])\s+/)) {
      found.push({ text: sentence, column: "", line: paragraph.line });
    }
    paragraph = undefined;
  };
  let inCode = false;
  let header: string[] | undefined;
  lines.forEach((line, i) => {
    if (/^\s*```/.test(line)) {
      endParagraph();
      inCode = !inCode;
      return;
    }
    if (inCode) {
      found.push({ text: line, column: "", line: i + 1 });
      return;
    }
    if (line.startsWith("|")) {
      endParagraph();
      const cells = line.split("|").slice(1, -1).map((cell) => cell.trim());
      if (header === undefined) header = cells;
      else if (!cells.every((cell) => /^:?-+:?$/.test(cell))) {
        cells.forEach((cell, c) =>
          found.push({ text: cell, column: header?.[c] ?? "", line: i + 1 })
        );
      }
      return;
    }
    header = undefined;
    if (line.trim() === "" || /^\s*([-*]|\d+\.)\s/.test(line) || line.startsWith("#")) {
      endParagraph();
    }
    if (line.trim() === "") return;
    if (paragraph) paragraph.text += ` ${line.trim()}`;
    else paragraph = { text: line.trim(), line: i + 1 };
  });
  endParagraph();
  return found;
}

const SERVER_NAMES = { mysql: "MySQL", mariadb: "MariaDB" } as const;

/** `text` up to a ")" that closes a parenthesis opened before it: the rest is another clause. */
function clauseAfter(text: string): string {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && depth-- === 0) return text.slice(0, i);
  }
  return text;
}

/** `text` from a "(" that is still open at its end: what comes before is another clause. */
function clauseBefore(text: string): string {
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    if (text[i] === ")") depth++;
    else if (text[i] === "(" && depth-- === 0) return text.slice(i + 1);
  }
  return text;
}

/**
 * What a statement says against SID_COLLATION: a collation the code does not give a server,
 * named for that server. A collation claims the servers named after it in its clause, up to
 * the next collation ("`a` on MySQL, `b` on MariaDB"); the first one also claims those named
 * before it ("MariaDB: `b`"). In a table, a column headed by one server claims its cell's
 * first collation.
 */
function collationClaims(statement: Statement): string[] {
  const wrong: string[] = [];
  const pattern = new RegExp(Object.values(SID_COLLATION).join("|"), "g");
  const mentions = [...statement.text.matchAll(pattern)];
  const names = (text: string) =>
    SERVER_KINDS.filter((kind) => new RegExp(`\\b${SERVER_NAMES[kind]}\\b`).test(text));
  mentions.forEach((mention, m) => {
    const start = mention.index as number;
    const after = clauseAfter(
      statement.text.slice(start + mention[0].length, mentions[m + 1]?.index),
    );
    const before = m === 0 ? clauseBefore(statement.text.slice(0, start)) : "";
    for (const kind of new Set([...names(after), ...names(before)])) {
      if (SID_COLLATION[kind] !== mention[0]) {
        wrong.push(`${mention[0]} for ${SERVER_NAMES[kind]}`);
      }
    }
  });
  const columnServers = names(statement.column);
  if (columnServers.length === 1 && mentions[0]) {
    const kind = columnServers[0] as keyof typeof SID_COLLATION;
    if (SID_COLLATION[kind] !== mentions[0][0]) {
      wrong.push(`${mentions[0][0]} in the ${SERVER_NAMES[kind]} column`);
    }
  }
  return wrong;
}

/** The body of the fenced block with this title on a page. */
function codeBlock(page: string, title: string): string {
  const markdown = readFileSync(new URL(page, docs), "utf8");
  const start = markdown.indexOf(`title="${title}"\n`);
  assert.notEqual(start, -1, `${page} has no code block titled "${title}"`);
  const body = markdown.indexOf("\n", start) + 1;
  return markdown.slice(body, markdown.indexOf("\n```", body));
}

describe("the docs pages", () => {
  it("show the GRANTs the least-privilege test grants", () => {
    const expected = grantStatements({ table: "sessions", sid: "sid" }, "'app'@'%'", "app")
      .map((statement) => `${statement};`);
    assert.deepEqual(
      codeBlock("least-privilege.mdx", "GRANTs for the app account").split("\n"),
      expected,
    );
  });

  it("include every file of sql/ on the schema page", () => {
    const page = readFileSync(new URL("schema.mdx", docs), "utf8");
    const files = readdirSync(sqlDir, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".sql"))
      .map((file) => file.split("\\").join("/"));
    assert.ok(files.length >= 9, `only ${files.length} files in sql/`);
    for (const file of files) {
      assert.ok(page.includes(`"!!raw-loader!@site/../sql/${file}"`), `schema.mdx lacks ${file}`);
      assert.ok(page.includes(`title="sql/${file}"`), `schema.mdx shows no block for ${file}`);
    }
  });

  it("install the packages under their published names", () => {
    const read = (file: string) =>
      JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8"));
    const npmName = read("package.json").name as string;
    const jsrName = read("deno.json").name as string;
    const page = (name: string) => readFileSync(new URL(`getting-started/${name}`, docs), "utf8");
    for (const name of ["node-esm.md", "node-cjs.md", "typescript.md"]) {
      assert.match(page(name), new RegExp(`npm install ${npmName} `), name);
    }
    assert.ok(page("deno.md").includes(`deno add jsr:${jsrName} `), "deno.md: deno add");
    assert.ok(page("deno.md").includes(`from "${jsrName}"`), "deno.md: the import");
  });

  it("name the sid collation the code gives each server, and no other", () => {
    assert.deepEqual(SID_COLLATION, { mysql: "utf8mb4_0900_bin", mariadb: "utf8mb4_nopad_bin" });
    const wrong: string[] = [];
    let claims = 0;
    for (const [name, markdown] of allPages()) {
      for (const statement of statements(markdown)) {
        if (/utf8mb4_(0900|nopad)_bin/.test(statement.text)) claims++;
        for (const claim of collationClaims(statement)) {
          wrong.push(`${name}:${statement.line}: ${claim}: ${statement.text}`);
        }
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(claims >= 10, `only ${claims} statements name a sid collation`);
  });

  it("would catch a page giving MariaDB utf8mb4_0900_bin", () => {
    const claimsOf = (markdown: string) =>
      statements(markdown).flatMap((statement) => collationClaims(statement));
    for (
      const wrong of [
        "A fresh table gets `utf8mb4_0900_bin` on MariaDB 11.4.5+.",
        "`utf8mb4_0900_bin` where the server has it (MySQL 8.0+, MariaDB 11.4.5+), else " +
        "`utf8mb4_nopad_bin`.",
        "On MariaDB 11.4.5 and later the column is `utf8mb4_0900_bin`.",
        "| | MySQL | MariaDB |\n| --- | --- | --- |\n| sid | `utf8mb4_0900_bin` | " +
        "`utf8mb4_0900_bin` from 11.4.5 |",
        "`utf8mb4_nopad_bin` on MySQL",
      ]
    ) {
      assert.notDeepEqual(claimsOf(wrong), [], wrong);
    }
    for (
      const right of [
        "`utf8mb4_0900_bin` on MySQL, `utf8mb4_nopad_bin` on MariaDB.",
        "`sid VARCHAR(255) COLLATE utf8mb4_0900_bin` (MySQL) / `utf8mb4_nopad_bin` (MariaDB)",
        "| | MySQL | MariaDB |\n| --- | --- | --- |\n| sid | `utf8mb4_0900_bin` | " +
        "`utf8mb4_nopad_bin`, also on 11.4.5+ where `utf8mb4_0900_bin` exists too |",
      ]
    ) {
      assert.deepEqual(claimsOf(right), [], right);
    }
  });
});
