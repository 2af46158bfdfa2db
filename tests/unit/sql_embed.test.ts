// sql/ is the source of truth; src/sql_text.generated.ts must be exactly what the generator
// makes of it.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { GENERATED_MODULE, renderEmbeddedModule } from "../../scripts/embed-sql.ts";
import { SERVER_KINDS, type ServerKind } from "../../src/server.ts";
import {
  createProcedureSql,
  procedureName,
  PROCEDURES,
  procedureSignature,
} from "../../src/sql.ts";
import { SQL_TEXT } from "../../src/sql_text.generated.ts";

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
    [
      "schema_version",
      "sid",
      "sid_charset",
      "sid_collation",
      "sids",
      "table",
      "user_charset",
      "user_collation",
    ],
  );
});

it("each server gets its own set procedure, and every procedure is signed with its layout", () => {
  const names = { table: "sessions", sid: "sid" };
  const sidType = { charset: "utf8mb4", collation: "utf8mb4_0900_bin" };
  const types = { sid: sidType, user: sidType };
  const setFor = (server: ServerKind) => createProcedureSql(names, "set", types, server);
  assert.match(setFor("mysql"), /VALUES \(p_sid, p_sess, p_expired, p_user\) AS `sessions_new`\n/);
  assert.doesNotMatch(setFor("mysql"), /VALUES\(`/); // deprecated on MySQL (warning 1287)
  assert.match(setFor("mariadb"), /`sess` = IF\(`destroyed`, `sess`, VALUES\(`sess`\)\)/); // no row alias
  for (const server of SERVER_KINDS) {
    for (const procedure of PROCEDURES) {
      const sql = createProcedureSql(names, procedure, types, server);
      const comment = /\n {2}COMMENT '(.*)'\n/.exec(sql)?.[1] ?? "";
      assert.ok(comment.endsWith(procedureSignature(names, sidType)), `${procedure}: ${comment}`);
      assert.ok(sql.includes(`\`${procedureName("sessions", procedure)}\``), procedure);
    }
  }
});
