// The built docs site in a real browser: Debian's Chromium driven by playwright-core opens the
// home page, follows the navigation to Options and to the migration guide, finds an option
// with the search box, and switches to dark mode. Then what readers reported, so that it stays
// fixed: text and the hero's buttons readable in both themes (WCAG contrast), no sideways
// scrolling on a 390 px phone, no table cut off at 1280 px nor on the phone, and the FAQ in the
// sidebar. Screenshots go to .tmp/docs-screenshots/. Run with `npm run test:docs` after
// `npm run docs:build`.
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import process from "node:process";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContextOptions, chromium, type Page } from "playwright-core";
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

/**
 * Navigation that waits until the page stopped loading (its lazily loaded chunks included), so
 * that the next navigation cancels nothing, which would count as a failed request.
 */
const SETTLED = { waitUntil: "networkidle" } as const;

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
    page = await newPage({
      viewport: { width: 1280, height: 900 },
      colorScheme: "light",
    });
  });

  /** A page in a context of its own, offline but for the site, its errors collected. */
  async function newPage(options: BrowserContextOptions): Promise<Page> {
    const context = await browser.newContext(options);
    // tsx compiles this file with esbuild's keepNames, which wraps named functions in
    // __name(fn, "name"): a function sent to the page (evaluate) needs it there too.
    await context.addInitScript("globalThis.__name = (target) => target;");
    // The site must work offline: any request that leaves the loopback server fails the test.
    await context.route(
      (url) => !url.href.startsWith(server.url),
      (route) => route.abort(),
    );
    const opened = await context.newPage();
    opened.on("pageerror", (error) => pageErrors.push(error));
    opened.on("requestfailed", (request) => {
      // The site's own chunks that Docusaurus prefetches are cancelled (ERR_ABORTED) when the
      // test moves on to the next page or closes the context: not an error. A request that
      // leaves the site fails as ERR_FAILED (the route above), and is.
      const cancelled = request.failure()?.errorText === "net::ERR_ABORTED";
      if (cancelled && request.url().startsWith(server.url)) return;
      pageErrors.push(
        new Error(`request failed: ${request.url()} (${request.failure()?.errorText})`),
      );
    });
    return opened;
  }

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

  // WCAG 2's contrast ratio of each element's text against what is behind it: the first opaque
  // background up its ancestors, with the translucent ones in between laid over it (and white,
  // the canvas, when none is opaque). Background images are not looked at: the site has none
  // behind text.
  for (const theme of ["light", "dark"] as const) {
    it(`has text and hero buttons of contrast 4.5:1 or more in ${theme} mode`, async () => {
      const themed = await newPage({
        viewport: { width: 1280, height: 900 },
        colorScheme: theme,
      });
      const checked: { text: string; ratio: number }[] = [];
      for (
        const [path, selector] of [
          ["", ".hero .hero__title, .hero .hero__subtitle, .hero .install-line, .hero .button"],
          ["", "main .features h3, main .features p"],
          ["docs/intro", "article .markdown > p, article .markdown li, article h1"],
        ] as const
      ) {
        await themed.goto(server.url + path, SETTLED);
        assert.equal(await themed.locator("html").getAttribute("data-theme"), theme);
        checked.push(...await themed.locator(selector).evaluateAll(contrastRatios));
      }
      await themed.goto(server.url, SETTLED);
      await themed.screenshot({ path: `${screenshots}/7-contrast-${theme}.png` });
      await themed.context().close();
      assert.ok(checked.length >= 10, `only ${checked.length} elements checked`);
      const hero = checked.filter((c) => /Get started|Why stored|Migrate from/.test(c.text));
      assert.equal(hero.length, 3, "the three hero buttons were checked");
      const unreadable = checked.filter((c) => c.ratio < 4.5)
        .map((c) => `${c.ratio.toFixed(2)}:1 ${JSON.stringify(c.text)}`);
      assert.deepEqual(unreadable, [], "text below a 4.5:1 contrast ratio");
    });
  }

  it("fits a 390 px wide phone screen: the page never scrolls sideways", async () => {
    const phone = await newPage({ viewport: { width: 390, height: 844 } });
    const overflows: string[] = [];
    for (
      const path of [
        "",
        "docs/options",
        "docs/operations",
        "docs/troubleshooting",
        "docs/faq",
        "docs/schema",
        "docs/cli",
        "docs/migrating/connect-session-knex",
        "docs/migrating/express-mysql-session",
        "docs/benchmarks",
      ]
    ) {
      await phone.goto(server.url + path, SETTLED);
      const { scrollWidth, width, widest } = await phone.evaluate(() => {
        const width = document.documentElement.clientWidth;
        // For the message: the elements that stick out the furthest.
        const widest = Array.from(document.querySelectorAll("body *"))
          .map((element) => ({ element, right: element.getBoundingClientRect().right }))
          .filter(({ right }) => right > width + 1)
          .sort((a, b) => b.right - a.right).slice(0, 3)
          .map(({ element, right }) => `${element.tagName}.${element.className} to ${right}px`);
        return { scrollWidth: document.scrollingElement?.scrollWidth ?? 0, width, widest };
      });
      if (scrollWidth > width) {
        overflows.push(`/${path}: ${scrollWidth}px wide in ${width}px (${widest.join(", ")})`);
      }
      if (path === "") await phone.screenshot({ path: `${screenshots}/8-home-390.png` });
    }
    await phone.context().close();
    assert.deepEqual(overflows, []);
  });

  // "Not cut off" means: every cell is seen whole without scrolling anything. The table needs
  // no scrolling of its own (its content is no wider than its box: Infima makes a table that is
  // too wide scroll inside itself, its scrollbar at its bottom, out of sight on a long table),
  // no cell's content overflows the cell, and the table lies inside the article column.
  it("shows every table whole at 1280 px: API options, Benchmarks, Options", async () => {
    const desktop = await newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    let tables = 0;
    for (
      const path of ["docs/api/interfaces/KnexMySQLStoreOptions", "docs/benchmarks", "docs/options"]
    ) {
      await desktop.goto(server.url + path, SETTLED);
      const found = await desktop.evaluate(() => {
        const article = document.querySelector("article") as HTMLElement;
        const right = article.getBoundingClientRect().right;
        return Array.from(article.querySelectorAll("table")).map((table, t) => {
          const head = (table.rows[0]?.textContent ?? "").trim().slice(0, 40);
          const issues: string[] = [];
          if (table.scrollWidth > table.clientWidth + 1) {
            issues.push(`${table.scrollWidth}px of content in ${table.clientWidth}px`);
          }
          if (table.getBoundingClientRect().right > right + 1) issues.push("past the article");
          for (const cell of Array.from(table.querySelectorAll("th, td"))) {
            if (cell.scrollWidth > cell.clientWidth + 1) {
              issues.push(`cell ${JSON.stringify(cell.textContent?.slice(0, 30))} overflows`);
            }
          }
          return issues.map((issue) => `table ${t + 1} (${head}…): ${issue}`);
        });
      });
      tables += found.length;
      problems.push(...found.flat().map((problem) => `/${path}, ${problem}`));
      if (path === "docs/api/interfaces/KnexMySQLStoreOptions") {
        await desktop.screenshot({ path: `${screenshots}/9-api-options.png`, fullPage: true });
      }
    }
    await desktop.context().close();
    assert.ok(tables >= 10, `only ${tables} tables found`);
    assert.deepEqual(problems, []);
  });

  // On a phone, "not cut off" means the same: every cell is seen whole without scrolling the
  // table sideways (a table that scrolls inside itself hides its right-hand columns there, its
  // scrollbar at its bottom and drawn only while it scrolls), and every cell is seen with its
  // column's name: the header row in view, or the name in front of the cell (custom.css lays a
  // wide table out as one card per row, each cell after its data-label).
  it("shows every table whole on a 390 px phone, each cell with its column's name", async () => {
    const phone = await newPage({ viewport: { width: 390, height: 844 } });
    const problems: string[] = [];
    let tables = 0;
    for (
      const path of [
        "docs/options",
        "docs/sessions-by-user",
        "docs/migrating/connect-session-knex",
        "docs/migrating/express-mysql-session",
        "docs/intro",
        "docs/operations",
        "docs/schema",
        "docs/scaling",
        "docs/least-privilege",
        "docs/cli",
        "docs/benchmarks",
        "docs/api/interfaces/KnexMySQLStoreOptions",
      ]
    ) {
      await phone.goto(server.url + path, SETTLED);
      const found = await phone.evaluate(() => {
        const viewport = document.documentElement.clientWidth;
        const shown = (element: Element) => {
          const box = element.getBoundingClientRect();
          return box.width > 1 && box.height > 1;
        };
        return Array.from(document.querySelectorAll<HTMLTableElement>("article table")).map(
          (table, t) => {
            const head = (table.rows[0]?.textContent ?? "").trim().slice(0, 40);
            const issues: string[] = [];
            const box = table.getBoundingClientRect();
            if (box.left < -1 || box.right > viewport + 1) {
              issues.push(`the table spans ${box.left}px to ${box.right}px of ${viewport}px`);
            }
            if (table.scrollWidth > table.clientWidth + 1) {
              issues.push(
                `${table.scrollWidth - table.clientWidth}px of its ${table.scrollWidth}px hidden ` +
                  `to the right of its ${table.clientWidth}px (overflow-x ` +
                  `${getComputedStyle(table).overflowX})`,
              );
            }
            const visibleRight = box.left + table.clientWidth;
            const header = Array.from(table.rows[0]?.cells ?? []);
            for (const row of Array.from(table.rows).slice(1)) {
              Array.from(row.cells).forEach((cell, c) => {
                const text = (cell.textContent ?? "").trim();
                if (text === "") return;
                const what = `cell ${JSON.stringify(text.slice(0, 30))}`;
                if (!shown(cell)) return issues.push(`${what} is not shown`);
                const cellBox = cell.getBoundingClientRect();
                if (cellBox.left < box.left - 1 || cellBox.right > visibleRight + 1) {
                  issues.push(`${what} spans ${cellBox.left}px to ${cellBox.right}px`);
                }
                if (cell.scrollWidth > cell.clientWidth + 1) issues.push(`${what} overflows`);
                const name = (header[c]?.textContent ?? "").replace(/\s+/g, " ").trim();
                if (name === "" || (header[c] && shown(header[c]))) return;
                const before = getComputedStyle(cell, "::before");
                const labelled = (cell as HTMLElement).dataset.label === name &&
                  before.display !== "none" && !["none", "normal"].includes(before.content);
                if (!labelled) issues.push(`${what} is shown without its column's name, ${name}`);
              });
            }
            // A table cut off names every cell it hides: the first three say enough.
            const named = issues.length > 4
              ? [...issues.slice(0, 3), `and ${issues.length - 3} more`]
              : issues;
            return named.map((issue) => `table ${t + 1} (${head}…): ${issue}`);
          },
        );
      });
      tables += found.length;
      problems.push(...found.flat().map((problem) => `/${path}, ${problem}`));
      if (path === "docs/options") {
        await phone.screenshot({ path: `${screenshots}/11-options-390.png` });
      }
    }
    await phone.context().close();
    assert.ok(tables >= 20, `only ${tables} tables found`);
    assert.deepEqual(problems, []);
  });

  it("lists the FAQ in the sidebar", async () => {
    await page.goto(`${server.url}docs/intro`, SETTLED);
    await page.locator("nav.menu").getByRole("link", { name: "FAQ", exact: true }).click();
    await page.waitForURL(/\/docs\/faq$/);
    await page.getByRole("heading", { level: 1, name: "FAQ" }).waitFor();
  });

  it("raised no page errors and made no request outside the site", () => {
    assert.deepEqual(pageErrors.map((error) => error.message), []);
  });
});

