import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { compare_campaigns, kaplan_meier, km_median, log_rank, read_results_file, ResultsFileError, type Observation, type SeedResult } from "@ksim/campaign";

const hung = (t: number): Observation => ({ t_ns: t, event: true });
const cens = (t: number): Observation => ({ t_ns: t, event: false });

/**
 * Freireich et al. (1963), remission times in weeks of 42 leukaemia patients,
 * the worked example of Kleinbaum & Klein, "Survival Analysis: A
 * Self-Learning Text", chapters 2 and 3 (also R's `MASS::gehan`).
 */
const SIX_MP: Observation[] = [
  ...[6, 6, 6, 7, 10, 13, 16, 22, 23].map(hung),
  ...[6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35].map(cens),
];
const PLACEBO: Observation[] = [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23].map(hung);

describe("Kaplan–Meier on the textbook's 6-MP group", () => {
  const points = kaplan_meier(SIX_MP);
  const steps = points.filter((p) => p.events > 0);

  it("steps where the book's table does, with its survival and Greenwood standard errors", () => {
    // time, at risk, hangs, S(t), std. err. (the book's Table; R's summary(survfit) prints the same)
    const book: [number, number, number, number, number][] = [
      [6, 21, 3, 0.8571, 0.0764],
      [7, 17, 1, 0.8067, 0.0869],
      [10, 15, 1, 0.7529, 0.0963],
      [13, 12, 1, 0.6902, 0.1068],
      [16, 11, 1, 0.6275, 0.1141],
      [22, 7, 1, 0.5378, 0.1282],
      [23, 6, 1, 0.4482, 0.1346],
    ];
    expect(steps.map((p) => [p.t_ns, p.at_risk, p.events])).toEqual(book.map(([t, n, d]) => [t, n, d]));
    steps.forEach((p, i) => {
      expect(p.survival).toBeCloseTo(book[i]![3], 4);
      expect(p.std_err).toBeCloseTo(book[i]![4], 4);
    });
  });

  it("counts a seed censored at a hang time as still at risk of that hang (hangs first)", () => {
    // At week 6: three relapses and one censored patient; all 21 were at risk.
    const six = points.find((p) => p.t_ns === 6)!;
    expect(six).toMatchObject({ at_risk: 21, events: 3, censored: 1 });
    expect(points.find((p) => p.t_ns === 9)).toMatchObject({ at_risk: 16, events: 0, censored: 1 });
    expect(points[0]).toEqual({ t_ns: 0, survival: 1, at_risk: 21, events: 0, censored: 0, std_err: 0 });
  });

  it("has the book's medians: 23 weeks on 6-MP, 8 on placebo", () => {
    expect(km_median(points)).toBe(23);
    expect(km_median(kaplan_meier(PLACEBO))).toBe(8);
  });
});

describe("the log-rank test", () => {
  it("gives the book's numbers for 6-MP against placebo: O 9 and 21, E 19.25 and 10.75, chi2 16.79, p 4.2e-5", () => {
    const r = log_rank(SIX_MP, PLACEBO);
    expect(r.observed).toEqual([9, 21]);
    expect(r.expected[0]).toBeCloseTo(19.25, 2);
    expect(r.expected[1]).toBeCloseTo(10.75, 2);
    expect(r.variance).toBeCloseTo(6.257, 3);
    expect(r.chi2).toBeCloseTo(16.79, 2);
    expect(r.p).toBeGreaterThan(4.1e-5);
    expect(r.p).toBeLessThan(4.3e-5);
    expect(r.df).toBe(1);
  });

  it("is symmetric in its two samples", () => {
    const ab = log_rank(SIX_MP, PLACEBO);
    const ba = log_rank(PLACEBO, SIX_MP);
    expect(ba.chi2).toBeCloseTo(ab.chi2, 12);
    expect(ba.observed).toEqual([21, 9]);
  });

  it("matches a hand computation with no hang on one side", () => {
    // t=1: n=4 (2+2), d=1: E=1/2, V=1/4. t=2: n=3 (1+2), d=1: E=1/3, V=2/9.
    // O-E = 2-5/6 = 7/6, V = 17/36: chi2 = (49/36)/(17/36) = 49/17.
    const r = log_rank([hung(1), hung(2)], [cens(3), cens(3)]);
    expect(r.expected[0]).toBeCloseTo(5 / 6, 12);
    expect(r.variance).toBeCloseTo(17 / 36, 12);
    expect(r.chi2).toBeCloseTo(49 / 17, 12);
    // P(chi-square(1) >= 49/17) = erfc(sqrt(49/34)) = 0.0896 (tables: chi2 2.706 gives 0.10, 3.841 gives 0.05).
    expect(r.p).toBeCloseTo(0.0896, 3);
  });

  it("gives chi2 0 and p 1 for two identical campaigns", () => {
    const r = log_rank(SIX_MP, [...SIX_MP]);
    expect(r.chi2).toBeCloseTo(0, 12);
    expect(r.p).toBeCloseTo(1, 9);
  });

  it("gives chi2 0 and p 1 when neither side hung", () => {
    const r = log_rank([cens(5), cens(5)], [cens(5)]);
    expect(r).toMatchObject({ chi2: 0, p: 1, observed: [0, 0], variance: 0 });
  });
});

