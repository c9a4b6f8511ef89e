/**
 * `ksim compare` through the CLI entry: the table, the JSON document, bad
 * input, and the HTML page in headless Chromium (Debian's chromium, as
 * html.test.ts uses).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

const CHROMIUM = "/usr/bin/chromium";
const H = 3600e9;
const dir = mkdtempSync(join(tmpdir(), "ksim-compare-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Seeds 1..20 of `ksim stress seed-stress --seeds 1..20 --duration 12h` as released: seed, detected_at_ns (seeds 4 and 8 tie). */
const RELEASED: [number, number][] = [
  [1, 3727235168006], [2, 600950000000], [3, 1442950000000], [4, 2376000000000], [5, 720231106831],
  [6, 360119095867], [7, 3365978000000], [8, 2376000000000], [9, 3363982170370], [10, 2884188587234],
  [11, 961597040868], [12, 1920985202705], [13, 480951000000], [14, 648000000000], [15, 3672000000000],
  [16, 2042211936348], [17, 2043720814289], [18, 2283951000000], [19, 1200950000000], [20, 240000000000],
];

function write_jsonl(name: string, lines: readonly object[], tail = "\n"): string {
  const file = join(dir, name);
  writeFileSync(file, lines.map((l) => JSON.stringify(l)).join("\n") + tail);
  return file;
}

const released = (): object[] => RELEASED.map(([seed, t]) => ({ seed, outcome: "hang", simulated_ns: t, detected_at_ns: t, events: 1000, wall_ms: 10 }));
/** The patch: every seed ran its 12 h, but seed 7 ended in a BUG at 3 h and ksim failed on seed 9. */
const patched = (): object[] =>
  Array.from({ length: 20 }, (_, i) => {
    const seed = i + 1;
    if (seed === 7) return { seed, outcome: "bug", simulated_ns: 3 * H, detected_at_ns: null, events: 10, wall_ms: 1, bug: "BUG: x" };
    if (seed === 9) return { seed, outcome: "error", simulated_ns: 0, detected_at_ns: null, events: 0, wall_ms: 0, error: "worker died" };
    return { seed, outcome: "ok", simulated_ns: 12 * H, detected_at_ns: null, events: 10, wall_ms: 1 };
  });

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function ksim(...argv: string[]): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), exit: () => undefined });
  return { code, stdout, stderr };
}

describe("ksim compare", () => {
  const a = write_jsonl("released.jsonl", released());
  const b = write_jsonl("post-dead.jsonl", patched());

  it("prints the table: counts, medians, the log-rank test and which side hangs sooner", async () => {
    const r = await ksim("compare", a, b);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(/^hang +20 +0$/m);
    expect(r.stdout).toMatch(/^bug \(censored\) +0 +1$/m);
    expect(r.stdout).toMatch(/^error \(left out\) +0 +1$/m);
    // 10th of 20 sorted times to hang: S drops to 0.5 there.
    expect(r.stdout).toMatch(/^median time to hang +0\.53 h +-$/m);
    expect(r.stdout).toMatch(/^log-rank test: chi2 = \d+\.\d\d on 1 degree of freedom, p = [\d.e-]+$/m);
    expect(r.stdout).toContain("A hangs sooner than B (p < 0.001)");
  });

  it("prints one JSON document in the contract's shape", async () => {
    const r = await ksim("compare", a, b, "--json");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(["a", "b", "median_time_to_hang_ns", "hang_fraction", "logrank", "curves"]));
    expect(doc["a"]).toMatchObject({ file: a, runs: 20, hang: 20, ok: 0, bug: 0, error: 0, seeds: 20 });
    expect(doc["b"]).toMatchObject({ file: b, runs: 20, hang: 0, ok: 18, bug: 1, error: 1, seeds: 19, max_censored_ns: 12 * H });
    expect(doc["median_time_to_hang_ns"]).toEqual([1920985202705, null]);
    expect(doc["hang_fraction"]).toEqual([1, 0]);
    const lr = doc["logrank"] as { chi2: number; p: number; observed: number[] };
    expect(lr.observed).toEqual([20, 0]);
    expect(lr.p).toBeLessThan(0.001);
    const curves = doc["curves"] as { side: string; points: { t_ns: number; survival: number; events: number }[] }[];
    expect(curves.map((c) => c.side)).toEqual(["a", "b"]);
    // 19 distinct times to hang (seeds 4 and 8 tie), after the point at 0.
    expect(curves[0]!.points.filter((p) => p.events > 0).map((p) => p.events)).toEqual([...Array<number>(13).fill(1), 2, ...Array<number>(5).fill(1)]);
    expect(curves[0]!.points.at(-1)!.survival).toBe(0);
    expect(curves[1]!.points.map((p) => [p.t_ns, p.survival])).toEqual([[0, 1], [3 * H, 1], [12 * H, 1]]);
  });

  it("gives the same document for the same files, byte for byte", async () => {
    expect((await ksim("compare", a, b, "--json")).stdout).toBe((await ksim("compare", a, b, "--json")).stdout);
  });

  it.each([
    ["a missing file", () => [join(dir, "nope.jsonl"), a], /^ksim: .*nope\.jsonl: cannot read: /],
    ["a line that is not JSON", () => [a, write_jsonl("bad1.jsonl", [...patched().slice(0, 2)], "\nnot json\n{}\n")], /^ksim: .*bad1\.jsonl:3: not JSON: not json$/],
    ["a hang without its time", () => [write_jsonl("bad2.jsonl", [{ seed: 1, outcome: "hang", simulated_ns: 5, detected_at_ns: null }]), b], /^ksim: .*bad2\.jsonl:1: detected_at_ns: /],
  ])("exits 2 with one line naming the file and line for %s", async (_what, files, message) => {
    const r = await ksim("compare", ...(files() as [string, string]));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
    expect(r.stderr.trimEnd()).toMatch(message);
  });

  it("skips a torn last line, as --resume does, and says so", async () => {
    const torn = join(dir, "torn.jsonl");
    writeFileSync(torn, `${released().map((l) => JSON.stringify(l)).join("\n")}\n{"seed":21,"outc`);
    const r = await ksim("compare", torn, b, "--json");
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`ksim: ${torn}:21: skipped an unterminated last line (an interrupted write)\n`);
    expect((JSON.parse(r.stdout) as { a: { runs: number } }).a.runs).toBe(20);
  });

  it("exits 2 when the --html file cannot be written", async () => {
    const r = await ksim("compare", a, b, "--html", join(dir, "no-such-dir", "x.html"));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ksim: --html: cannot write .*x\.html: /);
  });

  it("exits 2 on a missing argument", async () => {
    expect((await ksim("compare", a)).code).toBe(2);
  });
});

