/**
 * take_cpu_down() ignores the CPU_DYING chain's result (kernel/cpu.c of
 * 2.6.34), and x86's __cpu_disable() has already masked the dying CPU's
 * local timer, so a notifier that cuts the chain ahead of migration_call
 * (priority 10) and hrtimer_cpu_notify (0) is no BUG: the domain rebuild at
 * CPU_DOWN_PREPARE already took the rq out of rd->online, and the dying
 * CPU's hrtimers wait silent on its base until CPU_DEAD migrates them.
 */
import { describe, expect, it } from "vitest";
import { run_scenario } from "../src/runner.js";
import { parse_scenario } from "@ksim/scenario";

function cut_dying(cpus: number, ret: "bad" | { errno: string }) {
  const candidates = Array.from({ length: cpus - 1 }, (_, i) => i + 1);
  return parse_scenario(
    {
      name: "cut-dying",
      duration: "60s",
      kernel: { cpus },
      notifiers: [{ name: "mydrv_cpu_callback", priority: 20, actions: { CPU_DYING: ret } }],
      tasks: candidates.map((c) => ({
        comm: `rt-${c}`,
        policy: "FIFO",
        priority: 50,
        cpus: [c],
        start: "100ms",
        behavior: { cycle: { run: "1ms", sleep: "19ms" } },
      })),
      stress: { hotplug: { interval: ["500ms", "2s"], cpus: candidates, on: 0 } },
    },
    "cut-dying.yaml",
  );
}

describe("a notifier that cuts the CPU_DYING chain", () => {
  it.each<[number, "bad" | { errno: string }, string]>([
    [4, "bad", "NOTIFY_BAD"],
    [8, "bad", "NOTIFY_BAD"],
    [8, { errno: "EIO" }, "notifier_from_errno(-EIO)"],
  ])("on %i CPUs (%j at priority 20): the run is ok and every hotplug operation completes", (cpus, ret, ret_name) => {
    const r = run_scenario(cut_dying(cpus, ret));
    expect(r.bug).toBeUndefined();
    expect(r.outcome).toBe("ok");
    const downs = r.hotplug.filter((op) => op.op === "cpu_down");
    expect(downs.length).toBeGreaterThan(5);
    expect(r.hotplug.every((op) => op.result === "ok" && op.end_ns !== null)).toBe(true);
    for (const down of downs) {
      const dying = down.notifications.filter((n) => n.event === "CPU_DYING");
      // The chain stopped at the first notifier: migration_call and hrtimer_cpu_notify never heard CPU_DYING.
      expect(dying.map((n) => [n.notifier, n.ret])).toEqual([["mydrv_cpu_callback", ret_name]]);
      // CPU_DEAD still runs, and with it the timers' migration.
      expect(down.notifications.some((n) => n.event === "CPU_DEAD" && n.notifier === "hrtimer_cpu_notify")).toBe(true);
    }
  });
});
