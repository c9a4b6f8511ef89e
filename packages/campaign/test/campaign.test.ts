import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NSEC_PER_SEC } from "@ksim/core";
import { parse_scenario, type ScenarioSpec, type ScriptOp } from "@ksim/scenario";
import { afterAll, describe, expect, it } from "vitest";
import { campaign_passed, NothingToShrink, read_results, run_campaign, run_seed, shrink } from "../src/index.js";
import { fake_result, fake_runner, hang_of } from "./fake-runner.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-campaign-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const spec: ScenarioSpec = parse_scenario({ name: "fake", duration: "10m", kernel: { cpus: 4 } }, "fake.yaml");

describe("run_seed", () => {
  it("takes who detected a hang from the result's typed field, and the cycle without pids", () => {
    const runner = fake_runner((s) => hang_of(s, 300 * NSEC_PER_SEC, "watchdog"));
    const r = run_seed(runner, { spec, seed: 5, max_events: 1000 });
    expect(r).toMatchObject({ seed: 5, outcome: "hang", detected_at_ns: 300e9, detected_by: "watchdog" });
    expect(r.cycle).toEqual(["task cpuhp-stress", "task migration/1"]);
  });

  it("passes the seed and the limits to the runner", () => {
    const seen: string[] = [];
    const runner = fake_runner((s, limits) => {
      seen.push(`${s.seed}:${limits.max_events ?? "-"}:${limits.max_wall_ms ?? "-"}`);
      return fake_result(s);
    });
    run_seed(runner, { spec, seed: 9, max_events: 500, max_wall_ms: 20 });
    run_seed(runner, { spec, seed: 10 });
    expect(seen).toEqual(["9:500:20", "10:-:-"]);
  });

  it("a runner that throws gives outcome error with the message, not an exception", () => {
    const runner = fake_runner(() => {
      throw new Error("model broke");
    });
    expect(run_seed(runner, { spec, seed: 3 })).toMatchObject({ seed: 3, outcome: "error", error: "model broke", events: 0 });
  });
});

describe("run_campaign in this thread", () => {
  const odd_hangs = () => fake_runner((s) => (s.seed % 2 ? hang_of(s, s.seed * NSEC_PER_SEC, "khungtaskd") : fake_result(s)));

  it("counts the outcomes, carries the version given, and appends one JSONL line per seed", async () => {
    const out = join(dir, "c1.jsonl");
    const s = await run_campaign({ version: "9.9.9", spec, seeds: [1, 2, 3, 4, 5], expected: "ok", jobs: 0, runner: odd_hangs(), out });
    expect([s.ksim, s.runs, s.ok, s.hang, s.bug, s.error]).toEqual(["9.9.9", 5, 2, 3, 0, 0]);
    expect(s.simulated_ns).toBe(2 * 600e9 + (1 + 3 + 5) * 1e9);
    expect(campaign_passed(s)).toBe(false);
    expect([...read_results(out).keys()]).toEqual([1, 2, 3, 4, 5]);
  });

  it("resume runs only the seeds not already in the file, after a torn last line", async () => {
    const out = join(dir, "c2.jsonl");
    writeFileSync(out, `${JSON.stringify({ seed: 1, outcome: "ok", simulated_ns: 1, detected_at_ns: null, events: 1, wall_ms: 1 })}\n{"seed": 2, "outc`);
    const runner = odd_hangs();
    const s = await run_campaign({ version: "9.9.9", spec, seeds: [1, 2, 3], expected: "ok", jobs: 0, runner, out, resume: true });
    expect(runner.runs).toBe(2);
    expect(s.results.map((r) => `${r.seed}:${r.outcome}`)).toEqual(["1:ok", "2:ok", "3:hang"]);
    // The torn line stays on a line of its own: the new results are whole lines.
    const whole = readFileSync(out, "utf8").split("\n").filter((l) => {
      try {
        JSON.parse(l);
        return true;
      } catch {
        return false;
      }
    });
    expect(whole.length).toBe(3);
  });

  it("worker threads need the worker file", async () => {
    await expect(run_campaign({ version: "9.9.9", spec, seeds: [1], expected: "ok", jobs: 2, runner: odd_hangs() })).rejects.toThrow(/worker file/);
  });
});

describe("shrink", () => {
  const op = (at_s: number, kind: "cpu_down" | "cpu_up", cpu: number): ScriptOp => ({ at_ns: at_s * NSEC_PER_SEC, op: kind, cpu, on: 0 });
  // The random run: eight operations; only cpu_down(3) matters to the fake machine.
  const performed = [op(1, "cpu_down", 1), op(2, "cpu_up", 1), op(3, "cpu_down", 2), op(4, "cpu_up", 2), op(5, "cpu_down", 3), op(6, "cpu_up", 3), op(7, "cpu_down", 1), op(8, "cpu_up", 1)];
  const hangs_on_cpu3 = (s: ScenarioSpec) => (s.stress !== null || s.script.some((o) => o.op === "cpu_down" && o.cpu === 3) ? hang_of(s, 130 * NSEC_PER_SEC, "khungtaskd") : fake_result(s));

  it("keeps only the operation that still gives the same hang, and just the CPUs it names", () => {
    const random: ScenarioSpec = { ...spec, stress: { hotplug: { interval_ns: [NSEC_PER_SEC, 2 * NSEC_PER_SEC], cpus: [1, 2, 3], on: 0 } } };
    const r = shrink(random, 4, { runner: fake_runner(hangs_on_cpu3, performed) });
    expect(r.signature).toBe("hang: task cpuhp-stress -> task migration/1");
    expect(r.before.ops).toBe(8);
    expect(r.after).toMatchObject({ ops: 1, cpus: 4 });
    expect(r.scenario["script"]).toEqual([{ at: "5s", cpu_down: 3, on: 0 }]);
    expect(r.scenario["name"]).toBe("fake-seed4-min");
  });

  it("a seed that ends ok has nothing to shrink", () => {
    expect(() => shrink(spec, 1, { runner: fake_runner((s) => fake_result(s)) })).toThrow(NothingToShrink);
  });
});

