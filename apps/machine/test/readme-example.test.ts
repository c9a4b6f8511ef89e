import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("hangs as released, with the cycle, and not with the patch; the extra notifier hears cpu_down(1)", () => {
    const r = readme_example();
    expect(r.released).toBe("hang");
    expect(r.cycle).toEqual([
      "task cpuhp-stress",
      "task migration/1",
      "cpu 0",
      "rt_rq 0",
      "hrtimer sched_rt_period_timer",
      "notifier hrtimer_cpu_notify (CPU_DEAD)",
    ]);
    expect(r.patched).toBe("ok");
    // CPU_DOWN_PREPARE (5), CPU_DYING (8), CPU_DEAD (7), CPU_POST_DEAD (9), all for CPU 1.
    expect(r.heard).toEqual(["5:1", "8:1", "7:1", "9:1"]);
  });
});
