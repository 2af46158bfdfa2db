import Link from "@docusaurus/Link";
import { useAllDocsData } from "@docusaurus/plugin-content-docs/client";
import type { ReactNode } from "react";

/**
 * A link to the doc `id` (at `anchor`, if given) when the site has that page, else just its
 * text. For pages that other parts of the project add (the CLI, scaling and benchmark pages):
 * the site builds with broken links failing the build, before and after those pages exist.
 */
export default function DocLink(
  { id, anchor, children }: { id: string; anchor?: string; children: ReactNode },
) {
  const docs = Object.values(useAllDocsData()).flatMap((plugin) =>
    plugin.versions.flatMap((version) => version.docs)
  );
  const doc = docs.find((candidate) => candidate.id === id);
  if (!doc) return <>{children}</>;
  return <Link to={anchor ? `${doc.path}#${anchor}` : doc.path}>{children}</Link>;
}
