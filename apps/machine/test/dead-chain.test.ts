/**
 * A notifier that stops the CPU_DEAD chain. 2.6.34's _cpu_down BUG()s only
 * on exactly NOTIFY_BAD there; an errno (notifier_from_errno, which has
 * NOTIFY_STOP_MASK set) ends the walk quietly, so the notifiers after it
 * never hear CPU_DEAD. With the CPU_POST_DEAD fix, a stop ahead of
 * hrtimer_cpu_notify leaves sched_rt_period_timer on the dead CPU for good,
 * and kthread_stop(migration/N) at CPU_POST_DEAD waits on a throttled CPU
 * forever: a hang with no cycle, reported as the chain of waits it is.
 */
import { describe, expect, it } from "vitest";
import { run_scenario } from "../src/runner.js";
import { parse_scenario } from "@ksim/scenario";
import { format_text_report } from "@ksim/report";

function stop_dead(cpus: number, priority: number, ret: "bad" | { errno: string }) {
  const tasks = Array.from({ length: cpus }, (_, c) => ({
    comm: `rt-hog${c}`,
    policy: "FIFO",
    priority: 50,
    cpus: [c],
    // The hog of the CPU going down starts first, so the period timer is started there.
    start: c === 1 ? "1100ms" : "1200ms",
    behavior: { busy: true },
  }));
  return parse_scenario(
    {
      name: "stop-dead",
      duration: "5m",
      kernel: { cpus, migration_thread_stop: "CPU_POST_DEAD" },
      notifiers: [{ name: "mydrv_cpu_callback", priority, actions: { CPU_DEAD: ret } }],
      tasks,
      script: [{ at: "3s", cpu_down: 1, on: 0 }],
    },
    "stop-dead.yaml",
  );
}

const dead_calls = (r: ReturnType<typeof run_scenario>) =>
  r.hotplug.find((op) => op.op === "cpu_down")!.notifications.filter((n) => n.event === "CPU_DEAD").map((n) => [n.notifier, n.ret]);

describe("a notifier that stops the CPU_DEAD chain, with the CPU_POST_DEAD fix", () => {
  it.each([2, 8])("%i CPUs, an errno at priority 5: hrtimer_cpu_notify is never called and the hang is explained as a chain", (cpus) => {
    const r = run_scenario(stop_dead(cpus, 5, { errno: "EBUSY" }));
    expect(r.bug).toBeUndefined();
    expect(r.outcome).toBe("hang");
    expect(dead_calls(r)).toEqual([
      ["migration_call", "NOTIFY_OK"],
      ["mydrv_cpu_callback", "notifier_from_errno(-EBUSY)"],
    ]);
    expect(r.stats.timer_migrations).toBe(0);
    expect(r.hang!.cycle).toEqual([]);
    const chain = r.hang!.chain!;
    expect(chain.map((e) => e.node)).toEqual([
      "task cpuhp-stress/" + r.hang!.hung_tasks[0]!.pid,
      expect.stringMatching(/^task migration\/1\//),
      "cpu 0",
      "rt_rq 0",
      "hrtimer sched_rt_period_timer",
      "notifier hrtimer_cpu_notify (CPU_DEAD)",
    ]);
    expect(chain.at(-1)!.waits_for).toBe("notifier mydrv_cpu_callback (CPU_DEAD)");
    expect(chain.at(-1)!.because).toBe(
      "cpu_down(1)'s CPU_DEAD chain stopped at mydrv_cpu_callback (priority 5), which returned notifier_from_errno(-EBUSY): hrtimer_cpu_notify (priority 0) is not called for CPU 1",
    );
    const text = format_text_report(r);
    expect(text).toContain("wait-for chain (6 edges, no cycle):");
    expect(text).not.toContain("wait-for cycle");
  });

  it("the same errno after hrtimer_cpu_notify (priority -1): the timer moves and the run ends ok", () => {
    const r = run_scenario(stop_dead(8, -1, { errno: "EBUSY" }));
    expect(r.outcome).toBe("ok");
    expect(dead_calls(r).map(([n]) => n)).toContain("hrtimer_cpu_notify");
    expect(r.hotplug.every((op) => op.result === "ok")).toBe(true);
  });

  it("NOTIFY_BAD at CPU_DEAD is the kernel's BUG()", () => {
    const r = run_scenario(stop_dead(2, 5, "bad"));
    expect(r.outcome).toBe("bug");
    expect(dead_calls(r).at(-1)).toEqual(["mydrv_cpu_callback", "NOTIFY_BAD"]);
  });
});
