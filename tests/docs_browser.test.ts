// The built docs site in a real browser: Debian's Chromium driven by playwright-core opens the
// home page, follows the navigation to Options and to the migration guide, finds an option
// with the search box, and switches to dark mode. Screenshots go to .tmp/docs-screenshots/.
// Run with `npm run test:docs` after `npm run docs:build`.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { serveStatic, type StaticServer } from "../scripts/docs-serve.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const buildDir = `${root}docs/build`;
const screenshots = `${root}.tmp/docs-screenshots`;
const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const { version } = JSON.parse(readFileSync(`${root}package.json`, "utf8")) as {
  version: string;
};

// `npm test` runs every tests/*.test.ts; this one needs a built site and Chromium, so it runs
// only from `npm run test:docs`, which sets DOCS_BROWSER_TEST=1.
const enabled = process.env.DOCS_BROWSER_TEST === "1";

describe("the docs site in Chromium", {
  skip: !enabled && "run it with npm run test:docs",
}, () => {
  let server: StaticServer;
  let browser: Browser;
  let page: Page;
  const pageErrors: Error[] = [];

  before(async () => {
    assert.ok(
      existsSync(`${buildDir}/index.html`),
      "no docs/build: run `npm run docs:build`",
    );
    assert.ok(
      existsSync(chromiumPath),
      `no Chromium at ${chromiumPath}: apt-get install -y chromium (or set CHROMIUM_PATH)`,
    );
    mkdirSync(screenshots, { recursive: true });
    server = await serveStatic(buildDir);
    browser = await chromium.launch({
      executablePath: chromiumPath,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      colorScheme: "light",
    });
    // The site must work offline: any request that leaves the loopback server fails the test.
    await context.route(
      (url) => !url.href.startsWith(server.url),
      (route) => route.abort(),
    );
    page = await context.newPage();
    page.on("pageerror", (error) => pageErrors.push(error));
    page.on("requestfailed", (request) => {
      pageErrors.push(new Error(`request failed: ${request.url()}`));
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it("opens the home page", async () => {
    await page.goto(server.url);
    await page.getByRole("heading", { level: 1, name: "knex-mysql-session" })
      .waitFor();
    const navbar = page.locator("nav.navbar");
    assert.equal(
      await navbar.getByRole("link", { name: `v${version}` }).count(),
      1,
    );
    await page.screenshot({ path: `${screenshots}/1-home.png` });
  });

  it("follows the navigation to Options", async () => {
    await page.locator("nav.navbar").getByRole("link", {
      name: "Options",
      exact: true,
    }).click();
    await page.waitForURL(/\/docs\/options$/);
    await page.getByRole("heading", { level: 1, name: "Options" }).waitFor();
    const summary = await page.locator("article table").first().innerText();
    for (
      const option of ["tablename", "createtable", "touchAfter", "maxRetries"]
    ) {
      assert.match(summary, new RegExp(`\\b${option}\\b`));
    }
    await page.screenshot({ path: `${screenshots}/2-options.png` });
  });

  it("follows the navigation to the migration guide", async () => {
    await page.locator("nav.navbar").getByRole("link", {
      name: "Migrate",
      exact: true,
    }).click();
    await page.waitForURL(/\/docs\/migrating\/connect-session-knex$/);
    await page.getByRole("heading", {
      level: 1,
      name: "Migrating from connect-session-knex",
    })
      .waitFor();
    // The sidebar leads on to the other guide.
    await page.locator("nav.menu").getByRole("link", {
      name: "From express-mysql-session",
    })
      .click();
    await page.waitForURL(/\/docs\/migrating\/express-mysql-session$/);
    await page.getByRole("heading", {
      level: 1,
      name: "Migrating from express-mysql-session",
    })
      .waitFor();
    await page.screenshot({ path: `${screenshots}/3-migrating.png` });
  });

  it("finds an option with the search box and lands on it", async () => {
    const search = page.locator("input.navbar__search-input");
    await search.click();
    await search.fill("touchAfter");
    // The first suggestion is the heading itself, "touchAfter" under "Docs › Options".
    const suggestion = page.getByRole("option").filter({
      hasText: "Docs › Options",
    }).first();
    await suggestion.waitFor();
    assert.equal(
      (await suggestion.locator("mark").first().innerText()).trim(),
      "touchAfter",
    );
    await page.screenshot({ path: `${screenshots}/4-search.png` });
    await suggestion.click();
    await page.waitForURL(/\/docs\/options(\?[^#]*)?#touchafter$/);
    const heading = page.locator("h3#touchafter");
    await heading.waitFor();
    // Docusaurus appends a hash link holding a zero-width space to every heading.
    assert.equal(
      (await heading.innerText()).replace(/\u200b/g, "").trim(),
      "touchAfter",
    );
    const section = await heading.locator("xpath=following-sibling::p[1]")
      .innerText();
    assert.match(section, /skips the write/);
    assert.ok(await heading.isVisible());
    await page.screenshot({ path: `${screenshots}/5-search-result.png` });
  });

  it("switches to dark mode", async () => {
    await page.getByRole("button", {
      name: /dark mode|light mode|system mode/i,
    }).first().click();
    const theme = () => page.locator("html").getAttribute("data-theme");
    // The toggle cycles system → light → dark; click until dark, at most twice more.
    for (let clicks = 0; clicks < 2 && await theme() !== "dark"; clicks++) {
      await page.getByRole("button", {
        name: /dark mode|light mode|system mode/i,
      }).first().click();
    }
    assert.equal(await theme(), "dark");
    await page.screenshot({ path: `${screenshots}/6-dark.png` });
  });

  it("raised no page errors and made no request outside the site", () => {
    assert.deepEqual(pageErrors.map((error) => error.message), []);
  });
});