describe("edge cases of the curve", () => {
  it("stays at 1 with no median when nothing hung", () => {
    const points = kaplan_meier([cens(10), cens(10), cens(7)]);
    expect(points.every((p) => p.survival === 1 && p.std_err === 0)).toBe(true);
    expect(km_median(points)).toBeNull();
  });

  it("drops to 0 when every seed hung, with a standard error of 0 there", () => {
    const points = kaplan_meier([hung(3), hung(1), hung(2), hung(2)]);
    expect(points.map((p) => [p.t_ns, p.survival])).toEqual([[0, 1], [1, 0.75], [2, 0.25], [3, 0]]);
    expect(points.at(-1)!.std_err).toBe(0);
    expect(km_median(points)).toBe(2);
  });

  it("takes the first time S(t) reaches exactly one half as the median", () => {
    expect(km_median(kaplan_meier([hung(1), hung(2), cens(3), cens(3)]))).toBe(2);
  });
});

describe("compare_campaigns and results files", () => {
  const dir = mkdtempSync(join(tmpdir(), "ksim-compare-test-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const H = 3600e9;
  const seed = (s: number, outcome: SeedResult["outcome"], simulated_ns: number, detected_at_ns: number | null = null): SeedResult => ({
    seed: s,
    outcome,
    simulated_ns,
    detected_at_ns,
    events: 1,
    wall_ms: 1,
  });

  it("censors ok and bug seeds at their duration, leaves error seeds out and counts every outcome", () => {
    const a = [seed(1, "hang", 2 * H, 2 * H), seed(2, "hang", 4 * H, 4 * H), seed(3, "bug", 5 * H), seed(4, "ok", 12 * H), seed(5, "error", 0)];
    const b = [seed(1, "ok", 12 * H), seed(2, "ok", 12 * H)];
    const r = compare_campaigns("9.9.9", { file: "a.jsonl", results: a }, { file: "b.jsonl", results: b });
    expect(r.a).toEqual({ file: "a.jsonl", runs: 5, ok: 1, hang: 2, bug: 1, error: 1, seeds: 4, max_censored_ns: 12 * H });
    expect(r.b).toMatchObject({ runs: 2, ok: 2, hang: 0, seeds: 2 });
    expect(r.hang_fraction).toEqual([0.5, 0]);
    // S: 3/4 after 2 h, 1/2 after 4 h (the bug seed is censored at 5 h, after it).
    expect(r.curves[0].points.map((p) => [p.t_ns, p.survival])).toEqual([[0, 1], [2 * H, 0.75], [4 * H, 0.5], [5 * H, 0.5], [12 * H, 0.5]]);
    expect(r.median_time_to_hang_ns).toEqual([4 * H, null]);
    expect(r.logrank.observed).toEqual([2, 0]);
    expect(r.ksim).toBe("9.9.9");
  });

  it("reads a stress --out file and skips only an unterminated, torn last line", () => {
    const f = join(dir, "ok.jsonl");
    writeFileSync(f, `${JSON.stringify(seed(1, "hang", H, H))}\n\n${JSON.stringify(seed(2, "ok", H))}\n{"seed":3,"outc`);
    const torn: number[] = [];
    expect(read_results_file(f, (n) => torn.push(n)).map((r) => r.seed)).toEqual([1, 2]);
    expect(torn).toEqual([4]);
  });

  it.each([
    ["not JSON in the middle", `{"seed":1\n${JSON.stringify(seed(2, "ok", H))}\n`, "bad.jsonl:1: not JSON"],
    ["a bad outcome", `${JSON.stringify({ ...seed(1, "ok", H), outcome: "fine" })}\n`, 'bad.jsonl:1: outcome: expected ok, hang, bug or error, got "fine"'],
    ["a hang without its time", `${JSON.stringify(seed(1, "ok", H))}\n${JSON.stringify(seed(2, "hang", H))}\n`, "bad.jsonl:2: detected_at_ns: a hang needs its detection time"],
    ["a seed twice", `${JSON.stringify(seed(1, "ok", H))}\n${JSON.stringify(seed(1, "ok", H))}\n`, "bad.jsonl:2: seed 1 again (first on line 1)"],
    ["a negative duration", `${JSON.stringify(seed(1, "ok", -5))}\n`, "bad.jsonl:1: simulated_ns: expected a whole number of ns >= 0, got -5"],
    ["an array", "[1,2]\n", "bad.jsonl:1: expected a JSON object"],
    ["nothing", "\n", "bad.jsonl: no results"],
  ])("names the file and line of %s", (_what, text, message) => {
    const f = join(dir, "bad.jsonl");
    writeFileSync(f, text);
    expect(() => read_results_file(f)).toThrow(ResultsFileError);
    expect(() => read_results_file(f)).toThrow(message);
  });

  it("names a file that cannot be read", () => {
    expect(() => read_results_file(join(dir, "missing.jsonl"))).toThrow(/missing\.jsonl: cannot read/);
  });
});
