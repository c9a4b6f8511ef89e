/**
 * `ksim compare A.jsonl B.jsonl`: two campaigns' time to hang side by side
 * (CONTRACT.md §5). The document defined here is what `--json` prints; the
 * text table and the HTML page read it. @ksim/campaign computes it.
 */

/** One step of a Kaplan–Meier curve: a time at which some seed hung or was censored. */
export interface SurvivalPoint {
  t_ns: number;
  /** S(t): the estimated fraction of runs not yet hung at t (after the hangs at t). */
  survival: number;
  /** Seeds still running (neither hung nor censored) just before t. */
  at_risk: number;
  /** Seeds that hung at t. */
  events: number;
  /** Seeds censored at t: they stopped without a hang (ok at the end of their duration, or a BUG). */
  censored: number;
  /** Greenwood's standard error of S(t); 0 where S(t) is 1 or 0. */
  std_err: number;
}

/** One campaign of the two: counts by outcome, as read from its results file. */
export interface CompareSide {
  /** The results file, as given on the command line. */
  file: string;
  /** Lines (seeds) in the file. */
  runs: number;
  ok: number;
  hang: number;
  bug: number;
  error: number;
  /** Seeds in the survival analysis: every run but those with outcome error. */
  seeds: number;
  /** The longest simulated duration of a run that did not hang (the end of the curve's data). */
  max_censored_ns: number | null;
}

/** Kaplan–Meier survival of one side: the first point is t = 0, S = 1. */
export interface SurvivalCurve {
  side: "a" | "b";
  points: SurvivalPoint[];
}

/** The log-rank (Mantel–Cox) test of equal hazards, chi-square with 1 degree of freedom. */
export interface LogRank {
  chi2: number;
  /** P(X >= chi2) for X chi-square with 1 degree of freedom. */
  p: number;
  df: 1;
  /** Hangs seen on each side. */
  observed: [number, number];
  /** Hangs each side would have had if both shared one hazard. */
  expected: [number, number];
  /** The hypergeometric variance of observed[0] - expected[0]. */
  variance: number;
}

/** The `ksim compare --json` document. */
export interface CompareReport {
  ksim: string;
  a: CompareSide;
  b: CompareSide;
  /** The first time S(t) <= 0.5; null when survival never drops to one half. */
  median_time_to_hang_ns: [number | null, number | null];
  /** Hangs over seeds in the analysis (error runs excluded). */
  hang_fraction: [number, number];
  logrank: LogRank;
  curves: [SurvivalCurve, SurvivalCurve];
}