describe.skipIf(!existsSync(CHROMIUM))("ksim compare --html in headless Chromium", () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string) {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const url = pathToFileURL(file).href;
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(m.text());
    });
    page.on("pageerror", (e) => problems.push(e.message));
    page.on("request", (r) => {
      if (r.url() !== url && !r.url().startsWith("data:")) problems.push(`request ${r.url()}`);
    });
    page.on("dialog", (d) => {
      problems.push(`dialog ${d.message()}`);
      void d.dismiss();
    });
    await page.goto(url);
    await page.waitForLoadState("load");
    return { page, problems };
  }

  it("draws both survival curves, their hangs and censorings, offline and without errors", async () => {
    const html = join(dir, "compare.html");
    const r = await ksim("compare", write_jsonl("A.jsonl", released()), write_jsonl("B.jsonl", patched()), "--html", html);
    expect(r.code).toBe(0);
    const { page, problems } = await open(html);
    // Both curves span the plot: A falls from S = 1 to S = 0 (all hung), B stays at S = 1 (a flat line at the top).
    interface Box {
      y: number;
      width: number;
      height: number;
    }
    // getBBox: the path's extent in the SVG's own units (the plot is 912 wide); a flat line has height 0.
    const bbox = (id: string): Promise<Box> =>
      page.locator(`path#${id}`).evaluate((el: unknown) => {
        const b = (el as { getBBox(): Box }).getBBox();
        return { y: b.y, width: b.width, height: b.height };
      });
    const box_a = await bbox("curve-a");
    const box_b = await bbox("curve-b");
    // A's last hang is at 1.04 h of the 12 h axis.
    expect(box_a.width).toBeGreaterThan(0.08 * 912 - 2);
    expect(box_a.width).toBeLessThan(0.09 * 912);
    expect(box_a.height).toBeGreaterThan(300);
    expect(box_b.width).toBeGreaterThan(800);
    expect(box_b.height).toBe(0);
    expect(box_b.y).toBe(box_a.y);
    // A: a dot per distinct time to hang (19); B: no hang, ticks at 3 h (the BUG) and 12 h.
    await expect(page.locator(`svg#survival circle.step[fill="#c92a2a"]`).count()).resolves.toBe(19);
    await expect(page.locator(`svg#survival circle.step[fill="#1864ab"]`).count()).resolves.toBe(0);
    await expect(page.locator(`svg#survival line.censor[stroke="#1864ab"]`).count()).resolves.toBe(2);
    await expect(page.locator("#verdict").textContent()).resolves.toBe("A hangs sooner than B (p < 0.001)");
    await expect(page.locator("table#sides tbody tr").count()).resolves.toBe(2);
    await page.screenshot({ path: process.env["KSIM_COMPARE_SCREENSHOT"] ?? join(dir, "compare.png") });
    expect(problems).toEqual([]);
  }, 30_000);

  it("shows a hostile file name as text, not markup", async () => {
    const name = `<img src=x onerror=alert(1)><svg onload=alert(2)>&"'.jsonl`;
    const html = join(dir, "hostile.html");
    const r = await ksim("compare", write_jsonl(name, released()), write_jsonl("B2.jsonl", patched()), "--html", html);
    expect(r.code).toBe(0);
    const { page, problems } = await open(html);
    await expect(page.locator("img").count()).resolves.toBe(0);
    await expect(page.locator("svg[onload]").count()).resolves.toBe(0);
    await expect(page.locator("h1").textContent()).resolves.toContain(name);
    expect(problems).toEqual([]);
  }, 30_000);
});
