// The complete apps on the Getting-started pages, run as printed against a real database: each
// code block whose info string ends in `sample` is written to a scratch directory, started,
// sent two requests that must share one session stored in MySQL, and stopped with SIGTERM, on
// which it must exit by itself with code 0. Only the package specifier is mapped onto this
// checkout's mod.ts (by tsconfig `paths` for tsx and tsc, by the import map for Deno).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import process from "node:process";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { removeScratchDirectories, scratchDirectory, serveApp } from "./helpers/sample_app.ts";
import { testServerUrl } from "./helpers/database.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const pagesDir = `${root}docs/docs/getting-started`;
const mod = `${root}mod.ts`;
const deno = `${root}node_modules/.bin/deno`;
const tsc = `${root}node_modules/typescript/bin/tsc`;
// Under `deno test`, process.execPath is Deno: the Node samples still need Node.
const node = "Deno" in globalThis ? "node" : process.execPath;

interface CodeBlock {
  page: string;
  language: string;
  title: string;
  code: string;
}

/** The fenced code blocks of the Getting-started pages that carry a title. */
function codeBlocks(): CodeBlock[] {
  return readdirSync(pagesDir).filter((file) => file.endsWith(".md")).sort()
    .flatMap((page) => {
      const markdown = readFileSync(`${pagesDir}/${page}`, "utf8");
      return [
        ...markdown.matchAll(
          /^```(\w+) title="([^"]+)"( sample)?\n([\s\S]*?)^```$/gm,
        ),
      ]
        .map(([, language, title, sample, code]) => ({
          page,
          language: language as string,
          title: sample ? title as string : `${title} (not a sample)`,
          code: code as string,
        }));
    });
}

const blocks = codeBlocks();
const samples = blocks.filter((block) => !block.title.endsWith("(not a sample)"));
const documentedTsconfig = blocks.find((block) => block.title === "tsconfig.json (not a sample)");

/** Lays out a Node sample: the app, package.json, and a tsconfig mapping the package name. */
function nodeProject(sample: CodeBlock): string {
  const dir = scratchDirectory("app");
  writeFileSync(`${dir}/${sample.title}`, sample.code);
  writeFileSync(
    `${dir}/package.json`,
    JSON.stringify({ type: "module", private: true }),
  );
  // The documented tsconfig.json, plus what it takes to use the package from source.
  const documented = JSON.parse(documentedTsconfig?.code ?? "{}") as {
    compilerOptions?: Record<string, unknown>;
  };
  writeFileSync(
    `${dir}/tsconfig.json`,
    JSON.stringify({
      compilerOptions: {
        ...documented.compilerOptions,
        noEmit: true,
        // The package's source, which stands in for its published declarations here, imports
        // with .ts extensions and is checked with the root tsconfig's libraries (ES2024 for
        // String#isWellFormed, DOM for Web Crypto's CryptoKey).
        allowImportingTsExtensions: true,
        lib: ["ES2024", "DOM"],
        types: ["node"],
        paths: { "knex-mysql-session": [mod] },
      },
      files: [sample.title],
    }),
  );
  return dir;
}

/** Lays out the Deno sample: the app and a deno.json whose imports are what `deno add` adds. */
function denoProject(sample: CodeBlock): string {
  const dir = scratchDirectory("app");
  writeFileSync(`${dir}/${sample.title}`, sample.code);
  writeFileSync(
    `${dir}/deno.json`,
    JSON.stringify({
      nodeModulesDir: "manual",
      imports: {
        "@knex-mysql-session/knex-mysql-session": mod,
        "express": "npm:express@^5",
        "express-session": "npm:express-session@^1",
        "@types/express": "npm:@types/express@^5",
      },
      // A JSR package's own source is not type-checked by its users; here it is local, so the
      // one setting that differs from the package's own checks is relaxed.
      compilerOptions: { noImplicitOverride: false },
    }),
  );
  symlinkSync(`${root}node_modules`, `${dir}/node_modules`);
  return dir;
}

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
}

