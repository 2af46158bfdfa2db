// sql/ is the source of truth; src/sql_text.generated.ts must be exactly what the generator
// makes of it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { GENERATED_MODULE, renderEmbeddedModule } from "../scripts/embed-sql.ts";
import { SQL_TEXT } from "../src/sql_text.generated.ts";

it("the embedded SQL matches the files in sql/", () => {
  assert.equal(
    readFileSync(GENERATED_MODULE, "utf8"),
    renderEmbeddedModule(),
    "src/sql_text.generated.ts is stale: run `npm run sql:embed`",
  );
});

it("every SQL file is embedded, and only placeholders the renderer fills are used", () => {
  const placeholders = new Set(
    Object.values(SQL_TEXT).flatMap((text) =>
      [...text.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1])
    ),
  );
  assert.deepEqual(
    [...placeholders].sort(),
    ["schema_version", "sid", "sid_charset", "sid_collation", "table"],
  );
});
