/**
 * `ksim compare`: two campaigns' results files to one CompareReport
 * (CONTRACT.md §5). Time to hang is when khungtaskd (or the watchdog)
 * reported the hang; a seed that stopped without one is right-censored at
 * its simulated duration: an ok run at the end of its duration, and a bug run
 * where the BUG ended it (it did not hang for that long, and was not seen
 * after). A seed with outcome error (ksim itself failed) says nothing about
 * the kernel: it is left out of the analysis and counted.
 */
import { readFileSync } from "node:fs";
import type { CompareReport, CompareSide, SurvivalCurve } from "@ksim/report";
import type { SeedResult } from "../stress/types.js";
import { kaplan_meier, km_median, log_rank, type Observation } from "./survival.js";

/** A results file that cannot be read or has a line that is not a seed's result: `file:line: why`. */
export class ResultsFileError extends Error {
  override name = "ResultsFileError";
}

/** One campaign: where its results came from, and the results. */
export interface CampaignResults {
  file: string;
  results: readonly SeedResult[];
}

const OUTCOMES = new Set(["ok", "hang", "bug", "error"]);

function is_time(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Why one parsed line is not a SeedResult, or null when it is one. */
function line_problem(r: unknown): string | null {
  if (typeof r !== "object" || r === null || Array.isArray(r)) return "expected a JSON object (one seed's result)";
  const o = r as Record<string, unknown>;
  if (!is_time(o["seed"])) return `seed: expected a whole number >= 0, got ${JSON.stringify(o["seed"])}`;
  if (typeof o["outcome"] !== "string" || !OUTCOMES.has(o["outcome"])) return `outcome: expected ok, hang, bug or error, got ${JSON.stringify(o["outcome"])}`;
  if (!is_time(o["simulated_ns"])) return `simulated_ns: expected a whole number of ns >= 0, got ${JSON.stringify(o["simulated_ns"])}`;
  const detected = o["detected_at_ns"];
  if (o["outcome"] === "hang" && !is_time(detected)) return `detected_at_ns: a hang needs its detection time in ns, got ${JSON.stringify(detected)}`;
  if (detected !== null && detected !== undefined && !is_time(detected)) return `detected_at_ns: expected ns or null, got ${JSON.stringify(detected)}`;
  return null;
}

/**
 * The results of a `ksim stress --out FILE.jsonl` file, strictly: every line
 * must be one seed's result, each seed once. Only an unterminated last line
 * that does not parse is skipped (an interrupted write, as `--resume` treats
 * it); `on_torn` hears of it.
 */
export function read_results_file(file: string, on_torn?: (line: number) => void): SeedResult[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new ResultsFileError(`${file}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  const lines = text.split("\n");
  const out: SeedResult[] = [];
  const seen = new Map<number, number>();
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const n = i + 1;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      if (i === lines.length - 1) return on_torn?.(n);
      throw new ResultsFileError(`${file}:${n}: not JSON: ${line.length > 60 ? `${line.slice(0, 60)}...` : line}`);
    }
    const why = line_problem(r);
    if (why) throw new ResultsFileError(`${file}:${n}: ${why}`);
    const s = r as SeedResult;
    const first = seen.get(s.seed);
    if (first !== undefined) throw new ResultsFileError(`${file}:${n}: seed ${s.seed} again (first on line ${first})`);
    seen.set(s.seed, n);
    out.push(s);
  });
  if (out.length === 0) throw new ResultsFileError(`${file}: no results (expected one JSON line per seed, as ksim stress --out writes)`);
  return out;
}

/** A seed as the survival analysis sees it; null for an error run, which is left out. */
export function observation(r: SeedResult): Observation | null {
  switch (r.outcome) {
    case "hang":
      return { t_ns: r.detected_at_ns ?? r.simulated_ns, event: true };
    case "ok":
    case "bug":
      return { t_ns: r.simulated_ns, event: false };
    case "error":
      return null;
  }
}

function side_summary(c: CampaignResults): CompareSide {
  const count = (o: string) => c.results.filter((r) => r.outcome === o).length;
  const censored = c.results.filter((r) => r.outcome === "ok" || r.outcome === "bug").map((r) => r.simulated_ns);
  return {
    file: c.file,
    runs: c.results.length,
    ok: count("ok"),
    hang: count("hang"),
    bug: count("bug"),
    error: count("error"),
    seeds: c.results.length - count("error"),
    max_censored_ns: censored.length > 0 ? Math.max(...censored) : null,
  };
}

function observations(c: CampaignResults): Observation[] {
  return c.results.map(observation).filter((o): o is Observation => o !== null);
}

/** The comparison of campaign a with campaign b: survival curves, medians, hang fractions, log-rank test. */
export function compare_campaigns(version: string, a: CampaignResults, b: CampaignResults): CompareReport {
  const oa = observations(a);
  const ob = observations(b);
  const curves: [SurvivalCurve, SurvivalCurve] = [
    { side: "a", points: kaplan_meier(oa) },
    { side: "b", points: kaplan_meier(ob) },
  ];
  const fraction = (obs: Observation[]) => (obs.length > 0 ? obs.filter((o) => o.event).length / obs.length : 0);
  return {
    ksim: version,
    a: side_summary(a),
    b: side_summary(b),
    median_time_to_hang_ns: [km_median(curves[0].points), km_median(curves[1].points)],
    hang_fraction: [fraction(oa), fraction(ob)],
    logrank: log_rank(oa, ob),
    curves,
  };
}
