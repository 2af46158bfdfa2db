// The docs' chart: grouped bar panels written as plain SVG (no chart library), in two forms.
//
// The wide form is drawn at the width the docs page shows it on a desktop (its article column is
// about 700 px wide), so that a font size here is the size a reader sees: no text is smaller
// than 12 px. Value labels are turned upright so that each fits the width of its bar, and are
// placed where they cross neither the dashed reference line nor each other; the reference
// line's label sits in the legend.
//
// The narrow form is the same panels for a phone (the page shows it where its column is too
// narrow for the wide form's text to stay 11 px or more): 340 px wide, bars lying down, one row
// per bar under its group's name, the value label after the bar's end (or after the reference
// line, when the line would cross it), text of 13 px so that it stays 11 px down to a 288 px
// column.

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

/** The chart's width: the docs page's article column on a desktop, so 1 unit ≈ 1 CSS pixel. */
const WIDTH = 700;
const MARGIN = { left: 16, right: 16 };
const PLOT_HEIGHT = 180;
const FONT = { title: 14, text: 12 };
/** Baseline-to-baseline distance of lines of 12 px text (their boxes must not touch). */
const LINE = 17;
const TITLE_LINE = 19;
const REF_COLOR = "#c00";

/**
 * About how wide text is, in units of its font size: system-ui falls back to DejaVu Sans on
 * many Linux desktops, whose digits are 0.64 em and average letter about 0.6 em. Generous, so
 * that what is laid out as fitting does fit.
 */
const EM_PER_CHAR = 0.62;

function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * EM_PER_CHAR;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** `text` broken at spaces into lines no wider than `width`. */
function wrap(text: string, width: number, fontSize: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(" ")) {
    const candidate = current ? `${current} ${word}` : word;
    if (current && textWidth(candidate, fontSize) > width) {
      lines.push(current);
      current = word;
    } else {
      current = candidate;
    }
  }
  if (current) lines.push(current);
  return lines;
}

