// The docs' chart: grouped bar panels written as plain SVG (no chart library).

export interface Series {
  name: string;
  color: string;
  /** One value per group; NaN leaves a gap. */
  values: number[];
}

export interface Panel {
  title: string;
  groups: string[];
  series: Series[];
  /** Formats a bar's value label. */
  format: (value: number) => string;
  /** A dashed horizontal line, e.g. 1.0 for "the bound". */
  reference?: { value: number; label: string };
}

const WIDTH = 900;
const PANEL_HEIGHT = 260;
const MARGIN = { left: 50, right: 20, top: 44, bottom: 60 };

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/**
 * A line of text at the left margin, squeezed to the chart's width when it would run past it
 * (`charWidth`: about how wide a character of its class is).
 */
function line(text: string, y: number, className: string, charWidth: number): string {
  const room = WIDTH - MARGIN.left - MARGIN.right;
  const fit = text.length * charWidth > room
    ? ` textLength="${room}" lengthAdjust="spacingAndGlyphs"`
    : "";
  return `<text x="${MARGIN.left}" y="${y}" class="${className}"${fit}>${escape(text)}</text>`;
}

function panelSvg(panel: Panel, top: number): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = PANEL_HEIGHT - MARGIN.top - MARGIN.bottom;
  const finite = panel.series.flatMap((s) => s.values).filter(Number.isFinite);
  const max = Math.max(...finite, panel.reference?.value ?? 0) * 1.15 || 1;
  const y = (value: number) => top + MARGIN.top + plotHeight * (1 - value / max);
  const groupWidth = plotWidth / panel.groups.length;
  const barWidth = (groupWidth * 0.8) / panel.series.length;
  const parts = [
    line(panel.title, top + 20, "title", 8.6),
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(0)}" y2="${
      y(0)
    }" class="axis"/>`,
  ];
  panel.groups.forEach((group, g) => {
    const x0 = MARGIN.left + g * groupWidth + groupWidth * 0.1;
    panel.series.forEach((series, s) => {
      const value = series.values[g] as number;
      if (!Number.isFinite(value)) return;
      const x = x0 + s * barWidth;
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${y(value).toFixed(1)}" width="${
          (barWidth - 2).toFixed(1)
        }" ` +
          `height="${(y(0) - y(value)).toFixed(1)}" fill="${series.color}">` +
          `<title>${escape(`${series.name}, ${group}: ${panel.format(value)}`)}</title></rect>`,
        `<text x="${(x + barWidth / 2 - 1).toFixed(1)}" y="${(y(value) - 3).toFixed(1)}" ` +
          `class="value">${escape(panel.format(value))}</text>`,
      );
    });
    parts.push(
      `<text x="${(x0 + groupWidth * 0.4).toFixed(1)}" y="${y(0) + 16}" class="group">` +
        `${escape(group)}</text>`,
    );
  });
  if (panel.reference) {
    const ry = y(panel.reference.value).toFixed(1);
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${ry}" y2="${ry}" class="ref"/>`,
      `<text x="${WIDTH - MARGIN.right}" y="${Number(ry) - 4}" class="reflabel">` +
        `${escape(panel.reference.label)}</text>`,
    );
  }
  // The legend in as many rows as it needs, the last row where a one-row legend sits.
  const rows: { series: Series; x: number }[][] = [[]];
  let legendX = MARGIN.left;
  for (const series of panel.series) {
    const width = 20 + series.name.length * 5.9;
    if (legendX + width > WIDTH - MARGIN.right && legendX > MARGIN.left) {
      rows.push([]);
      legendX = MARGIN.left;
    }
    (rows[rows.length - 1] as { series: Series; x: number }[]).push({ series, x: legendX });
    legendX += width;
  }
  rows.forEach((row, r) => {
    const rowY = top + PANEL_HEIGHT - 18 - 14 * (rows.length - 1 - r);
    for (const { series, x } of row) {
      parts.push(
        `<rect x="${x.toFixed(1)}" y="${rowY}" width="10" height="10" fill="${series.color}"/>`,
        `<text x="${(x + 14).toFixed(1)}" y="${rowY + 9}" class="legend">` +
          `${escape(series.name)}</text>`,
      );
    }
  });
  return parts.join("\n");
}

/** The whole chart: panels stacked, with caption lines at the bottom. */
export function chartSvg(panels: Panel[], captions: string[]): string {
  const height = panels.length * PANEL_HEIGHT + 16 + 14 * captions.length;
  const body = panels.map((panel, i) => panelSvg(panel, i * PANEL_HEIGHT)).join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
    `viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, sans-serif">
<style>
.title { font-size: 15px; font-weight: 600; fill: #222; }
.value { font-size: 9px; fill: #333; text-anchor: middle; }
.group { font-size: 12px; fill: #333; text-anchor: middle; }
.legend { font-size: 10px; fill: #333; }
.axis { stroke: #888; }
.ref { stroke: #c00; stroke-dasharray: 5 4; }
.reflabel { font-size: 10px; fill: #c00; text-anchor: end; }
.caption { font-size: 11px; fill: #666; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${body}
${
      captions.map((caption, i) =>
        line(caption, height - 10 - 14 * (captions.length - 1 - i), "caption", 6)
      ).join("\n")
    }
</svg>
`;
}
