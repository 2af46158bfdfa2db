// Facts on the docs pages that come from the code: the least-privilege GRANTs are the ones the
// privileges test grants, the schema page includes every file of sql/, the install commands
// name the packages as package.json and deno.json do, every page names the sid collation the
// code gives each server (SID_COLLATION), counts the procedures the install creates
// (PROCEDURES), gives the knex version package.json accepts, shows `status` printing the lines
// it prints, quotes each refused login's message as the store words it (Troubleshooting), and
// lists every TLS setting a mysql:// URL takes (Connecting securely).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { grantStatements } from "../../src/grants.ts";
import { loginRefusalOf } from "../../src/login_refusals.ts";
import { SERVER_KINDS, SID_COLLATION } from "../../src/server.ts";
import { PROCEDURES } from "../../src/sql.ts";

const docs = new URL("../../docs/docs/", import.meta.url);
const sqlDir = new URL("../../sql/", import.meta.url);
const site = new URL("../../docs/", import.meta.url);

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

/** The site's own pages and its configuration (the home page's feature texts are there). */
function sitePages(): [string, string][] {
  const pages = readdirSync(new URL("src/pages/", site), { encoding: "utf8" })
    .filter((file) => /\.(tsx|mdx?)$/.test(file))
    .map((file) => `src/pages/${file}`);
  return ["docusaurus.config.ts", ...pages]
    .map((file): [string, string] => [`docs/${file}`, readFileSync(new URL(file, site), "utf8")]);
}

const NUMBER_WORDS = [
  ...["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"],
];

/**
 * Each count of procedures in `text` ("six procedures", "the 6 procedures", "six short `CREATE
 * PROCEDURE` statements") as a number, with the line it is on; "the version 1 procedures" names
 * a schema version, not a count.
 */