/** Relative luminance of a #rrggbb colour (WCAG 2). */
function luminance(hex: string): number {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  const [r, g, b] = channels as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** White or near-black, whichever reads better on `background`. */
function textOn(background: string): string {
  const l = luminance(/^#[0-9a-f]{6}$/i.test(background) ? background : "#777777");
  return (1.05) / (l + 0.05) >= (l + 0.05) / (luminance("#111111") + 0.05) ? "#fff" : "#111";
}

interface LegendItem {
  name: string;
  /** A filled square of this colour, or the dashed reference line. */
  swatch: { color: string } | "reference";
}

/** Legend items laid out in rows that fit between `left` and `right`. */
function legendRows(
  items: LegendItem[],
  left = MARGIN.left,
  right = WIDTH - MARGIN.right,
  fontSize = FONT.text,
): { item: LegendItem; x: number }[][] {
  const rows: { item: LegendItem; x: number }[][] = [[]];
  let x = left;
  for (const item of items) {
    const width = 22 + textWidth(item.name, fontSize) + 14;
    if (x + width > right && x > left) {
      rows.push([]);
      x = left;
    }
    (rows[rows.length - 1] as { item: LegendItem; x: number }[]).push({ item, x });
    x += width;
  }
  return rows;
}

/** One panel drawn from `top` down; returns its SVG and its height. */
function panelSvg(panel: Panel, top: number): { svg: string; height: number } {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const parts: string[] = [];

  // The title, wrapped.
  const titleLines = wrap(panel.title, plotWidth, FONT.title);
  titleLines.forEach((text, i) => {
    parts.push(
      `<text x="${MARGIN.left}" y="${top + 16 + i * TITLE_LINE}" class="title">` +
        `${escape(text)}</text>`,
    );
  });
  const plotTop = top + 16 + (titleLines.length - 1) * TITLE_LINE + 14;
  const plotBottom = plotTop + PLOT_HEIGHT;

  // The scale leaves room above the tallest bar for its upright label.
  const labels = panel.series.map((s) => s.values.map((v) => panel.format(v)));
  const longestLabel = Math.max(
    ...labels.flat().map((label) => textWidth(label, FONT.text)),
    0,
  );
  const headroom = longestLabel + 10;
  const finite = panel.series.flatMap((s) => s.values).filter(Number.isFinite);
  const highest = Math.max(...finite, panel.reference?.value ?? 0, 0);
  const max = highest > 0 ? highest * PLOT_HEIGHT / (PLOT_HEIGHT - headroom) : 1;
  const y = (value: number) => plotBottom - PLOT_HEIGHT * (value / max);
  const refY = panel.reference ? y(panel.reference.value) : undefined;

  const groupWidth = plotWidth / panel.groups.length;
  const barWidth = (groupWidth * 0.84) / panel.series.length;
  const bars: string[] = [];
  const valueLabels: string[] = [];
  const groupLabels: string[] = [];
  let groupLines = 1;
  panel.groups.forEach((group, g) => {
    const x0 = MARGIN.left + g * groupWidth + groupWidth * 0.08;
    panel.series.forEach((series, s) => {
      const value = series.values[g] as number;
      if (!Number.isFinite(value)) return;
      const x = x0 + s * barWidth;
      const barTop = y(value);
      const label = labels[s]?.[g] as string;
      bars.push(
        `<rect x="${x.toFixed(1)}" y="${barTop.toFixed(1)}" width="${(barWidth - 2).toFixed(1)}" ` +
          `height="${(plotBottom - barTop).toFixed(1)}" fill="${series.color}">` +
          `<title>${escape(`${series.name}, ${group}: ${label}`)}</title></rect>`,
      );
      // Upright, reading upwards from its anchor. Above the bar, unless it would cross the
      // reference line there: then inside the bar, below its top.
      const length = textWidth(label, FONT.text);
      const centre = (x + (barWidth - 2) / 2).toFixed(1);
      let anchor = barTop - 5;
      let fill = "#222";
      const crossesAbove = refY !== undefined && refY < barTop && refY > anchor - length - 3;
      if (crossesAbove) {
        if (plotBottom - barTop >= length + 10) {
          anchor = barTop + 5 + length;
          fill = textOn(series.color);
        } else {
          anchor = (refY as number) - 5; // a short bar right under the line: above the line
        }
      }
      valueLabels.push(
        `<text x="${centre}" y="${anchor.toFixed(1)}" transform="rotate(-90 ${centre} ` +
          `${anchor.toFixed(1)})" class="value" fill="${fill}">${escape(label)}</text>`,
      );
    });
    const lines = wrap(group, groupWidth - 6, FONT.text);
    groupLines = Math.max(groupLines, lines.length);
    lines.forEach((text, i) => {
      groupLabels.push(
        `<text x="${(MARGIN.left + (g + 0.5) * groupWidth).toFixed(1)}" ` +
          `y="${plotBottom + 16 + i * LINE}" class="group">${escape(text)}</text>`,
      );
    });
  });
  parts.push(
    ...bars,
    `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${plotBottom}" ` +
      `y2="${plotBottom}" class="axis"/>`,
  );
  if (refY !== undefined) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${refY.toFixed(1)}" ` +
        `y2="${refY.toFixed(1)}" class="ref"/>`,
    );
  }
  parts.push(...valueLabels, ...groupLabels);

  // The legend: the series, then the reference line.
  const items: LegendItem[] = panel.series.map((s) => ({
    name: s.name,
    swatch: { color: s.color },
  }));
  if (panel.reference) items.push({ name: panel.reference.label, swatch: "reference" });
  const rows = legendRows(items);
  const legendTop = plotBottom + 16 + (groupLines - 1) * LINE + 12;
  rows.forEach((row, r) => {
    const baseline = legendTop + 12 + r * LINE;
    for (const { item, x } of row) {
      parts.push(
        item.swatch === "reference"
          ? `<line x1="${x}" x2="${x + 16}" y1="${baseline - 4}" y2="${baseline - 4}" ` +
            `class="ref"/>`
          : `<rect x="${x}" y="${baseline - 10}" width="12" height="12" ` +
            `fill="${item.swatch.color}"/>`,
        `<text x="${x + 22}" y="${baseline}" class="legend">${escape(item.name)}</text>`,
      );
    }
  });
  const height = legendTop + 12 + (rows.length - 1) * LINE + 18 - top;
  return { svg: parts.join("\n"), height };
}

/** The narrow form's measures: the width a phone's article column gives it, and its text. */
const NARROW = {
  width: 340,
  margin: 8,
  font: { title: 14, text: 13 },
  /** Baseline-to-baseline distance of lines of 13 px text. */
  line: 18,
  titleLine: 19,
  /** A bar's thickness, and the distance from one bar's top to the next one's. */
  bar: 14,
  barPitch: 18,
  groupGap: 10,
};

