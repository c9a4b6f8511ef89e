import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RUN, SLEEP, type KernelCall } from "@ksim/core";
import { load_scenario, run_scenario } from "../src/index.js";
import { open_outputs, render_campaign_html, type CampaignSummary } from "@ksim/report";
import type { CampaignSummary as StressSummary } from "@ksim/campaign";

const CHROMIUM = "/usr/bin/chromium";
const DOCS_IMG = fileURLToPath(new URL("../../../docs/img/", import.meta.url));

/**
 * The browser is Debian's chromium package. When it is missing the set-up
 * installs it (as root, with apt-get); on CI a failure to do so fails the
 * tests. Elsewhere (no root, no apt) the browser tests are skipped with the
 * reason printed.
 */
function ensure_chromium(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const root = process.getuid?.() === 0;
  if (root && existsSync("/usr/bin/apt-get")) {
    try {
      execFileSync("sh", ["-c", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium"], { stdio: "ignore", timeout: 20 * 60_000 });
    } catch (e) {
      if (process.env["CI"]) throw new Error(`CI: installing chromium failed: ${String(e)}`);
    }
  }
  if (existsSync(CHROMIUM)) return null;
  if (process.env["CI"]) throw new Error(`CI: ${CHROMIUM} is missing and could not be installed (apt-get install chromium as root)`);
  return `${CHROMIUM} is missing and cannot be installed here (needs root and apt-get: apt-get install chromium)`;
}

const skip_reason = ensure_chromium();
if (skip_reason) console.warn(`html browser tests skipped: ${skip_reason}`);

const dir = mkdtempSync(join(tmpdir(), "ksim-html-test-"));
let browser: Browser;

interface Opened {
  page: Page;
  console_errors: string[];
  foreign_requests: string[];
  dialogs: string[];
}

/** Opens a file, counting console errors, dialogs and requests for anything but the file itself or data: URLs. */
async function open_page(file: string, height = 1100): Promise<Opened> {
  const page = await browser.newPage({ viewport: { width: 1280, height } });
  const url = pathToFileURL(file).href;
  const o: Opened = { page, console_errors: [], foreign_requests: [], dialogs: [] };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") o.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => o.console_errors.push(e.message));
  page.on("request", (r) => {
    if (r.url() !== url && !r.url().startsWith("data:")) o.foreign_requests.push(r.url());
  });
  page.on("dialog", (d) => {
    o.dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(url);
  await page.waitForLoadState("load");
  return o;
}

/** A screenshot of the page's first screen; kept in docs/img when KSIM_UPDATE_SCREENSHOTS=1. */
async function screenshot(page: Page, name: string): Promise<number> {
  const path = join(dir, name);
  await page.screenshot({ path });
  const png = readFileSync(path);
  expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  if (process.env["KSIM_UPDATE_SCREENSHOTS"] === "1") {
    mkdirSync(DOCS_IMG, { recursive: true });
    copyFileSync(path, join(DOCS_IMG, name));
  }
  return statSync(path).size;
}

/** 40 seeds of `ksim stress seed-stress --seeds 1..40` (12 h each), as the stress command reports them. */
const FIXTURE: [number, "ok" | "hang", number | null, number, number, number][] = [
  [1, "hang", 3727235168006, 3727235168006, 229662, 1399],
  [2, "hang", 600950000000, 600950000000, 68286, 103],
  [3, "hang", 1442950000000, 1442950000000, 120378, 252],
  [4, "ok", null, 43200000000000, 10423371, 4049],
  [5, "hang", 720231106831, 720231106831, 82011, 76],
  [6, "hang", 360119095867, 360119095867, 54261, 35],
  [7, "hang", 3365978000000, 3365978000000, 223839, 322],
  [8, "ok", null, 43200000000000, 10525558, 3836],
  [9, "hang", 3363982170370, 3363982170370, 224811, 129],
  [10, "hang", 2884188587234, 2884188587234, 195209, 104],
  [11, "hang", 961597040868, 961597040868, 95535, 41],
  [12, "hang", 1920985202705, 1920985202705, 132651, 72],
  [13, "hang", 480951000000, 480951000000, 53596, 23],
  [14, "ok", null, 43200000000000, 10741046, 2817],
  [15, "ok", null, 43200000000000, 10292098, 2545],
  [16, "hang", 2042211936348, 2042211936348, 144771, 74],
  [17, "hang", 2043720814289, 2043720814289, 145805, 72],
  [18, "hang", 2283951000000, 2283951000000, 168463, 137],
  [19, "hang", 1200950000000, 1200950000000, 95904, 118],
  [20, "hang", 240000000000, 240000000000, 51237, 34],
  [21, "hang", 840950000000, 840950000000, 73181, 160],
  [22, "hang", 480950000000, 480950000000, 71616, 38],
  [23, "hang", 1320950000000, 1320950000000, 104128, 97],
  [24, "hang", 600291722020, 600291722020, 73310, 49],
  [25, "hang", 840950000000, 840950000000, 74255, 53],
  [26, "hang", 12135950000000, 12135950000000, 736482, 760],
  [27, "ok", null, 43200000000000, 10706803, 4734],
  [28, "hang", 4568705584427, 4568705584427, 296409, 214],
  [29, "hang", 3608659505088, 3608659505088, 230527, 212],
  [30, "hang", 360000000000, 360000000000, 47255, 34],
  [31, "hang", 720405436488, 720405436488, 78080, 38],
  [32, "hang", 1804775603942, 1804775603942, 144213, 115],
  [33, "hang", 2162963000000, 2162963000000, 151756, 118],
  [34, "ok", null, 43200000000000, 10447624, 6183],
  [35, "hang", 3725950000000, 3725950000000, 245765, 286],
  [36, "hang", 2401955000000, 2401955000000, 167208, 297],
  [37, "hang", 5166950000000, 5166950000000, 334372, 457],
  [38, "hang", 2041989000000, 2041989000000, 154661, 206],
  [39, "hang", 9377713838513, 9377713838513, 551072, 960],
  [40, "ok", null, 43200000000000, 10727255, 5995]
];

function fixture_summary(): CampaignSummary {
  const results = FIXTURE.map(([seed, outcome, detected_at_ns, simulated_ns, events, wall_ms]) => ({ seed, outcome, detected_at_ns, simulated_ns, events, wall_ms }));
  const sum = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    ksim: "0.1.0",
    scenario: "seed-stress",
    runs: results.length,
    ok: results.filter((r) => r.outcome === "ok").length,
    hang: results.filter((r) => r.outcome === "hang").length,
    bug: 0,
    simulated_ns: sum((r) => r.simulated_ns),
    events: sum((r) => r.events),
    wall_ms: sum((r) => r.wall_ms),
    expected: "ok",
    results,
  };
}

// The stress command's own summary type is accepted as it is.
const _accepts_stress_summary: (s: StressSummary) => string = render_campaign_html;

describe.skipIf(skip_reason !== null)("HTML reports in headless Chromium", () => {
  beforeAll(async () => {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the seed-hang report shows the CPU lanes, the cycle and the timer, offline and without errors", async () => {
    const file = join(dir, "seed-hang.html");
    const outs = open_outputs({ html: file });
    outs.finish(run_scenario(load_scenario("seed-hang").spec, { trace: outs.sinks }));
    const o = await open_page(file, 1480);
    const { page } = o;
    await expect(page.locator("svg#timeline text.lane-label", { hasText: /^CPU 0$/ }).isVisible()).resolves.toBe(true);
    await expect(page.locator("svg#timeline text.lane-label", { hasText: /^CPU 1$/ }).isVisible()).resolves.toBe(true);
    await expect(page.locator("svg#timeline g.lane").count()).resolves.toBe(2);
    await expect(page.locator("svg#cycle text", { hasText: "task migration/1/5" }).isVisible()).resolves.toBe(true);
    await expect(page.locator("svg#cycle text", { hasText: "hrtimer sched_rt_period_timer" }).isVisible()).resolves.toBe(true);
    await expect(page.locator("svg#timeline text", { hasText: /^sched_rt_period_timer$/ }).isVisible()).resolves.toBe(true);
    await expect(page.locator("svg#cycle g.node").count()).resolves.toBe(6);
    // rt-hog0 on CPU 0: 1.2-2.951 s, 3-3.95 s, 4-4.951 s (kstop/0 spins from 3.951 s until kstop/1 runs at 4 s).
    await expect(page.locator('svg#timeline g.lane[data-cpu="0"] rect.slice.RT title', { hasText: /^CPU 0: rt-hog0\/9 / }).count()).resolves.toBe(3);
    // Throttled: rt_rq 0 at 2.951, 3.95 (ended by cpu_down's domain rebuild
    // at 3.951 s) and 4.951 s (to the end); rt_rq 1 at 2.952 and 3.951 s
    // (which holds kstop/1 until the period timer at 4 s).
    await expect(page.locator("svg#timeline rect.throttled").count()).resolves.toBe(5);
    await expect(page.locator("svg#timeline rect.offline").count()).resolves.toBe(1);
    await expect(page.locator("svg#timeline text", { hasText: "CPU 1 (offline: stranded)" }).count()).resolves.toBe(1);
    await expect(page.getByText("Timeline window: the whole run (171 trace records").isVisible()).resolves.toBe(true);
    const size = await screenshot(page, "seed-hang-report.png");
    expect(size).toBeLessThan(300_000);
    // Pointing at a slice shows its details.
    await page.locator('svg#timeline g.lane[data-cpu="0"] rect.slice.RT', { hasText: "rt-hog0" }).first().hover();
    await expect(page.locator("#hover").textContent()).resolves.toMatch(/^CPU 0: rt-hog0\/9 \(RT, prio 49\), 1\.200000 s \.\. 2\.951000 s/);
    expect(o.console_errors).toEqual([]);
    expect(o.foreign_requests).toEqual([]);
    await page.close();
  });

  it("a hostile task name shows as text, not markup", async () => {
    const hostile = "<img src=x onerror=alert(1)>";
    const file = join(dir, "hostile.html");
    const outs = open_outputs({ html: file });
    const spec = load_scenario("seed-hang").spec;
    const r = run_scenario(spec, {
      trace: outs.sinks,
      tasks: [
        {
          comm: hostile,
          cpu: 0,
          *threadfn(): KernelCall<number> {
            for (;;) {
              yield RUN(5_000_000);
              yield SLEEP(1_000_000_000);
            }
          },
        },
      ],
    });
    outs.finish(r);
    expect(readFileSync(file, "utf8")).not.toContain(hostile);
    const o = await open_page(file);
    await expect(o.page.locator("img").count()).resolves.toBe(0);
    // In the tasks table and as slices on a CPU's lane (fork balancing
    // chooses which: wake_up_new_task starts it on the idler CPU).
    await expect(o.page.locator("td", { hasText: hostile }).count()).resolves.toBeGreaterThanOrEqual(1);
    await expect(o.page.locator("svg#timeline g.lane rect.slice title", { hasText: hostile }).count()).resolves.toBeGreaterThanOrEqual(2);
    expect(o.dialogs).toEqual([]);
    expect(o.console_errors).toEqual([]);
    expect(o.foreign_requests).toEqual([]);
    await o.page.close();
  });

  it("the campaign page draws time to hang per seed and its distribution", async () => {
    const file = join(dir, "campaign.html");
    writeFileSync(file, render_campaign_html(fixture_summary()));
    const o = await open_page(file, 1000);
    const { page } = o;
    await expect(page.getByText("Stress campaign: seed-stress").isVisible()).resolves.toBe(true);
    await expect(page.locator("svg#per-seed rect.seed").count()).resolves.toBe(40);
    await expect(page.locator("svg#per-seed rect.seed.hang").count()).resolves.toBe(33);
    await expect(page.locator("svg#per-seed rect.seed.ok").count()).resolves.toBe(7);
    // The histogram holds the 33 hangs; the CDF ends at 33/40 of the runs.
    const bins = await page.locator("svg#distribution rect.bin title").allTextContents();
    expect(bins.map((t) => Number(t.split(" ")[0])).reduce((a, b) => a + b, 0)).toBe(33);
    await expect(page.locator("svg#distribution #cdf").isVisible()).resolves.toBe(true);
    await expect(page.locator("table tbody tr").count()).resolves.toBe(40);
    await expect(page.getByText("7 of 40 seeds met the expected outcome (ok)").isVisible()).resolves.toBe(true);
    expect(o.console_errors).toEqual([]);
    expect(o.foreign_requests).toEqual([]);
    const size = await screenshot(page, "stress-campaign.png");
    expect(size).toBeLessThan(300_000);
    await page.close();
  });
});
