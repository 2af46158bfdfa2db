// Facts on the docs pages that come from the code: the least-privilege GRANTs are the ones the
// privileges test grants, the schema page includes every file of sql/, and the install commands
// name the packages as package.json and deno.json do.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { grantStatements } from "../src/grants.ts";

const docs = new URL("../docs/docs/", import.meta.url);
const sqlDir = new URL("../sql/", import.meta.url);

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
      JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), "utf8"));
    const npmName = read("package.json").name as string;
    const jsrName = read("deno.json").name as string;
    const page = (name: string) => readFileSync(new URL(`getting-started/${name}`, docs), "utf8");
    for (const name of ["node-esm.md", "node-cjs.md", "typescript.md"]) {
      assert.match(page(name), new RegExp(`npm install ${npmName} `), name);
    }
    assert.ok(page("deno.md").includes(`deno add jsr:${jsrName} `), "deno.md: deno add");
    assert.ok(page("deno.md").includes(`from "${jsrName}"`), "deno.md: the import");
  });
});
