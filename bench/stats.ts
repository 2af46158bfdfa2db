// Summaries of latency samples and of per-round figures.

/** The q-quantile (0..1) of sorted values, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length % 2 === 1) return sorted[middle] as number;
  return ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export interface LatencySummary {
  /** Operations per second over the batch's wall time. */
  opsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
}

/** Latencies in ms (sorted in place) and the wall time of the batch in ms. */
export function summarize(latencies: Float64Array, wallMs: number): LatencySummary {
  latencies.sort();
  return {
    opsPerSecond: latencies.length / (wallMs / 1000),
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    max: quantile(latencies, 1),
  };
}

/** Rounds to 3 significant digits, for tables and JSON. */
export function round3(value: number): number {
  if (!Number.isFinite(value) || value === 0) return value;
  return Number(value.toPrecision(3));
}
