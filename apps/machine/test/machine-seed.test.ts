/**
 * The seed hang and its fixes, through the library API. Nothing here scripts
 * an outcome: each machine is a scenario, and the subsystems decide.
 */
import { describe, expect, it } from "vitest";
import { run_scenario } from "../src/runner.js";
import type { RunResult } from "@ksim/report";
import { load_scenario, parse_scenario } from "@ksim/scenario";
import { CpuMask } from "@ksim/core";
import type { HungTaskDetector } from "@ksim/hung-task";
import { Machine, type MachineOptions } from "../src/machine.js";

const run = (raw: unknown): RunResult => run_scenario(parse_scenario(raw, "test.yaml"));
const nodes = (r: RunResult) => r.hang?.cycle.map((e) => e.node) ?? [];
/** The seed's cycle after its first node: migration/N runnable on throttled CPU 0, the timer stranded on a dead CPU. */
const seed_cycle_tail = (migration_cpu: number): unknown[] => [
  expect.stringMatching(new RegExp(`^task migration/${migration_cpu}/`)),
  "cpu 0",
  "rt_rq 0",
  "hrtimer sched_rt_period_timer",
  "notifier hrtimer_cpu_notify (CPU_DEAD)",
];
const all_ops_complete = (r: RunResult) => r.hotplug.every((op) => op.result === "ok" && op.end_ns !== null);

/** seed-hang's machine, parameterised: `timer_cpu` starts RT work first, `hog_cpu` is the caller's CPU. */
function machine(opts: { cpus?: number; timer_cpu: number; down: number; on?: number; kernel?: object; duration?: string }) {
  const on = opts.on ?? 0;
  return {
    name: "custom",
    duration: opts.duration ?? "10m",
    kernel: { cpus: opts.cpus ?? 2, ...opts.kernel },
    tasks: [
      { comm: "rt-timer", policy: "FIFO", priority: 50, cpus: [opts.timer_cpu], start: "1100ms", behavior: { busy: true } },
      { comm: "rt-caller", policy: "FIFO", priority: 50, cpus: [on], start: "1200ms", behavior: { busy: true } },
    ],
    script: [{ at: "3s", cpu_down: opts.down, on }],
  };
}

describe("seed-hang (2.6.34 as released)", () => {
  const r = run_scenario(load_scenario("seed-hang").spec);

  it("hangs: cpuhp-stress in kthread_stop, reported by khungtaskd at its second scan, 240 s", () => {
    expect(r.outcome).toBe("hang");
    const t = r.hang!.hung_tasks[0]!;
    expect([t.comm, t.state, t.in]).toEqual(["cpuhp-stress", "D", "kthread_stop"]);
    // kthreadd forked khungtaskd onto CPU 0 (CPU 1 still had ksoftirqd/1
    // queued: boot takes no simulated time), so its timer is on CPU 0's wheel
    // and fires: schedule_timeout_interruptible(120 * HZ) ends at jiffy
    // 120000 and 240000; the first scan records the switch count of
    // cpuhp-stress (blocked at 4.901 s), the second finds it unchanged.
    expect(r.hang!.detected_by).toBe("khungtaskd");
    expect(r.hang!.detected_at_ns).toBe(240e9);
    expect(r.dmesg.join("\n")).toMatch(/INFO: task cpuhp-stress:\d+ blocked for more than 120 seconds\./);
  });

  it("a khungtaskd whose timer sleeps on CPU 1's wheel is stranded too, and ksim's watchdog says why", () => {
    // The same machine, with khungtaskd moved to CPU 1 before it first runs,
    // so that its schedule_timeout timer is on the wheel of the CPU that dies.
    const pin_khungtaskd: MachineOptions["decorate"] = (name, f) =>
      name !== "hung_task"
        ? f
        : (k) => {
            const s = f(k);
            const d = s.ops as HungTaskDetector;
            return {
              ...s,
              initcalls: [
                {
                  name: "hung_task_init",
                  level: "device",
                  *fn() {
                    const p = yield* d.hung_task_init();
                    k.sched.set_cpus_allowed_ptr(p, CpuMask.cpumask_of(1));
                  },
                },
              ],
            };
          };
    const m = new Machine(load_scenario("seed-hang").spec, { decorate: pin_khungtaskd });
    const rr = m.run();
    expect(rr.outcome).toBe("hang");
    expect(rr.hang!.detected_by).toBe("watchdog");
    expect(rr.dmesg.join("\n")).toMatch(
      /khungtaskd could not report it: it waits for timer process_timeout\(khungtaskd\/\d+\) -> notifier timer_cpu_notify \(CPU_DEAD\)/,
    );
    const waited = rr.hang!.detected_at_ns - rr.hang!.hung_tasks[0]!.blocked_since_ns;
    expect(waited).toBeGreaterThan(240e9);
    expect(waited).toBeLessThanOrEqual(240e9 + 10e9);
  });

  it("explains the hang as a wait-for cycle across four subsystems", () => {
    const n = nodes(r);
    expect(n).toHaveLength(6);
    expect(n[0]).toMatch(/^task cpuhp-stress\/\d+$/);
    expect(n[1]).toMatch(/^task migration\/1\/\d+$/);
    expect(n.slice(2)).toEqual(["cpu 0", "rt_rq 0", "hrtimer sched_rt_period_timer", "notifier hrtimer_cpu_notify (CPU_DEAD)"]);
    expect(r.hang!.cycle.at(-1)!.waits_for).toBe(n[0]);
  });

  it("leaves CPU 1 offline, CPU 0 throttled and cpu_down(1) incomplete", () => {
    expect(r.cpus.map((c) => [c.online, c.rt_throttled])).toEqual([
      [true, true],
      [false, false],
    ]);
    const down = r.hotplug.find((op) => op.op === "cpu_down")!;
    expect([down.result, down.end_ns]).toEqual(["incomplete", null]);
    expect(down.notifications.filter((x) => x.event === "CPU_DEAD").map((x) => x.notifier)).toEqual([]);
  });
});