/** One panel of the narrow form, drawn from `top` down; returns its SVG and its height. */
function narrowPanelSvg(panel: Panel, top: number): { svg: string; height: number } {
  const { margin, font, line } = NARROW;
  const plotWidth = NARROW.width - 2 * margin;
  const parts: string[] = [];

  const titleLines = wrap(panel.title, plotWidth, font.title);
  titleLines.forEach((text, i) => {
    const y = top + 16 + i * NARROW.titleLine;
    parts.push(`<text x="${margin}" y="${y}" class="title">${escape(text)}</text>`);
  });
  let cursor = top + 16 + (titleLines.length - 1) * NARROW.titleLine + 10;

  // The legend under the title, where a reader on a phone sees it before the bars.
  const items: LegendItem[] = panel.series.map((s) => ({
    name: s.name,
    swatch: { color: s.color },
  }));
  if (panel.reference) items.push({ name: panel.reference.label, swatch: "reference" });
  const rows = legendRows(items, margin, NARROW.width - margin, font.text);
  rows.forEach((row, r) => {
    const baseline = cursor + 13 + r * line;
    for (const { item, x } of row) {
      parts.push(
        item.swatch === "reference"
          ? `<line x1="${x}" x2="${x + 16}" y1="${baseline - 5}" y2="${baseline - 5}" ` +
            `class="ref"/>`
          : `<rect x="${x}" y="${baseline - 11}" width="12" height="12" ` +
            `fill="${item.swatch.color}"/>`,
        `<text x="${x + 22}" y="${baseline}" class="legend">${escape(item.name)}</text>`,
      );
    }
  });
  cursor += 13 + (rows.length - 1) * line + 16;

  // The scale leaves room after the longest bar (or the reference line) for its label.
  const labels = panel.series.map((s) => s.values.map((v) => panel.format(v)));
  const longestLabel = Math.max(...labels.flat().map((label) => textWidth(label, font.text)), 0);
  const room = plotWidth - longestLabel - 10;
  const finite = panel.series.flatMap((s) => s.values).filter(Number.isFinite);
  const max = Math.max(...finite, panel.reference?.value ?? 0, 0) || 1;
  const x = (value: number) => margin + room * (Math.max(value, 0) / max);
  const refX = panel.reference ? x(panel.reference.value) : undefined;

  panel.groups.forEach((group, g) => {
    const y = cursor + 13;
    parts.push(`<text x="${margin}" y="${y}" class="group-name">${escape(group)}</text>`);
    cursor += line;
    const barsTop = cursor;
    panel.series.forEach((series, s) => {
      const value = series.values[g] as number;
      if (!Number.isFinite(value)) return; // no empty row on a phone: the colours tell
      const rowTop = cursor;
      cursor += NARROW.barPitch;
      const label = labels[s]?.[g] as string;
      const end = x(value);
      parts.push(
        `<rect x="${margin}" y="${rowTop}" width="${(end - margin).toFixed(1)}" ` +
          `height="${NARROW.bar}" fill="${series.color}">` +
          `<title>${escape(`${series.name}, ${group}: ${label}`)}</title></rect>`,
      );
      // After the bar's end; after the reference line instead when the label would cross it.
      let labelX = end + 4;
      const length = textWidth(label, font.text);
      if (refX !== undefined && refX >= end - 1 && refX <= labelX + length + 2) {
        labelX = refX + 4;
      }
      const middle = rowTop + NARROW.bar / 2;
      parts.push(
        `<text x="${labelX.toFixed(1)}" y="${middle}" class="value-h">${escape(label)}</text>`,
      );
    });
    // The axis and the reference line run along the group's bars, not through its name.
    if (cursor === barsTop) cursor += NARROW.barPitch; // a group without a single bar
    const [y1, y2] = [barsTop - 2, cursor - (NARROW.barPitch - NARROW.bar) + 2];
    parts.push(`<line x1="${margin}" x2="${margin}" y1="${y1}" y2="${y2}" class="axis"/>`);
    if (refX !== undefined) {
      const at = refX.toFixed(1);
      parts.push(`<line x1="${at}" x2="${at}" y1="${y1}" y2="${y2}" class="ref"/>`);
    }
    cursor += NARROW.groupGap;
  });
  return { svg: parts.join("\n"), height: cursor - top + 6 };
}

/** The chart's two forms: for the docs page's desktop column, and for a phone's. */
export type ChartForm = "wide" | "narrow";

/** The whole chart in `form`: panels stacked, with caption lines at the bottom. */
export function chartSvg(panels: Panel[], captions: string[], form: ChartForm = "wide"): string {
  const narrow = form === "narrow";
  const width = narrow ? NARROW.width : WIDTH;
  const left = narrow ? NARROW.margin : MARGIN.left;
  const text = narrow ? NARROW.font.text : FONT.text;
  const title = narrow ? NARROW.font.title : FONT.title;
  const line = narrow ? NARROW.line : LINE;
  let top = 0;
  const body: string[] = [];
  for (const panel of panels) {
    const drawn = narrow ? narrowPanelSvg(panel, top) : panelSvg(panel, top);
    body.push(drawn.svg);
    top += drawn.height + 12;
  }
  const captionLines = captions.flatMap((caption) => wrap(caption, width - 2 * left, text));
  const captionSvg = captionLines.map((caption, i) =>
    `<text x="${left}" y="${top + 12 + i * line}" class="caption">${escape(caption)}</text>`
  );
  const height = Math.ceil(top + 12 + (captionLines.length - 1) * line + 10);
  // Each form styles the classes it draws.
  const bars = narrow
    ? `.value-h { font-size: ${text}px; fill: #222; dominant-baseline: central; }
.group-name { font-size: ${text}px; font-weight: 600; fill: #333; }`
    : `.value { font-size: ${text}px; dominant-baseline: central; }
.group { font-size: ${text}px; fill: #333; text-anchor: middle; }`;
  // Generated: deno fmt leaves it as drawn.
  return `<!-- deno-fmt-ignore-file -->
<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif">
<style>
.title { font-size: ${title}px; font-weight: 600; fill: #222; }
${bars}
.legend { font-size: ${text}px; fill: #333; }
.axis { stroke: #888; }
.ref { stroke: ${REF_COLOR}; stroke-width: 1.5; stroke-dasharray: 5 4; }
.caption { font-size: ${text}px; fill: #555; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
${body.join("\n")}
${captionSvg.join("\n")}
</svg>
`;
}