/** Runs a command to its end; resolves with its exit and everything it printed. */
async function run(
  command: string,
  args: string[],
  cwd: string,
): Promise<Finished> {
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, NO_COLOR: "1" },
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const [code, signal] = await once(child, "exit") as [
    number | null,
    NodeJS.Signals | null,
  ];
  return { code, signal, output };
}

/** Starts the app, checks that two requests share a stored session, stops it with SIGTERM. */
async function serveOneSession(command: string, args: string[], cwd: string): Promise<void> {
  // As root: the pages' apps install the schema on their first start (createtable).
  await serveApp(command, args, cwd, async ({ url, database, output }) => {
    const first = await fetch(url);
    assert.equal(first.status, 200, output());
    assert.equal(await first.text(), "Views in this session: 1\n");
    const cookie = first.headers.getSetCookie()[0]?.split(";")[0];
    assert.match(cookie ?? "", /^connect\.sid=/, "the first response sets the session cookie");
    const second = await fetch(url, { headers: { cookie: cookie as string } });
    assert.equal(await second.text(), "Views in this session: 2\n");

    const rows = await database.admin("sessions").select("sess") as { sess: unknown }[];
    assert.equal(rows.length, 1, "one session row");
    const stored = rows[0]?.sess;
    const session = typeof stored === "string" ? JSON.parse(stored) : stored;
    assert.equal(session.views, 2, "the session in the table holds the count");
  }, { as: "root" });
}

describe("the Getting-started samples", () => {
  after(removeScratchDirectories);

  it("are the four documented apps", () => {
    assert.deepEqual(
      samples.map((sample) => `${sample.page}: ${sample.title}`),
      [
        "deno.md: main.ts",
        "node-cjs.md: app.cjs",
        "node-esm.md: app.mjs",
        "typescript.md: app.ts",
      ],
    );
    assert.ok(documentedTsconfig, "typescript.md shows a tsconfig.json");
  });

  for (const sample of samples.filter((sample) => sample.page !== "deno.md")) {
    it(`${sample.page}: ${sample.title} serves a session and exits on SIGTERM`, async () => {
      const dir = nodeProject(sample);
      await serveOneSession(node, ["--import", "tsx", sample.title], dir);
    });
  }

  it("typescript.md: app.ts type-checks with the documented tsconfig.json", async () => {
    const sample = samples.find((candidate) => candidate.title === "app.ts") as CodeBlock;
    const dir = nodeProject(sample);
    const result = await run(node, [tsc, "-p", "tsconfig.json"], dir);
    assert.equal(result.code, 0, result.output);
  });

  const denoSample = samples.find((sample) => sample.page === "deno.md") as CodeBlock;

  it("deno.md: main.ts type-checks under deno check", async () => {
    const dir = denoProject(denoSample);
    const result = await run(deno, ["check", denoSample.title], dir);
    assert.equal(result.code, 0, result.output);
  });

  // Only these two: no --allow-read, no --allow-sys (Deno would refuse, not prompt: its
  // stdin is not a terminal here); and, as the page says, read access to the files a URL names
  // (the server's CA when the tests run over TLS).
  it("deno.md: main.ts serves a session with the documented permissions", async () => {
    const dir = denoProject(denoSample);
    const permissions = ["--allow-net", "--allow-env"];
    const page = readFileSync(`${pagesDir}/deno.md`, "utf8");
    assert.ok(
      page.includes(`deno run ${permissions.join(" ")} main.ts`),
      "the page shows the command this test runs",
    );
    const files = [...new URL(await testServerUrl()).searchParams]
      .filter(([name]) => /^(ssl-ca|ssl-cert|ssl-key|server-public-key-path)$/.test(name))
      .map(([, path]) => path);
    if (files.length > 0) {
      assert.match(
        page,
        /A URL that names files.*needs read\s+access to them: add `--allow-read=/s,
      );
      permissions.push(`--allow-read=${files.join(",")}`);
    }
    await serveOneSession(deno, ["run", ...permissions, denoSample.title], dir);
  });
});
