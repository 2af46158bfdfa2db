// A rehype plugin: each body cell of a Markdown table gets its column's header as `data-label`,
// so that custom.css can lay a table out as one card per row on a narrow column (a phone), each
// cell under its header's name, instead of cutting off the columns that do not fit.

/** The parts of a hast node this plugin reads and writes. */
interface HastNode {
  type: string;
  tagName?: string;
  value?: string;
  properties?: Record<string, unknown>;
  children?: HastNode[];
}

const isElement = (node: HastNode, ...names: string[]) =>
  node.type === "element" && names.includes(node.tagName ?? "");

/** The text a node shows (inline code and links included). */
function textOf(node: HastNode): string {
  if (node.type === "text") return node.value ?? "";
  return (node.children ?? []).map(textOf).join("");
}

/** The rows of a table's section (thead, tbody) or of the table itself. */
function rowsOf(node: HastNode): HastNode[] {
  return (node.children ?? []).flatMap((child) =>
    isElement(child, "tr") ? [child] : isElement(child, "thead", "tbody") ? rowsOf(child) : []
  );
}

function labelCells(table: HastNode): void {
  const [header, ...rows] = rowsOf(table);
  if (!header) return;
  const labels = (header.children ?? []).filter((cell) => isElement(cell, "th", "td"))
    .map((cell) => textOf(cell).replace(/\s+/g, " ").trim());
  for (const row of rows) {
    (row.children ?? []).filter((cell) => isElement(cell, "th", "td")).forEach((cell, i) => {
      const label = labels[i];
      if (label) cell.properties = { ...cell.properties, dataLabel: label };
    });
  }
}

function visit(node: HastNode): void {
  if (isElement(node, "table")) labelCells(node);
  for (const child of node.children ?? []) visit(child);
}

export default function rehypeTableLabels() {
  return (tree: HastNode) => visit(tree);
}