/** In the page: each element's text and its contrast ratio against what is behind it. */
function contrastRatios(elements: Element[]): { text: string; ratio: number }[] {
  type Rgba = [number, number, number, number];
  const parse = (color: string): Rgba => {
    const [r = 0, g = 0, b = 0, a = 1] = (color.match(/[\d.]+/g) ?? []).map(Number);
    return [r, g, b, a];
  };
  const over = (top: Rgba, bottom: Rgba): Rgba => [
    top[0] * top[3] + bottom[0] * (1 - top[3]),
    top[1] * top[3] + bottom[1] * (1 - top[3]),
    top[2] * top[3] + bottom[2] * (1 - top[3]),
    1,
  ];
  const luminance = ([r, g, b]: Rgba) => {
    const [lr, lg, lb] = [r, g, b].map((channel) => {
      const c = channel / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    }) as [number, number, number];
    return 0.2126 * lr + 0.7152 * lg + 0.0722 * lb;
  };
  return elements.filter((element) => (element.textContent ?? "").trim() !== "")
    .map((element) => {
      const layers: Rgba[] = [];
      for (let e: Element | null = element; e; e = e.parentElement) {
        const background = parse(getComputedStyle(e).backgroundColor);
        if (background[3] > 0) layers.push(background);
        if (background[3] >= 1) break;
      }
      let behind: Rgba = [255, 255, 255, 1];
      for (const layer of layers.reverse()) behind = over(layer, behind);
      const color = over(parse(getComputedStyle(element).color), behind);
      const [light, dark] = [luminance(color), luminance(behind)].sort((a, b) => b - a) as [
        number,
        number,
      ];
      return {
        text: (element.textContent ?? "").trim().slice(0, 40),
        ratio: (light + 0.05) / (dark + 0.05),
      };
    });
}