describe("ksoftirqd/1's stop at CPU_DEAD (softirq's cpu_callback)", () => {
  // cpu_callback makes ksoftirqd/1 SCHED_FIFO MAX_RT_PRIO-1 and kthread_stop's
  // it at CPU_DEAD, priority 0: registered by an early initcall, after
  // hrtimers_nb. With hrtimer_cpu_notify moved below 0 the period timer is
  // still on CPU 1's base when that stop waits on the throttled CPU 0.
  it.each([
    ["2.6.34 with the CPU_POST_DEAD fix", ["kernel.migration_thread_stop=CPU_POST_DEAD"], ["migration_call", "timer_cpu_notify"]],
    ["2.6.35 (cpu_stop)", ["kernel.version=2.6.35"], ["cpu_stop_cpu_callback", "migration_call", "timer_cpu_notify"]],
  ] as [string, string[], string[]][])("%s: hangs in kthread_stop(ksoftirqd/1) when hrtimer_cpu_notify is at -5", (_name, sets, called) => {
    const r = run_scenario(load_scenario("seed-hang", { sets: [...sets, "kernel.notifier_priority.hrtimer_cpu_notify=-5"] }).spec);
    expect(r.outcome).toBe("hang");
    const n = nodes(r);
    expect(n[1]).toMatch(/^task ksoftirqd\/1\/\d+$/);
    expect(n.slice(2)).toEqual(["cpu 0", "rt_rq 0", "hrtimer sched_rt_period_timer", "notifier hrtimer_cpu_notify (CPU_DEAD)"]);
    expect(r.hang!.cycle[1]!.because).toMatch(/ksoftirqd\/1\/\d+ \(FIFO 99\) is runnable on CPU 0/);
    expect(r.hang!.cycle[5]!.because).toMatch(/blocked in cpu_callback \(priority 0\), which runs before hrtimer_cpu_notify \(priority -5\)/);
    const down = r.hotplug.find((op) => op.op === "cpu_down")!;
    // Called and returned at CPU_DEAD before the stop: those of priority 10, then timer_cpu_notify (0).
    expect(down.notifications.filter((x) => x.event === "CPU_DEAD").map((x) => x.notifier)).toEqual(called);
  });

  it("at the default priorities the stop finds the period timer already moved: both fixes end ok with ksoftirqd/1 gone", () => {
    const r = run_scenario(load_scenario("seed-hang", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"] }).spec);
    expect(r.outcome).toBe("ok");
    const dead = r.hotplug.find((op) => op.op === "cpu_down")!.notifications.filter((x) => x.event === "CPU_DEAD").map((x) => x.notifier);
    expect(dead.slice(0, 4)).toEqual(["migration_call", "timer_cpu_notify", "hrtimer_cpu_notify", "cpu_callback"]);
    expect(r.tasks.some((t) => t.comm === "ksoftirqd/1")).toBe(false);
  });
});

describe("the CPU notifier chain's order", () => {
  // Priority first (migration_call 10), then registration order among the
  // zeros: init_timers and hrtimers_init in start_kernel, spawn_ksoftirqd
  // (early initcall), update_runtime in sched_init_smp, then do_basic_setup's
  // init_workqueues before cpuset_init_smp.
  it.each([
    ["2.6.34", ["kernel.migration_thread_stop=CPU_POST_DEAD"]],
    ["2.6.35", ["kernel.version=2.6.35"]],
  ])("%s: CPU_DOWN_PREPARE calls the built-in notifiers in registration order", (version, sets) => {
    const r = run_scenario(load_scenario("seed-hang", { sets }).spec);
    const down = r.hotplug.find((op) => op.op === "cpu_down")!;
    const names = down.notifications.filter((n) => n.event === "CPU_DOWN_PREPARE").map((n) => n.notifier);
    const zeros = ["timer_cpu_notify", "hrtimer_cpu_notify", "cpu_callback", "update_runtime"];
    if (version === "2.6.34") expect(names).toEqual(["migration_call", ...zeros, "workqueue_cpu_callback", "cpuset_track_online_cpus"]);
    else expect(names.slice(-5)).toEqual([...zeros, "cpuset_track_online_cpus"]);
  });
});

describe("the fixes", () => {
  it.each([
    ["seed-fix-post-dead", []],
    ["seed-fix-hrtimer-priority", []],
    ["seed-hang", ["kernel.migration_thread_stop=CPU_POST_DEAD"]],
    ["seed-hang", ["kernel.notifier_priority.hrtimer_cpu_notify=20"]],
  ] as [string, string[]][])("%s %j ends ok with every hotplug operation complete", (name, sets) => {
    const r = run_scenario(load_scenario(name, { sets }).spec);
    expect(r.outcome).toBe("ok");
    expect(all_ops_complete(r)).toBe(true);
    expect(r.hotplug.some((op) => op.op === "cpu_down")).toBe(true);
    expect(r.stats.timer_migrations).toBeGreaterThan(0);
  });

  it("with the priority fix, hrtimer_cpu_notify runs before migration_call at CPU_DEAD", () => {
    const r = run_scenario(load_scenario("seed-fix-hrtimer-priority").spec);
    const down = r.hotplug.find((op) => op.op === "cpu_down")!;
    const dead = down.notifications.filter((x) => x.event === "CPU_DEAD").map((x) => x.notifier);
    expect(dead.indexOf("hrtimer_cpu_notify")).toBeLessThan(dead.indexOf("migration_call"));
  });
});

describe("other machines hang or not as the kernel would", () => {
  it("4 CPUs all loaded with RT work, timer on CPU 2, CPU 2 taken down from CPU 0: the same hang", () => {
    const m = machine({ cpus: 4, timer_cpu: 2, down: 2 });
    for (const cpu of [1, 3]) {
      m.tasks.push({ comm: `rt-${cpu}`, policy: "FIFO", priority: 50, cpus: [cpu], start: "1300ms", behavior: { busy: true } });
    }
    const r = run(m);
    expect(r.outcome).toBe("hang");
    expect(nodes(r).slice(1)).toEqual(seed_cycle_tail(2));
  });

  // 16 CPUs, a hog on each, the period timer started on CPU 9, cpu_down(9)
  // from CPU 4. The dead CPU's migration thread goes to the lowest active CPU
  // (select_fallback_rq's cpumask_any_and), CPU 0, not the caller's. A
  // notifier of migration_call's priority 10 was registered before it
  // (hrtimers_init runs before the early initcalls) and so runs first.
  describe("16 CPUs loaded with RT work, timer on CPU 9, CPU 9 taken down from CPU 4", () => {
    const sixteen = (kernel: object) => {
      const m = machine({ cpus: 16, timer_cpu: 9, down: 9, on: 4, duration: "5m", kernel });
      for (let cpu = 0; cpu < 16; cpu++) {
        if (cpu !== 9 && cpu !== 4) m.tasks.push({ comm: `rt-${cpu}`, policy: "FIFO", priority: 50, cpus: [cpu], start: "1300ms", behavior: { busy: true } });
      }
      return m;
    };
    it.each([[0], [9]])("hrtimer_cpu_notify at %i: the seed's hang, with migration/9 waiting on CPU 0", (prio) => {
      const r = run(sixteen({ notifier_priority: { hrtimer_cpu_notify: prio } }));
      expect(r.outcome).toBe("hang");
      expect(nodes(r).slice(1)).toEqual(seed_cycle_tail(9));
    });
    it.each([
      ["hrtimer_cpu_notify at 10", { notifier_priority: { hrtimer_cpu_notify: 10 } }],
      ["CPU_POST_DEAD", { migration_thread_stop: "CPU_POST_DEAD" }],
    ])("%s: no hang, and the dead CPU's timer moved", (_name, kernel) => {
      const r = run(sixteen(kernel));
      expect(r.outcome).toBe("ok");
      expect(all_ops_complete(r)).toBe(true);
      expect(r.stats.timer_migrations).toBeGreaterThan(0);
    });
  });

  it("4 CPUs with idle ones to borrow from: CPU 0's hog borrows a whole period and the NORMAL hotplug task starves (no D state, no hang)", () => {
    const r = run(machine({ cpus: 4, timer_cpu: 2, down: 2, duration: "5m" }));
    expect(r.outcome).toBe("ok");
    expect(r.stats.rt_throttles).toBe(0);
    expect(r.hotplug.filter((op) => op.op === "cpu_down")).toEqual([]);
    expect(r.tasks.find((t) => t.comm === "cpuhp-stress")).toMatchObject({ state: "R", runtime_ns: 0 });
  });

  it("the period timer on a CPU that stays online: no hang", () => {
    const r = run(machine({ cpus: 3, timer_cpu: 2, down: 1, duration: "2m" }));
    expect(r.outcome).toBe("ok");
    expect(all_ops_complete(r)).toBe(true);
  });

  it("the period timer on the caller's own CPU: no hang", () => {
    const r = run(machine({ cpus: 2, timer_cpu: 0, down: 1, duration: "2m" }));
    expect(r.outcome).toBe("ok");
    expect(all_ops_complete(r)).toBe(true);
  });

  it("throttling off (sched_rt_runtime_us = -1): no hang, and no throttle ever", () => {
    const m = machine({ cpus: 2, timer_cpu: 1, down: 1, duration: "2m", kernel: { sched_rt_runtime_us: -1 } });
    // With no throttling, FIFO hogs starve the NORMAL hotplug task on their
    // CPU (CPU 1's joins CPU 0 once CPU 1 is dead): leave them gaps.
    m.tasks[0]!.behavior = { cycle: { run: "300ms", sleep: "700ms" } } as never;
    m.tasks[1]!.behavior = { cycle: { run: "500ms", sleep: "500ms" } } as never;
    const r = run(m);
    expect(r.outcome).toBe("ok");
    expect(r.stats.rt_throttles).toBe(0);
    expect(all_ops_complete(r)).toBe(true);
  });
});

describe("a vetoing notifier", () => {
  it("leaves the CPU online; CPU_DOWN_FAILED goes to exactly the notifiers called before it; EINVAL", () => {
    const r = run({
      name: "veto",
      duration: "30s",
      kernel: { cpus: 2 },
      notifiers: [{ name: "mydrv_cpu_callback", priority: 5, actions: { CPU_DOWN_PREPARE: "bad" } }],
      script: [{ at: "1s", cpu_down: 1 }],
    });
    expect(r.outcome).toBe("ok");
    expect(r.cpus[1]!.online).toBe(true);
    const down = r.hotplug.find((op) => op.op === "cpu_down")!;
    expect(down.result).toBe("EINVAL");
    const prepare = down.notifications.filter((x) => x.event === "CPU_DOWN_PREPARE").map((x) => x.notifier);
    const failed = down.notifications.filter((x) => x.event === "CPU_DOWN_FAILED").map((x) => x.notifier);
    expect(prepare).toEqual(["migration_call", "mydrv_cpu_callback"]);
    expect(failed).toEqual(["migration_call"]);
  });
});
