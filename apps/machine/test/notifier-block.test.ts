/**
 * A driver notifier's `{ block: <duration> }` is msleep() (kernel/timer.c of
 * 2.6.34): schedule_timeout_uninterruptible(msecs_to_jiffies(ms) + 1) on an
 * on-stack timer of the timer wheel, so the sleep ends on a jiffy boundary
 * at least `ms` later, never exactly `ms` later.
 */
import { describe, expect, it } from "vitest";
import { parse_scenario } from "@ksim/scenario";
import { run_scenario } from "../src/runner.js";

const MS = 1_000_000;

function down_with(cpus: number, hz: number, block: string | null) {
  return parse_scenario(
    {
      name: "drv-block",
      duration: block === "300s" ? "400s" : "3s",
      kernel: { cpus, hz, hung_task_timeout_secs: 120 },
      notifiers: block === null ? [] : [{ name: "mydrv_cpu_callback", priority: 5, actions: { CPU_DOWN_PREPARE: { block } } }],
      // 1501 ms is inside a jiffy at every HZ: the sleep does not start on a boundary.
      script: [{ at: "1501ms", cpu_down: cpus - 1, on: 0 }],
    },
    "drv-block.yaml",
  );
}

function down_ns(cpus: number, hz: number, block: string | null): number {
  const r = run_scenario(down_with(cpus, hz, block));
  expect(r.outcome).toBe("ok");
  const [op] = r.hotplug.filter((o) => o.op === "cpu_down");
  expect(op!.result).toBe("ok");
  return op!.end_ns! - op!.start_ns;
}

describe("a notifier that blocks sleeps in msleep()", () => {
  it.each([
    // msleep(10) at HZ=250: ceil(10 * 250 / 1000) + 1 = 4 jiffies of 4 ms, counted from the jiffy it starts in (1500 ms): awake at 1516 ms.
    [4, 250, "10ms", 15 * MS],
    [8, 250, "10ms", 15 * MS],
    // msleep(10) at HZ=1000: 11 jiffies of 1 ms from the jiffy at 1501 ms: awake at 1512 ms.
    [8, 1000, "10ms", 11 * MS],
    // msleep() takes whole milliseconds: 2.5 ms is msleep(3), 4 jiffies at HZ=1000.
    [8, 1000, "2500us", 4 * MS],
  ])("on %i CPUs at HZ=%i, { block: %s } holds cpu_down for the jiffies msleep() sleeps", (cpus, hz, block, slept_ns) => {
    const extra = down_ns(cpus, hz, block) - down_ns(cpus, hz, null);
    // The sleep starts a little after 1501 ms (cpu_down's work before CPU_DOWN_PREPARE) and ends on the boundary.
    expect(extra).toBeLessThanOrEqual(slept_ns);
    expect(extra).toBeGreaterThan(slept_ns - MS / 10);
  });

  // khungtaskd looks every 120 s and reports a task whose switch count did
  // not move since its last look: a sleep across two looks (1.5 s to 301.5 s
  // spans those at 120 s and 240 s) is reported, at 240 s.
  it("a block across two hung-task checks is reported, in msleep as /proc/<pid>/wchan names it", () => {
    const r = run_scenario(down_with(8, 1000, "300s"));
    expect(r.outcome).toBe("hang");
    expect(r.hang!.hung_tasks.map((t) => [t.comm, t.in])).toContainEqual(["cpuhp-stress", "msleep"]);
    expect(r.hang!.detected_at_ns).toBeGreaterThanOrEqual(240e9);
    expect(r.hang!.detected_at_ns).toBeLessThan(241e9);
  });
});
