// A run's tables, in Markdown: printed at the end of the run and written next to its results
// file. Tables are padded as `deno fmt` writes them, so that one copied into the docs'
// Benchmarks page passes its check.
import { ADAPTER_LABELS, type AdapterName } from "./adapters.ts";
import { serverKind } from "./database.ts";
import { variantLabel } from "./http-level.ts";
import { type BenchOptions, opsAt } from "./options.ts";
import { type PairRow, round3, type Row, type Summary, type Target } from "./summary.ts";

/** What a results file holds, of what the tables show. */
export interface Results {
  date: string;
  machine: { cpu: string; memoryGiB: number; node: string; server: string };
  options: Omit<BenchOptions, "mysqlUrl">;
  targets: Target[];
  summary: Summary & { bufferPool?: { before: number; during: number } };
}

/** A table: its header's cells separated by "|", a row of cells per item; none without items. */
function table<R>(header: string, items: R[], cells: (item: R) => (string | number)[]): string {
  if (items.length === 0) return "";
  const text = [header.split("|"), ...items.map((item) => cells(item).map(String))];
  const widths = text[0]!.map((_, i) => Math.max(1, ...text.map((row) => row[i]?.length ?? 0)));
  const line = (row: string[]) =>
    `| ${widths.map((w, i) => (row[i] ?? "").padEnd(w)).join(" | ")} |`;
  return [text[0]!, widths.map((w) => "-".repeat(w)), ...text.slice(1)].map(line).join("\n");
}

/** Two stores (or tables) op by op: `names` says which is which ("a / b"), `ratio` heads b/a. */
const pairs = (rows: PairRow[], names: string, ratio: string, labelled = false) =>
  table(`${labelled ? "compared|" : ""}op|c|ops/s ${names}|${ratio}|p50 ms ${names}`, rows, (r) => [
    ...(labelled ? [r.label] : []),
    ...[r.base.op, r.base.concurrency, `${r.base.opsPerSecond} / ${r.other.opsPerSecond}`],
    ...[r.ratio, `${r.base.p50} / ${r.other.p50}`],
  ]);

/** This store's ratio to the row's store: none on its own row. */
const oursOver = (r: Row) => r.subject === "ours" ? "" : r.oursOver ?? "";

export function report({ date, machine, options: o, summary: s, targets }: Results): string {
  const version = /^\d+(\.\d+)*/.exec(machine.server)?.[0] ?? machine.server;
  const server = `${serverKind(machine.server) === "mariadb" ? "MariaDB" : "MySQL"} ${version}`;
  const mb = (bytes = 0) => `${Math.round(bytes / 2 ** 20)} MB`;
  const { before, during } = s.bufferPool ?? {};
  const pool = during === before
    ? `the server's own ${mb(before)}`
    : `${mb(during)} (the server's own ${mb(before)}, restored after)`;
  const about = [
    `${server} (\`${machine.server}\`), ${machine.cpu}, ${machine.memoryGiB} GiB, Node ` +
    `${machine.node}, ${date.slice(0, 10)}; ${o.rounds} interleaved rounds`,
    s.store.length && `store level: ${o.concurrency.map((c) => `${opsAt(o, c)} at c${c}`)} ` +
      `operations per store and operation, ${o.sessions} stored sessions of ~${o.payload} bytes`,
    s.http.length && `HTTP: Express 5 + express-session, autocannon with ${o.connections} ` +
      `connections, ${o.duration} s per store and scenario`,
    s.scale.length && `scale: this store with \`userId\` (4 sessions per user) on ` +
      `${o.sessions} and ${o.scaleSessions} sessions, InnoDB's buffer pool ${pool}`,
  ];
  const parts = [
    `${about.filter(Boolean).join("; ")}. Figures are medians over rounds; a ratio is the ` +
    "median of the per-round ratios (ours/x: this store's ops/s over that store's); CPU: the " +
    "Node process's time per operation.",
  ];
  const section = (heading: string, body: string) => body && parts.push(`### ${heading}`, body);
  const met = (t: Target) => t.met ? "yes" : "**no**";
  section("Targets", table("target|reached|met", targets, (t) => [t.target, t.reached, met(t)]));
  section(
    "Store level",
    table("op|c|store|ops/s|p50 ms|p99 ms|CPU µs/op|errors|wrong|ours/x", s.store, (r) => [
      ...[r.op, r.concurrency, ADAPTER_LABELS[r.subject as AdapterName], r.opsPerSecond],
      ...[r.p50, r.p99, r.cpuPerOp ?? "", r.errors, r.wrong, oursOver(r)],
    ]),
  );
  // plain: the procedure's very statement, sent by the hand-written store; CALL: the procedure.
  section(`What a CALL costs on ${server}`, pairs(s.callCost, "plain / CALL", "CALL/plain"));
  const ownerCost = pairs(s.ownerCost, "without / with", "with/without", true);
  section(`The owner column's cost on set on ${server}`, ownerCost);
  section(
    "HTTP level",
    table("scenario|store|req/s|p50 ms|p99 ms|errors|non-200|ours/x", s.http, (r) => [
      ...[r.op, variantLabel(r.subject), r.opsPerSecond, r.p50, r.p99],
      ...[r.errors, r.wrong, oursOver(r)],
    ]),
  );
  section(
    "Memory: peak RSS of each HTTP server process over the whole HTTP run",
    table("store|peak RSS MB", Object.entries(s.memory), ([key, rss]) => [variantLabel(key), rss]),
  );
  const scale =
    "op|c|ops/s small / large|ops/s large/small|p50 / p99 ms small, large|p50 large/small";
  section(
    "Scale",
    table(scale, s.scale, ({ base, other, ratio, p50Ratio }) => [
      ...[base.op, base.concurrency, `${base.opsPerSecond} / ${other.opsPerSecond}`, ratio],
      ...[`${base.p50} / ${base.p99}, ${other.p50} / ${other.p99}`, p50Ratio],
    ]),
  );
  const { deleted, sweepSeconds, concurrency, idle, duringSweep } = s.sweep ?? {};
  const gets = idle && duringSweep
    ? [["idle", idle], ["during the sweep", duringSweep]] as const
    : [];
  section(
    `Sweep: ${deleted} expired rows deleted by \`clearExpired()\` in ` +
      `${sweepSeconds?.toFixed(1)} s, ${concurrency} concurrent gets on live sessions`,
    table("gets|operations|p50 ms|p99 ms", [...gets], ([name, g]) => [
      ...[name, g.operations, round3(g.p50), round3(g.p99)],
    ]),
  );
  return `${parts.join("\n\n")}\n`;
}
