import { describe, expect, it } from "vitest";
import { load_scenario, vary_scenario } from "../src/index.js";

const PRIO = "kernel.notifier_priority.hrtimer_cpu_notify";

describe("the explore section and tie_order", () => {
  it("reads vary, sweep (numbers or durations, in ns) and ties", () => {
    const { spec } = load_scenario("seed-hang", {
      sets: [`explore={ vary: { ${PRIO}: [-5, 0, 20] }, sweep: { "script[0].at": { from: 2.9s, to: 4.1s, step: 10ms }, x.y: { from: 1, to: 3, step: 1 } }, ties: true }`],
    });
    expect(spec.explore).toEqual({
      vary: { [PRIO]: [-5, 0, 20] },
      sweep: {
        "script[0].at": { kind: "duration", from: 2_900_000_000, to: 4_100_000_000, step: 10_000_000 },
        "x.y": { kind: "number", from: 1, to: 3, step: 1 },
      },
      ties: true,
    });
    expect(load_scenario("seed-hang").spec.explore).toBeUndefined();
  });

  it.each([
    ["explore.sweep.a={ from: 1, to: 2s, step: 1 }", /explore.sweep.a: expected from, to and step all numbers or all durations/],
    ["explore.sweep.a={ from: 2, to: 1, step: 1 }", /explore.sweep.a: expected from <= to and a step above 0/],
    ["explore.vary={ 'a..b': [1] }", /explore.vary/],
    ["explore.vary.a=[]", /explore.vary.a: expected at least one value/],
    ["explore.tie=true", /explore.tie: unknown key/],
  ])("rejects %s with the field path", (set, msg) => {
    expect(() => load_scenario("seed-hang", { sets: [set] })).toThrow(msg);
  });

  it("reads tie_order entries as a time and an event name", () => {
    const { spec } = load_scenario("seed-hang", { sets: ['tie_order=["1100ms: start/rt-hog1", "3s: resched/0"]'] });
    expect(spec.tie_order).toEqual([
      { at_ns: 1_100_000_000, event: "start/rt-hog1" },
      { at_ns: 3_000_000_000, event: "resched/0" },
    ]);
    expect(() => load_scenario("seed-hang", { sets: ['tie_order=["soon: resched/0"]'] })).toThrow(/tie_order\[0\]: expected "<time>: <event>"/);
  });

  it("vary_scenario applies more overrides without touching the loaded scenario", () => {
    const loaded = load_scenario("seed-hang", { sets: [`${PRIO}=5`] });
    const v = vary_scenario(loaded, ["script[0].at=3.5s"]);
    expect(v.spec.script[0]!.at_ns).toBe(3_500_000_000);
    expect(v.spec.kernel.notifier_priority).toEqual({ hrtimer_cpu_notify: 5 });
    expect(loaded.spec.script[0]!.at_ns).toBe(3_000_000_000);
    expect(() => vary_scenario(loaded, [`${PRIO}=x`])).toThrow(/hrtimer_cpu_notify/);
  });
});
