import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs as written and gives what the README says", () => {
    expect(readme_example()).toEqual({
      fired: ["100 ms on CPU 1", "200 ms on CPU 1", "1000 ms on CPU 0", "1100 ms on CPU 0", "1200 ms on CPU 0"],
      because:
        "sched_rt_period_timer is queued on offline CPU 1's hrtimer base; only hrtimer_cpu_notify(CPU_DEAD) moves it to a live CPU",
      migrated: 1,
    });
  });
});
