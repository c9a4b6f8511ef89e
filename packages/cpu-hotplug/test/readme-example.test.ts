import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs as written and gives what the README says", () => {
    const { result, log, because } = readme_example();
    expect(result).toBe(0);
    expect(because).toBe(
      "cpu_down(1) in task cpuhp/1 is blocked in migration_call (priority 10), which runs before hrtimer_cpu_notify (priority 0) in the CPU_DEAD chain",
    );
    expect(log).toEqual([
      "cpu_up(1) ok at 0: CPU_UP_PREPARE/migration_call CPU_UP_PREPARE/hrtimer_cpu_notify CPU_STARTING/migration_call CPU_STARTING/hrtimer_cpu_notify CPU_ONLINE/migration_call CPU_ONLINE/hrtimer_cpu_notify",
      "cpu_down(1) ok at 50000000: CPU_DOWN_PREPARE/migration_call CPU_DOWN_PREPARE/hrtimer_cpu_notify CPU_DYING/migration_call CPU_DYING/hrtimer_cpu_notify CPU_DEAD/migration_call CPU_DEAD/hrtimer_cpu_notify CPU_POST_DEAD/migration_call CPU_POST_DEAD/hrtimer_cpu_notify",
    ]);
  });
});
