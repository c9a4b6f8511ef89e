import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parse_yaml } from "yaml";
import { main } from "../src/cli.js";
import { run_scenario } from "../src/runner.js";
import { load_scenario, parse_scenario } from "@ksim/scenario";
import { parse_seed_range, read_results, cycle_shape } from "@ksim/campaign";
import { run_campaign, shrink } from "../src/campaigns.js";
import type { SeedResult } from "@ksim/campaign";

// One folder for the whole file, removed at its end; each test takes its own inside.
const root = mkdtempSync(join(tmpdir(), "ksim-stress-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tmp = () => mkdtempSync(join(root, "t-"));
/** Everything but wall time, which is the one thing allowed to differ. */
const strip = (rs: SeedResult[]) => rs.map(({ wall_ms: _w, ...r }) => r);

describe("seed ranges", () => {
  it("reads A..B, N and comma lists", () => {
    expect(parse_seed_range("1..5")).toEqual([1, 2, 3, 4, 5]);
    expect(parse_seed_range("7")).toEqual([7]);
    expect(parse_seed_range("1,4..5,4")).toEqual([1, 4, 5]);
  });
  it.each(["", "5..1", "a..b", "1..", "-3"])("rejects %j", (t) => {
    expect(() => parse_seed_range(t)).toThrow(/expected seeds/);
  });
});

describe("campaigns", () => {
  const spec = load_scenario("seed-stress", { duration: "30m" }).spec;
  const seeds = [1, 2, 3, 4, 5, 6];

  it("in worker threads, each seed gives exactly what it gives in this thread", async () => {
    const here = await run_campaign({ spec, seeds, jobs: 0, expected: "ok" });
    const pool = await run_campaign({ spec, seeds, jobs: 2, expected: "ok" });
    expect(strip(pool.results)).toEqual(strip(here.results));
    expect(here.hang).toBeGreaterThan(0);
    for (const r of here.results.filter((x) => x.outcome === "hang")) {
      expect(r.cycle).toEqual([
        "task cpuhp-stress",
        expect.stringMatching(/^task migration\/[123]$/),
        "cpu 0",
        "rt_rq 0",
        "hrtimer sched_rt_period_timer",
        "notifier hrtimer_cpu_notify (CPU_DEAD)",
      ]);
    }
  });

  it("an interrupted campaign, resumed, ends with the results of an uninterrupted one", async () => {
    const dir = tmp();
    const whole = await run_campaign({ spec, seeds, jobs: 0, expected: "ok", out: join(dir, "whole.jsonl") });
    const out = join(dir, "cut.jsonl");
    const stop = new AbortController();
    let n = 0;
    const cut = await run_campaign({
      spec,
      seeds,
      jobs: 0,
      expected: "ok",
      out,
      signal: stop.signal,
      on_result: () => ++n === 3 && stop.abort(),
    });
    expect(cut.runs).toBe(3);
    // A kill mid-write leaves a torn last line: that seed just runs again.
    writeFileSync(out, `${readFileSync(out, "utf8")}{"seed":4,"outc`);
    expect([...read_results(out).keys()]).toEqual([1, 2, 3]);
    const resumed = await run_campaign({ spec, seeds, jobs: 2, expected: "ok", out, resume: true });
    expect(strip(resumed.results)).toEqual(strip(whole.results));
    expect([resumed.ok, resumed.hang, resumed.bug]).toEqual([whole.ok, whole.hang, whole.bug]);
  });

  it("a seed's result replays exactly with ksim run --seed", async () => {
    const c = await run_campaign({ spec, seeds: [3], jobs: 0, expected: "ok" });
    const r = run_scenario({ ...spec, seed: 3 });
    expect([r.outcome, r.simulated_ns, r.events]).toEqual([c.results[0]!.outcome, c.results[0]!.simulated_ns, c.results[0]!.events]);
  });
});

describe("ksim stress", () => {
  it("prints one JSON document with the contract's keys and exits 0 when every seed meets the expectation", async () => {
    let stdout = "";
    const code = await main(["stress", "seed-hang", "--seeds", "1..3", "--jobs", "0", "--json"], {
      stdout: (s) => void (stdout += s),
      stderr: () => {},
      exit: () => {},
    });
    const doc = JSON.parse(stdout) as Record<string, unknown>;
    expect(code).toBe(0);
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(["ksim", "scenario", "runs", "ok", "hang", "bug", "simulated_ns", "events", "wall_ms", "results"]));
    expect([doc.runs, doc.hang]).toEqual([3, 3]);
  });

  it("exits 1 when a seed misses the expectation, and names the command that replays it", async () => {
    let stdout = "";
    const code = await main(["stress", "seed-hang", "--seeds", "1", "--jobs", "0", "--expect", "ok"], {
      stdout: (s) => void (stdout += s),
      stderr: () => {},
      exit: () => {},
    });
    expect(code).toBe(1);
    expect(stdout).toContain("ksim run seed-hang --seed 1");
  });

  it("refuses to overwrite a campaign file without --resume (exit 2)", async () => {
    const out = join(tmp(), "x.jsonl");
    writeFileSync(out, "");
    let stderr = "";
    const code = await main(["stress", "seed-hang", "--seeds", "1", "--jobs", "0", "--out", out], {
      stdout: () => {},
      stderr: (s) => void (stderr += s),
      exit: () => {},
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/already exists: add --resume/);
  });
});

describe("ksim shrink", () => {
  it("turns a random seed-stress hang into a scripted scenario of a handful of operations with the same cycle", () => {
    const spec = load_scenario("seed-stress").spec;
    const r = shrink(spec, 5);
    // Seed 5 hangs at its 65th operation (with the balancer, the domain
    // rebuilds on hotplug, each task starting on its first listed CPU, the
    // kstop threads made and spinning around each cpu_down, and ksoftirqd
    // stopped at each CPU_DEAD).
    expect(r.before.ops).toBe(65);
    expect(r.after.ops).toBeLessThanOrEqual(8);
    expect(r.scenario).not.toHaveProperty("stress");
    // The file it writes is a scenario like any other, and it hangs the same way.
    const again = run_scenario(parse_scenario(parse_yaml(JSON.stringify(r.scenario)), "shrunk.yaml"));
    expect(again.outcome).toBe("hang");
    expect(`hang: ${cycle_shape(again.hang!.cycle.map((e) => e.node)).join(" -> ")}`).toBe(r.signature);
  });

  it("says so when the seed does not fail", () => {
    expect(() => shrink(load_scenario("seed-fix-post-dead").spec, 1)).toThrow(/ends ok: there is no failure to shrink/);
  });
});