function procedureCounts(text: string): { count: number; said: string; line: number }[] {
  const pattern = new RegExp(
    `(?<!(?:version|schema|v)\\s*)\\b(${NUMBER_WORDS.join("|")}|\\d+)\\s+` +
      "(?:(?:short|stored|version \\d+)\\s+)?(?:procedures|`CREATE PROCEDURE` statements)\\b",
    "gi",
  );
  // Counts broken over two lines of Markdown or of a string concatenation are found too.
  const flat = text.replace(/["'`]\s*\+\s*["'`]/g, "").replace(/\s+/g, " ");
  const lineOf = (offset: number) => {
    const words = flat.slice(0, offset).split(" ").length;
    let seen = 0;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i++) {
      seen += (lines[i] as string).split(/\s+/).filter(Boolean).length;
      if (seen >= words) return i + 1;
    }
    return lines.length;
  };
  return [...flat.matchAll(pattern)].map((match) => {
    const word = (match[1] as string).toLowerCase();
    const count = /^\d+$/.test(word) ? Number(word) : NUMBER_WORDS.indexOf(word);
    return { count, said: match[0], line: lineOf(match.index as number) };
  });
}

/** The fenced blocks of a page: their info string (language and attributes) and body. */
function fencedBlocks(markdown: string): { info: string; body: string[]; line: number }[] {
  const blocks: { info: string; body: string[]; line: number }[] = [];
  let open: { info: string; body: string[]; line: number } | undefined;
  markdown.split("\n").forEach((line, i) => {
    const fence = /^\s*```(.*)$/.exec(line);
    if (fence && !open) open = { info: fence[1] as string, body: [], line: i + 1 };
    else if (fence && open) {
      blocks.push(open);
      open = undefined;
    } else open?.body.push(line);
  });
  return blocks;
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
  it("count as many procedures as the install creates", () => {
    const wrong: string[] = [];
    let counts = 0;
    // SECURITY.md and the SQL's README count them too (SECURITY.md once said six of seven).
    const root = ["SECURITY.md", "CONTRIBUTING.md", "sql/README.md"].map((
      file,
    ): [string, string] => [file, readFileSync(new URL(`../../${file}`, import.meta.url), "utf8")]);
    for (const [name, text] of [...allPages(), ...sitePages(), ...root]) {
      for (const { count, said, line } of procedureCounts(text)) {
        counts++;
        if (count !== PROCEDURES.length) wrong.push(`${name}:${line}: ${said}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(counts >= 10, `only ${counts} counts of procedures found`);
  });

  it("would catch a page counting five procedures", () => {
    for (
      const [text, counts] of [
        ["EXECUTE on five procedures: no INSERT", [5]],
        ['"The table and the five " +\n  "procedures are plain"', [5]],
        ["one `CREATE TABLE` and six short\n`CREATE PROCEDURE` statements", [6]],
        ["`EXECUTE` on 6 procedures", [6]],
        ["installs the six version 2 procedures beside the version 1 ones", [6]],
        ["Prune the version 1 procedures; schema 1 procedures; v1 procedures", []],
      ] as const
    ) {
      assert.deepEqual(procedureCounts(text).map(({ count }) => count), counts, text);
    }
  });

  it("give the knex versions the peer dependency accepts", () => {
    const { peerDependencies } = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { peerDependencies: { knex: string } };
    const lowest = /^\^(\d+\.\d+\.\d+)$/.exec(peerDependencies.knex)?.[1];
    assert.ok(lowest, `knex's peer range is ${peerDependencies.knex}, not ^x.y.z`);
    const wrong: string[] = [];
    let claims = 0;
    for (const [name, markdown] of allPages()) {
      const flat = markdown.replace(/\s+/g, " ");
      for (
        const [said, version] of [
          ...flat.matchAll(/\bknex (\d+\.\d+(?:\.\d+)?)\+/g),
          ...flat.matchAll(/\bknex is a peer dependency \((\d+\.\d+(?:\.\d+)?) or later/g),
        ]
      ) {
        claims++;
        if (version !== lowest) wrong.push(`${name}: ${said} (package.json: ${lowest})`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(claims >= 2, `only ${claims} statements of the knex version found`);
  });

  it("show status printing the lines it prints, in its order", () => {
    const source = readFileSync(
      new URL("../../src/cli/commands/status.ts", import.meta.url),
      "utf8",
    );
    const printed = [...source.matchAll(/println\(\s*io\.stdout,\s*`([a-z][a-z ]*):/g)]
      .map((match) => match[1] as string);
    assert.deepEqual(printed.slice(0, 3), ["table", "server", "layout"]);
    const wrong: string[] = [];
    let samples = 0;
    for (const [name, markdown] of allPages()) {
      for (const block of fencedBlocks(markdown)) {
        // The guides' samples of `status`, and any other that shows its output from its start.
        const first = block.body.find((line) => line.trim() !== "") ?? "";
        if (!/checklist=status-output/.test(block.info) && !/^(table|layout):\s/.test(first)) {
          continue;
        }
        samples++;
        const labels = block.body.filter((line) => /^[a-z][a-z ]*:\s/.test(line))
          .map((line) => line.slice(0, line.indexOf(":")))
          .filter((label) => label !== "warning");
        if (labels.join(", ") !== printed.join(", ")) {
          wrong.push(`${name}:${block.line}: ${labels.join(", ")}`);
        }
      }
    }
    assert.deepEqual(wrong, [], `status prints ${printed.join(", ")}`);
    assert.ok(samples >= 4, `only ${samples} samples of status found`);
  });

  it("quote each refused login's message as the store words it, each on Troubleshooting", () => {
    const page = readFileSync(new URL("troubleshooting.md", docs), "utf8");
    // The quoted messages of the login entries: from "Logins and TLS" to the next group.
    const start = page.indexOf("### Logins and TLS");
    const section = page.slice(start, page.indexOf('### ERR_CONFIG: "MySQL … is older', start));
    const quoted = fencedBlocks(section).filter((block) => block.info === "text")
      .map((block) => block.body.join("\n").trim());
    // A quote stands for the message it starts: `…` for any text, and for the rest at its end.
    const matches = (quote: string, message: string) =>
      new RegExp(
        `^${
          quote.split("…").map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join(".*")
        }`,
        "s",
      ).test(message);
    const app = { user: "app", host: "db.internal", port: 3306 };
    const refusals: [string, object, object?][] = [
      ["key retrieval", { code: "PUBLIC_KEY_RETRIEVAL_NOT_ALLOWED", message: "Server requested…" }],
      ["1045", {
        errno: 1045,
        sqlMessage: "Access denied for user 'app'@'10.0.0.7' (using password: YES)",
      }],
      ["1698", { errno: 1698, sqlMessage: "Access denied for user 'app'@'10.0.0.7'" }],
      ["3159", {
        errno: 3159,
        sqlMessage:
          "Connections using insecure transport are prohibited while --require_secure_transport=ON.",
      }],
      ["1251", {
        code: "ER_NOT_SUPPORTED_AUTH_MODE",
        message:
          "ER_NOT_SUPPORTED_AUTH_MODE: Client does not support authentication protocol requested by server; consider upgrading MySQL client",
        sqlMessage:
          "Client does not support authentication protocol requested by server; consider upgrading MySQL client",
      }],
      ["plugin", {
        code: "AUTH_SWITCH_PLUGIN_ERROR",
        message:
          "Server requests authentication using unknown plugin client_ed25519. See TODO: add plugins doco here on how to configure or author authentication plugins.",
      }],
      ["1862", {
        errno: 1862,
        sqlMessage: "Your password has expired. To log in you must change it using a client " +
          "that supports expired passwords.",
      }],
      ["unknown CA", {
        code: "HANDSHAKE_SSL_ERROR",
        message: "self-signed certificate in certificate chain",
      }],
      ["host name", {
        code: "HANDSHAKE_SSL_ERROR",
        message:
          "Hostname/IP does not match certificate's altnames: Host: localhost. is not cert's CN: MySQL_Server_9.7.4_Auto_Generated_Server_Certificate",
      }, { ...app, host: "127.0.0.1" }],
      ["expired", { code: "HANDSHAKE_SSL_ERROR", message: "certificate has expired" }],
      ["no TLS", {
        code: "HANDSHAKE_NO_SSL_SUPPORT",
        message: "Server does not support secure connection",
      }],
      ["TLS version", {
        code: "HANDSHAKE_SSL_ERROR",
        message: "…:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:…",
      }],
    ];
    const unquoted: string[] = [];
    for (const [name, error, target] of refusals) {
      const refusal = loginRefusalOf(error, target ?? app);
      assert.ok(refusal, `${name}: no refusal`);
      assert.equal(refusal.code, "ERR_CONFIG", name);
      const message = refusal.message.replace(/^knex-mysql-session: /, "");
      if (!quoted.some((quote) => matches(quote, message))) unquoted.push(`${name}: ${message}`);
    }
    assert.deepEqual(unquoted, [], "Troubleshooting quotes no message that starts these");
    // And every quote there is one of these messages.
    const stray = quoted.filter((quote) =>
      !refusals.some(([, error, target]) =>
        matches(
          quote,
          loginRefusalOf(error, target ?? app)!.message.replace(/^knex-mysql-session: /, ""),
        )
      )
    );
    assert.deepEqual(stray, [], "quotes of no message the store words");
  });

  it("list every TLS setting a mysql:// URL takes on Connecting securely", () => {
    const source = readFileSync(new URL("../../src/connection_url.ts", import.meta.url), "utf8");
    const modes = /const SSL_MODES = \[([^\]]*)\]/.exec(source)?.[1]?.match(/\w+/g) ?? [];
    const files = [
      .../const FILE_PARAMETERS = \{([^}]*)\}/.exec(source)?.[1]?.matchAll(/"([\w-]+)":/g) ?? [],
    ]
      .map((match) => match[1] as string);
    assert.deepEqual(modes, ["DISABLED", "REQUIRED", "VERIFY_CA", "VERIFY_IDENTITY"]);
    assert.deepEqual(files, ["ssl-ca", "ssl-cert", "ssl-key", "server-public-key-path"]);
    const page = readFileSync(new URL("connecting-securely.md", docs), "utf8");
    const rows = page.split("\n").filter((line) => line.startsWith("| `"))
      .map((line) => line.split("|")[1] as string);
    for (const mode of modes) {
      assert.ok(rows.some((cell) => cell.includes(`\`ssl-mode=${mode}\``)), `ssl-mode=${mode}`);
    }
    for (const file of files) {
      assert.ok(rows.some((cell) => cell.includes(`\`${file}=<file>\``)), file);
    }
    assert.ok(rows.some((cell) => cell.includes("`allowPublicKeyRetrieval=true`")));
  });
});
