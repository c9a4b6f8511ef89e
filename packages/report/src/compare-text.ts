/**
 * `ksim compare`'s text table (the HTML page is compare-html.ts): the two
 * campaigns' outcomes, hang fractions, median times to hang and the
 * log-rank test, with a one-line verdict.
 */
import type { CompareReport, CompareSide, LogRank } from "./compare.js";

const hours = (ns: number): string => `${(ns / 3.6e12).toFixed(2)} h`;
const pct = (f: number): string => `${(100 * f).toFixed(1)}%`;

/** A p value as a person reads it; below what 1 - CDF resolves in doubles, a bound. */
export function fmt_p(p: number): string {
  if (p < 1e-15) return "< 1e-15";
  return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
}

/** The conventional reading of a p value, naming the side that hangs sooner. */
export function compare_verdict(r: CompareReport): string {
  const lr = r.logrank;
  if (lr.observed[0] + lr.observed[1] === 0) return "no seed hung in either campaign: nothing to compare";
  const level = lr.p < 0.001 ? "p < 0.001" : lr.p < 0.01 ? "p < 0.01" : lr.p < 0.05 ? "p < 0.05" : null;
  if (level === null) return `no significant difference in time to hang (p = ${fmt_p(lr.p)} >= 0.05)`;
  // The side with more hangs than a shared hazard would give hangs sooner.
  const [sooner, later] = lr.observed[0] > lr.expected[0] ? ["A", "B"] : ["B", "A"];
  return `${sooner} hangs sooner than ${later} (${level})`;
}

function first_hang(r: CompareReport, i: 0 | 1): number | null {
  return r.curves[i].points.find((p) => p.events > 0)?.t_ns ?? null;
}

function rows(r: CompareReport): [string, string, string][] {
  const both = (f: (s: CompareSide) => string): [string, string] => [f(r.a), f(r.b)];
  const time = (ns: number | null) => (ns === null ? "-" : hours(ns));
  return [
    ["runs", ...both((s) => String(s.runs))],
    ["hang", ...both((s) => String(s.hang))],
    ["ok (censored)", ...both((s) => String(s.ok))],
    ["bug (censored)", ...both((s) => String(s.bug))],
    ["error (left out)", ...both((s) => String(s.error))],
    ["hang fraction", pct(r.hang_fraction[0]), pct(r.hang_fraction[1])],
    ["first hang", time(first_hang(r, 0)), time(first_hang(r, 1))],
    ["median time to hang", time(r.median_time_to_hang_ns[0]), time(r.median_time_to_hang_ns[1])],
    ["survival at the end", pct(r.curves[0].points.at(-1)!.survival), pct(r.curves[1].points.at(-1)!.survival)],
    ["hangs observed", String(r.logrank.observed[0]), String(r.logrank.observed[1])],
    ["expected if alike", r.logrank.expected[0].toFixed(2), r.logrank.expected[1].toFixed(2)],
  ];
}

function logrank_line(lr: LogRank): string {
  return `log-rank test: chi2 = ${lr.chi2.toFixed(2)} on 1 degree of freedom, p = ${fmt_p(lr.p)}`;
}

/** The comparison as a table: A and B in columns, then the test and the verdict. */
export function format_compare_text(r: CompareReport): string {
  const table = rows(r);
  const w0 = Math.max(...table.map((t) => t[0].length));
  const w = Math.max(8, ...table.flatMap((t) => [t[1].length, t[2].length]));
  const line = (t: [string, string, string]) => `${t[0].padEnd(w0)}  ${t[1].padStart(w)}  ${t[2].padStart(w)}`;
  const out = [
    `A: ${r.a.file}`,
    `B: ${r.b.file}`,
    "",
    line(["", "A", "B"]),
    ...table.map(line),
    "",
    logrank_line(r.logrank),
    compare_verdict(r),
  ];
  return `${out.join("\n")}\n`;
}
