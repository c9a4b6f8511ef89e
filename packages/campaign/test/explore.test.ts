import { describe, expect, it } from "vitest";
import type { ScenarioSpec } from "@ksim/scenario";
import {
  combination,
  combination_sets,
  explore_combination,
  parse_sweep,
  parse_vary,
  run_explore,
  space_size,
  SpaceError,
  type ExploredRun,
  type ScenarioRunner,
  type TieExplorer,
} from "../src/index.js";
import { fake_result, hang_of } from "./fake-runner.js";

const base = { name: "toy", seed: 1, duration_ns: 10 } as unknown as ScenarioSpec;

/**
 * A toy machine: at t=5 two events, a and b, are due; a third, c, at t=9
 * with d. Firing b before a leaves another state (or, `commute`, the same),
 * and gives a hang when `hang_when_b_first`.
 */
function toy_runner(opts: { commute: boolean; hang_when_b_first: boolean }): ScenarioRunner & { runs: number; run_explored: NonNullable<ScenarioRunner["run_explored"]> } {
  const r = {
    runs: 0,
    run: () => fake_result(base),
    run_recorded: () => ({ result: fake_result(base), performed: [] }),
    run_explored(spec: ScenarioSpec, ex: TieExplorer): ExploredRun {
      r.runs++;
      const first = ex.choose(5, ["a", "b"]);
      const b_first = first === 1;
      if (!ex.instant_end(5, opts.commute || !b_first ? "s1" : "s2")) return { result: fake_result(spec), digest: "", abandoned: true };
      ex.choose(9, ["c", "d"]);
      if (!ex.instant_end(9, `${opts.commute || !b_first ? "s1" : "s2"}-end`)) return { result: fake_result(spec), digest: "", abandoned: true };
      const result = b_first && opts.hang_when_b_first ? hang_of(spec, 9, "khungtaskd") : fake_result(spec);
      return { result, digest: b_first && !opts.commute ? "f2" : "f1", abandoned: false };
    },
  };
  return r;
}

describe("explore: the space", () => {
  it("reads --vary and --sweep, numbers and durations, and enumerates the cross product", () => {
    expect(parse_vary("kernel.notifier_priority.hrtimer_cpu_notify=-5,0,20")).toEqual({ path: "kernel.notifier_priority.hrtimer_cpu_notify", values: [-5, 0, 20] });
    expect(parse_vary("kernel.migration_thread_stop=CPU_DEAD,CPU_POST_DEAD").values).toEqual(["CPU_DEAD", "CPU_POST_DEAD"]);
    expect(parse_sweep("script[0].at=2.9s..2.93s/10ms").values).toEqual(["2.9s", "2.91s", "2.92s", "2.93s"]);
    expect(parse_sweep("x=-5..20/5").values).toEqual([-5, 0, 5, 10, 15, 20]);
    const dims = [parse_vary("a=1,2"), parse_vary("b=x,y,z")];
    expect(space_size(dims)).toBe(6);
    expect(combination(dims, 4)).toEqual([2, "y"]);
    expect(combination_sets(dims, combination(dims, 4))).toEqual(["a=2", "b=y"]);
  });

  it.each(["nopath", "=1,2", "a=", "a=1,,2"])("rejects --vary %j", (t) => {
    expect(() => parse_vary(t)).toThrow(SpaceError);
  });

  it.each(["a=1..2", "a=2..1/1", "a=1s..2/1", "a=1..2/0"])("rejects --sweep %j", (t) => {
    expect(() => parse_sweep(t)).toThrow(SpaceError);
  });
});

describe("explore: tie orders", () => {
  it("finds the one order that hangs, with the tie that replays it", () => {
    const runner = toy_runner({ commute: false, hang_when_b_first: true });
    const r = explore_combination(runner, { index: 0, spec: base, ties: true, max_runs: 100 });
    expect(r.complete).toBe(true);
    const hang = r.outcomes.find((o) => o.outcome === "hang")!;
    expect(hang.ties).toEqual(["5ns: b"]);
    expect(r.outcomes.find((o) => o.outcome === "ok")!.ties).toEqual([]);
    // a-first, b-first, and at 9 each of them tries d first too, which commutes.
    expect(r.runs).toBe(4);
    expect(r.pruned.commuting).toBe(2);
  });

  it("a space whose tie orders all commute runs one of them to the end", () => {
    const runner = toy_runner({ commute: true, hang_when_b_first: false });
    const r = explore_combination(runner, { index: 0, spec: base, ties: true, max_runs: 100 });
    expect(r.outcomes).toEqual([expect.objectContaining({ outcome: "ok", count: 1 })]);
    expect(r.pruned.commuting).toBe(2);
    expect(r.final_states).toEqual(["f1"]);
  });

  it("without ties, one run per combination and no choice", () => {
    const runner = toy_runner({ commute: false, hang_when_b_first: true });
    const r = explore_combination(runner, { index: 0, spec: base, ties: false, max_runs: 100 });
    expect(r.runs).toBe(1);
    expect(r.outcomes.map((o) => o.outcome)).toEqual(["ok"]);
  });

  it("--max-runs leaves the report incomplete", async () => {
    const runner = toy_runner({ commute: false, hang_when_b_first: true });
    const rep = await run_explore({
      version: "0",
      scenario: "toy",
      dimensions: [parse_vary("a=1,2,3")],
      ties: true,
      expected: "ok",
      spec_of: () => base,
      jobs: 0,
      runner,
      max_runs: 5,
    });
    expect(rep.runs).toBeLessThanOrEqual(5);
    expect(rep.complete).toBe(false);
  });

  it("says where a class splits along one dimension", async () => {
    // b-first hangs only when a >= 2: the spec carries `a` in its name.
    const runner = toy_runner({ commute: false, hang_when_b_first: true });
    const inner = runner.run_explored.bind(runner);
    runner.run_explored = (spec, ex) => {
      const r = inner(spec, ex);
      return spec.name === "a=1" && r.result.outcome === "hang" ? { ...r, result: fake_result(spec) } : r;
    };
    const rep = await run_explore({
      version: "0",
      scenario: "toy",
      dimensions: [parse_vary("a=1,2,3"), parse_vary("b=x,y")],
      ties: true,
      expected: "ok",
      spec_of: (sets) => ({ ...base, name: sets[0]! }),
      jobs: 0,
      runner,
    });
    expect(rep.complete).toBe(true);
    const hang = rep.classes.find((c) => c.outcome === "hang")!;
    expect(hang.split).toBe("hang exactly when a >= 2");
    expect(hang.combinations).toHaveLength(4);
    expect(hang.witness).toEqual({ sets: ["a=2", "b=x"], ties: ["5ns: b"] });
  });
});
