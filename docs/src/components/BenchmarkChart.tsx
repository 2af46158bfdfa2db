import useBaseUrl from "@docusaurus/useBaseUrl";

/**
 * The benchmark chart in the form that fits the article column: the wide one (drawn 700 px wide,
 * its text 12 px) where the column shows it at 642 px or more, so that its text stays 11 px or
 * more; the narrow one (340 px wide, its bars lying down) where the column is narrower: a phone,
 * or a desktop window that squeezes the column between the sidebars. custom.css picks the one
 * to show by the column's width; the other, hidden and lazily loaded, is never fetched.
 */
export default function BenchmarkChart({ alt }: { alt: string }) {
  return (
    <div className="benchmark-chart">
      <img
        className="benchmark-chart__wide"
        src={useBaseUrl("/img/benchmark.svg")}
        alt={alt}
        loading="lazy"
      />
      <img
        className="benchmark-chart__narrow"
        src={useBaseUrl("/img/benchmark-narrow.svg")}
        alt={alt}
        loading="lazy"
      />
    </div>
  );
}
