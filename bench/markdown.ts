// The results as Markdown tables, written next to the JSON for the docs' Benchmarks page.
import { ADAPTER_LABELS } from "./adapters.ts";
import { variantLabel } from "./http-level.ts";
import type { BenchOptions } from "./options.ts";
import type { BufferPool } from "./buffer-pool.ts";
import type { SweepResult } from "./scale.ts";
import { round3 } from "./stats.ts";
import type { HttpRow, ScaleRow, StoreRow, Target } from "./summary.ts";

function table(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A run's summaries, as the results file keeps them. */
export interface ResultsSummary {
  store: StoreRow[];
  http: HttpRow[];
  scale: ScaleRow[];
  sweep?: SweepResult;
  bufferPool?: BufferPool;
  memory: Record<string, number>;
}

export function resultsMarkdown(
  options: Omit<BenchOptions, "mysqlUrl">,
  machine: string,
  results: ResultsSummary & { targets: Target[] },
): string {
  const parts = [`Machine: ${machine}.`];
  if (results.targets.length > 0) {
    parts.push(
      "### Targets\n\n" + table(
        ["target", "reached", "met"],
        results.targets.map((t) => [t.target, t.reached, t.met ? "yes" : "**no**"]),
      ),
    );
  }
  if (results.store.length > 0) {
    parts.push(
      `### Store level\n\n${options.rounds} rounds x ${options.ops} operations per store, ` +
        `operation and concurrency; ${options.sessions} stored sessions of ~${options.payload} ` +
        "bytes. ops/s, p50 and p99 are medians over rounds; CPU is the Node process's time per " +
        "operation; ours/x is the median of the per-round ratios of this store's ops/s to " +
        "that store's.\n\n" + table(
          [
            "op",
            "c",
            "store",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "CPU µs/op",
            "errors",
            "wrong",
            "ours/x",
          ],
          results.store.map((r) => [
            r.op,
            r.concurrency,
            ADAPTER_LABELS[r.adapter],
            r.opsPerSecond,
            r.p50,
            r.p99,
            r.cpuPerOp,
            r.errors,
            r.wrong,
            r.adapter === "ours" ? "" : r.oursOver,
          ]),
        ),
    );
  }
  if (results.http.length > 0) {
    parts.push(
      `### HTTP level\n\nExpress 5 + express-session, autocannon with ${options.connections} ` +
        `connections, ${options.rounds} rounds x ${options.duration} s per store and scenario; ` +
        "medians over rounds.\n\n" + table(
          ["scenario", "store", "req/s", "p50 ms", "p99 ms", "errors", "non-200", "ours/x"],
          results.http.map((r) => [
            r.scenario,
            variantLabel(r.variant),
            r.requestsPerSecond,
            r.p50,
            r.p99,
            r.errors,
            r.wrong,
            r.variant === "ours" ? "" : r.oursOver,
          ]),
        ),
    );
  }
  if (Object.keys(results.memory).length > 0) {
    parts.push(
      "### Memory\n\nPeak RSS of each HTTP server process over the whole HTTP run.\n\n" +
        table(
          ["store", "peak RSS MB"],
          Object.entries(results.memory).map(([variant, mb]) => [variantLabel(variant), mb]),
        ),
    );
  }
  if (results.scale.length > 0) {
    parts.push(
      "### Scale\n\nThis store on a small and a large table, interleaved; latency in ms. " +
        bufferPoolSentence(results.bufferPool) + "\n\n" +
        table(
          ["op", "c", "small table p50 / p99", "large table p50 / p99", "p50 large/small"],
          results.scale.map((r) => [
            r.op,
            r.concurrency,
            `${r.smallRows} rows: ${r.smallP50} / ${r.smallP99}`,
            `${r.largeRows} rows: ${r.largeP50} / ${r.largeP99}`,
            r.p50Ratio,
          ]),
        ),
    );
  }
  if (results.sweep) {
    const s = results.sweep;
    parts.push(
      `### Sweep\n\n${s.deleted} expired rows deleted by \`clearExpired()\` in ` +
        `${s.sweepSeconds.toFixed(1)} s while ${s.concurrency} concurrent gets ran on live ` +
        "sessions of the same table.\n\n" + table(
          ["gets", "operations", "p50 ms", "p99 ms"],
          [
            ["idle", s.idle.operations, round3(s.idle.p50), round3(s.idle.p99)],
            [
              "during the sweep",
              s.duringSweep.operations,
              round3(s.duringSweep.p50),
              round3(s.duringSweep.p99),
            ],
          ],
        ),
    );
  }
  return `${parts.join("\n\n")}\n`;
}

/** How the scale phase's server was set up, in a sentence. */
function bufferPoolSentence(pool: BufferPool | undefined): string {
  if (!pool) return "";
  const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
  return pool.during === pool.before
    ? `InnoDB's buffer pool: the server's own ${mb(pool.before)}.`
    : `InnoDB's buffer pool: ${mb(pool.during)} for this phase (the server's own ` +
      `${mb(pool.before)}, restored after), so that the tables fit in memory as on a server ` +
      "sized for its sessions.";
}
