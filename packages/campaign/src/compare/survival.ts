/**
 * Kaplan–Meier survival and the log-rank test, for the time to hang of two
 * campaigns. A seed that hung is an event at its detection time; a seed that
 * stopped without a hang is right-censored at its simulated duration.
 */
import { createRequire } from "node:module";
import type ChisquareCdf from "@stdlib/stats-base-dists-chisquare-cdf";
import type { LogRank, SurvivalPoint } from "@ksim/report";

/**
 * The chi-square CDF, required when a comparison first needs it: its package
 * is some hundred small files, and every worker thread of a campaign imports
 * this package without ever comparing.
 */
function chisquare_cdf(x: number, k: number): number {
  const cdf = createRequire(import.meta.url)("@stdlib/stats-base-dists-chisquare-cdf") as typeof ChisquareCdf;
  return cdf(x, k);
}

/** One seed in the analysis: when it hung, or when it was last seen running. */
export interface Observation {
  t_ns: number;
  /** true: hung at t_ns; false: censored at t_ns. */
  event: boolean;
}

/** The distinct times of the observations, ascending, with the hangs and censorings at each. */
interface Tally {
  t_ns: number;
  events: number;
  censored: number;
}

function tally(obs: readonly Observation[]): Tally[] {
  const by_time = new Map<number, Tally>();
  for (const o of obs) {
    if (!(Number.isFinite(o.t_ns) && o.t_ns >= 0)) throw new RangeError(`survival: a time must be finite and >= 0, got ${o.t_ns}`);
    const row = by_time.get(o.t_ns) ?? { t_ns: o.t_ns, events: 0, censored: 0 };
    if (o.event) row.events++;
    else row.censored++;
    by_time.set(o.t_ns, row);
  }
  return [...by_time.values()].sort((x, y) => x.t_ns - y.t_ns);
}

/**
 * The Kaplan–Meier product-limit estimate. At a time with both hangs and
 * censorings the hangs come first: a seed censored at t was still at risk
 * of the hangs at t. The first point is (0, 1).
 */
export function kaplan_meier(obs: readonly Observation[]): SurvivalPoint[] {
  let at_risk = obs.length;
  let survival = 1;
  let greenwood = 0;
  const points: SurvivalPoint[] = [{ t_ns: 0, survival: 1, at_risk, events: 0, censored: 0, std_err: 0 }];
  for (const row of tally(obs)) {
    if (row.events > 0) {
      survival *= 1 - row.events / at_risk;
      // Greenwood's sum is infinite once every seed at risk hung: S is 0 there, and so is its error.
      greenwood = row.events < at_risk ? greenwood + row.events / (at_risk * (at_risk - row.events)) : greenwood;
    }
    const std_err = survival > 0 && survival < 1 ? survival * Math.sqrt(greenwood) : 0;
    if (row.t_ns === 0) points[0] = { t_ns: 0, survival, at_risk, events: row.events, censored: row.censored, std_err };
    else points.push({ t_ns: row.t_ns, survival, at_risk, events: row.events, censored: row.censored, std_err });
    at_risk -= row.events + row.censored;
  }
  if (at_risk !== 0) throw new Error(`kaplan_meier: ${at_risk} seeds left at risk after the last time`);
  return points;
}

/** The median time to hang: the first time S(t) <= 0.5, or null when the curve never gets there. */
export function km_median(points: readonly SurvivalPoint[]): number | null {
  for (const p of points) if (p.events > 0 && p.survival <= 0.5) return p.t_ns;
  return null;
}

/**
 * The log-rank test of two samples: at each time some seed hung, the hangs
 * of sample a against those expected if both shared one hazard, with the
 * hypergeometric variance; chi2 = (O - E)^2 / V on 1 degree of freedom.
 */
export function log_rank(a: readonly Observation[], b: readonly Observation[]): LogRank {
  const rows = new Map<number, { a: Tally; b: Tally }>();
  const empty = (t_ns: number): Tally => ({ t_ns, events: 0, censored: 0 });
  for (const [side, obs] of [["a", a], ["b", b]] as const) {
    for (const r of tally(obs)) {
      const row = rows.get(r.t_ns) ?? { a: empty(r.t_ns), b: empty(r.t_ns) };
      row[side] = r;
      rows.set(r.t_ns, row);
    }
  }
  let n1 = a.length;
  let n2 = b.length;
  let observed_a = 0;
  let expected_a = 0;
  let variance = 0;
  for (const t of [...rows.keys()].sort((x, y) => x - y)) {
    const row = rows.get(t)!;
    const n = n1 + n2;
    const d = row.a.events + row.b.events;
    if (d > 0) {
      observed_a += row.a.events;
      expected_a += (d * n1) / n;
      if (n > 1) variance += (d * (n1 / n) * (n2 / n) * (n - d)) / (n - 1);
    }
    // Censored seeds leave after the hangs at their own time.
    n1 -= row.a.events + row.a.censored;
    n2 -= row.b.events + row.b.censored;
  }
  const observed_b = b.reduce((s, o) => s + (o.event ? 1 : 0), 0);
  const expected_b = observed_a + observed_b - expected_a;
  const chi2 = variance > 0 ? (observed_a - expected_a) ** 2 / variance : 0;
  return { chi2, p: chi2_survival(chi2), df: 1, observed: [observed_a, observed_b], expected: [expected_a, expected_b], variance };
}

/** P(X >= x) for X chi-square with 1 degree of freedom. */
export function chi2_survival(x: number): number {
  return Math.min(1, Math.max(0, 1 - chisquare_cdf(x, 1)));
}
