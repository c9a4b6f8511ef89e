import { describe, expect, it } from "vitest";
import { run_custom_machine } from "../custom-machine.js";

describe("examples/custom-machine.ts: a user notifier and an ideal stop_machine on seed-hang", () => {
  it("as released: hangs in CPU_DEAD; mydrv_cpu_callback never sees CPU_DEAD; the replacement ran once", () => {
    expect(run_custom_machine()).toEqual({
      outcome: "hang",
      cycle: [
        "task cpuhp-stress/10 -> task migration/1/5",
        "task migration/1/5 -> cpu 0",
        "cpu 0 -> rt_rq 0",
        "rt_rq 0 -> hrtimer sched_rt_period_timer",
        "hrtimer sched_rt_period_timer -> notifier hrtimer_cpu_notify (CPU_DEAD)",
        "notifier hrtimer_cpu_notify (CPU_DEAD) -> task cpuhp-stress/10",
      ],
      seen: ["CPU_DOWN_PREPARE(1) on CPU 0", "CPU_DYING(1) on CPU 1"],
      stop_machine_calls: 1,
    });
  });

  it("with the CPU_POST_DEAD patch: cpu_down(1) completes and the notifier sees all four events", () => {
    expect(run_custom_machine(["kernel.migration_thread_stop=CPU_POST_DEAD"])).toEqual({
      outcome: "ok",
      cycle: [],
      seen: ["CPU_DOWN_PREPARE(1) on CPU 0", "CPU_DYING(1) on CPU 1", "CPU_DEAD(1) on CPU 0", "CPU_POST_DEAD(1) on CPU 0"],
      stop_machine_calls: 1,
    });
  });
});
