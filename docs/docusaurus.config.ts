import type { PluginOptions as DocsOptions } from "@docusaurus/plugin-content-docs";
import type { Config } from "@docusaurus/types";
import type { Options as PresetOptions, ThemeConfig } from "@docusaurus/preset-classic";
import type { PluginOptions as TypedocOptions } from "docusaurus-plugin-typedoc";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { themes as prismThemes } from "prism-react-renderer";
import rehypeTableLabels from "./src/rehype/table-labels.ts";

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const { version } = JSON.parse(readFileSync(`${repoRoot}package.json`, "utf8")) as {
  version: string;
};
const repository = "https://github.com/knex-mysql-session/knex-mysql-session";

const API_LABELS: Record<string, string> = {
  "api/index": "API reference",
  classes: "Classes",
  interfaces: "Interfaces",
  "type-aliases": "Type aliases",
  variables: "Variables",
};

type SidebarItems = Awaited<ReturnType<DocsOptions["sidebarItemsGenerator"]>>;

function relabelApiCategories(items: SidebarItems): SidebarItems {
  return items.map((item) => {
    if (item.type !== "category") return item;
    const key = item.link?.type === "doc" ? item.link.id : item.label;
    return {
      ...item,
      label: API_LABELS[key] ?? item.label,
      items: relabelApiCategories(item.items),
    };
  });
}

const config: Config = {
  title: "knex-mysql-session",
  tagline: "The express-session store for MySQL and MariaDB that a DBA can review: " +
    "stored-procedure writes, plain SELECT reads, least privilege by design.",
  favicon: "img/logo.svg",
  url: process.env.DOCS_URL ?? "https://knex-mysql-session.github.io",
  baseUrl: process.env.DOCS_BASE_URL ?? "/",
  organizationName: "knex-mysql-session",
  projectName: "knex-mysql-session",
  trailingSlash: false,
  onBrokenLinks: "throw",
  onBrokenAnchors: "throw",
  markdown: { hooks: { onBrokenMarkdownLinks: "throw" } },
  i18n: { defaultLocale: "en", locales: ["en"] },

  presets: [
    [
      "classic",
      {
        docs: {
          sidebarPath: "./sidebars.ts",
          // The API reference is generated into docs/api: its folders would lend the sidebar
          // their file-system names ("knex-mysql-session", "type-aliases", …).
          async sidebarItemsGenerator({ defaultSidebarItemsGenerator, ...args }) {
            return relabelApiCategories(await defaultSidebarItemsGenerator(args));
          },
          editUrl: ({ docPath }) =>
            // The API pages are generated from the source: edit the TSDoc comments instead.
            docPath.startsWith("api/") ? undefined : `${repository}/edit/main/docs/docs/${docPath}`,
          showLastUpdateTime: false,
          // Table cells carry their column's name, for the phone layout of custom.css.
          rehypePlugins: [rehypeTableLabels],
        },
        blog: false,
        theme: { customCss: "./src/css/custom.css" },
      } satisfies PresetOptions,
    ],
  ],

  plugins: [
    [
      "docusaurus-plugin-typedoc",
      {
        entryPoints: ["../mod.ts"],
        tsconfig: "../tsconfig.json",
        out: "docs/api",
        readme: "none",
        // Source links point at the repository without asking git (CI checkouts have no remote).
        disableGit: true,
        sourceLinkTemplate: `${repository}/blob/main/{path}#L{line}`,
        // Members inherited from express-session's Store and EventEmitter are declared in
        // node_modules: excluding externals keeps the API pages to this package's own API.
        excludeExternals: true,
        excludePrivate: true,
        excludeInternal: true,
        // Other work in progress elsewhere in the repository must not stop the docs build.
        skipErrorChecking: true,
        sanitizeComments: true,
        parametersFormat: "table",
        interfacePropertiesFormat: "table",
        // No "Defined in" column: each page names its source file at the top, and a fourth
        // column pushed the descriptions out of the article's width.
        tableColumnSettings: { hideSources: true },
      } satisfies Partial<TypedocOptions> & Record<string, unknown>,
    ],
  ],

  themes: [
    [
      "@easyops-cn/docusaurus-search-local",
      {
        hashed: true,
        indexBlog: false,
        indexPages: false,
        docsRouteBasePath: "/docs",
        highlightSearchTermsOnTargetPage: true,
        searchResultLimits: 8,
        explicitSearchResultPath: true,
      },
    ],
  ],

  themeConfig: {
    colorMode: { defaultMode: "light", respectPrefersColorScheme: true },
    navbar: {
      title: "knex-mysql-session",
      logo: { alt: "knex-mysql-session", src: "img/logo.svg" },
      items: [
        {
          type: "docSidebar",
          sidebarId: "docs",
          position: "left",
          label: "Docs",
        },
        { to: "/docs/options", position: "left", label: "Options" },
        {
          to: "/docs/migrating/connect-session-knex",
          activeBasePath: "/docs/migrating",
          position: "left",
          label: "Migrate",
        },
        { to: "/docs/api", position: "left", label: "API" },
        {
          to: "/docs/changelog",
          position: "right",
          label: `v${version}`,
        },
        { href: repository, position: "right", label: "GitHub" },
      ],
    },
    footer: {
      style: "dark",
      links: [
        {
          title: "Docs",
          items: [
            { label: "Getting started", to: "/docs/getting-started" },
            { label: "Options", to: "/docs/options" },
            {
              label: "Least-privilege deployment",
              to: "/docs/least-privilege",
            },
          ],
        },
        {
          title: "Migrate",
          items: [
            {
              label: "From connect-session-knex",
              to: "/docs/migrating/connect-session-knex",
            },
            {
              label: "From express-mysql-session",
              to: "/docs/migrating/express-mysql-session",
            },
          ],
        },
        {
          title: "More",
          items: [
            { label: "GitHub", href: repository },
            {
              label: "npm",
              href: "https://www.npmjs.com/package/knex-mysql-session",
            },
            {
              label: "JSR",
              href: "https://jsr.io/@knex-mysql-session/knex-mysql-session",
            },
          ],
        },
      ],
      copyright: `knex-mysql-session v${version}. MIT licensed.`,
    },
    prism: {
      theme: prismThemes.github,
      darkTheme: prismThemes.dracula,
      additionalLanguages: ["sql", "bash", "json", "ini"],
    },
  } satisfies ThemeConfig,
};

export default config;
