import { CPU_DEAD, CPU_UP_CANCELED, CPU_UP_PREPARE, CpuMask, MAX_RT_PRIO, SLEEP, in_irq, type KernelCall } from "@ksim/core";
import { SimpleKthreads, make_test_kernel, type FakeHotplug, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { SOFTIRQ, Softirqs, TASKLET_SOFTIRQ, TIMER_SOFTIRQ } from "../src/index.js";

interface Machine {
  k: TestKernel;
  s: Softirqs;
  hp: FakeHotplug;
}

/** softirq_init(), then a task on CPU 0 that runs spawn_ksoftirqd() and then `then`. */
function boot(then: (m: Machine) => KernelCall<number>, cpus = 2): Machine {
  const k = make_test_kernel({ cpus, kthread: (kk) => new SimpleKthreads(kk) });
  const s = new Softirqs(k);
  k.services.set(SOFTIRQ.name, s);
  s.softirq_init();
  const m: Machine = { k, s, hp: k.hotplug as FakeHotplug };
  k.spawn({
    comm: "init",
    cpu: 0,
    cpus_allowed: CpuMask.cpumask_of(0),
    *threadfn() {
      yield* s.spawn_ksoftirqd();
      return yield* then(m);
    },
  });
  return m;
}

const state = (m: Machine) => [...m.k.sched.for_each_process()].filter((p) => p.comm.startsWith("ksoftirqd")).map((p) => [p.comm, p.state, p.cpus_allowed.to_list(), p.policy]);

describe("ksoftirqd (kernel/softirq.c)", () => {
  it("spawn_ksoftirqd makes ksoftirqd/0 bound to the boot CPU, asleep, and registers cpu_callback at priority 0", () => {
    const m = boot(function* () {
      return 0;
    });
    m.k.run();
    expect(state(m)).toEqual([["ksoftirqd/0", "S", [0], "NORMAL"]]);
    expect(m.hp.chain.map((nb) => [nb.name, nb.priority])).toEqual([["cpu_callback", 0]]);
  });

  it("CPU_UP_PREPARE creates ksoftirqd/1 bound to CPU 1; CPU_ONLINE wakes it", () => {
    const m = boot(function* (mm) {
      mm.hp.set_online(1, false);
      yield* mm.hp.cpu_up(1);
      return 0;
    });
    m.k.run();
    expect(state(m)).toEqual([
      ["ksoftirqd/0", "S", [0], "NORMAL"],
      ["ksoftirqd/1", "S", [1], "NORMAL"],
    ]);
    expect(m.s.ksoftirqd(1)?.comm).toBe("ksoftirqd/1");
  });

  it("CPU_DEAD makes ksoftirqd/1 SCHED_FIFO MAX_RT_PRIO-1, stops it, and takeover_tasklets wakes this CPU's ksoftirqd", () => {
    const seen: [string, number][] = [];
    const m = boot(function* (mm) {
      mm.hp.set_online(1, false);
      yield* mm.hp.cpu_up(1);
      yield SLEEP(1_000_000); // ksoftirqd/1 runs on CPU 1 and goes to sleep there
      const p = mm.s.ksoftirqd(1)!;
      const wakeups = mm.s.stats.ksoftirqd_wakeups;
      mm.hp.set_online(1, false);
      yield* mm.hp.call_chain(CPU_DEAD, 1);
      seen.push([p.policy, p.rt_priority], [p.state, mm.s.stats.ksoftirqd_wakeups - wakeups]);
      return 0;
    });
    m.k.run();
    expect(seen).toEqual([
      ["FIFO", MAX_RT_PRIO - 1],
      ["X", 1],
    ]);
    expect(m.s.ksoftirqd(1)).toBeNull();
    // ksoftirqd/0 ran TASKLET and HI (empty lists) and went back to sleep.
    expect(m.s.stats.actions_run).toBe(2);
    expect(m.s.softirq_pending(0)).toBe(0);
    expect(state(m)).toEqual([["ksoftirqd/0", "S", [0], "NORMAL"]]);
  });

  it("CPU_UP_CANCELED binds the never-run thread to an online CPU, then stops it as CPU_DEAD does", () => {
    const m = boot(function* (mm) {
      mm.hp.set_online(1, false);
      yield* mm.hp.call_chain(CPU_UP_PREPARE, 1);
      const p = mm.s.ksoftirqd(1)!;
      yield* mm.hp.call_chain(CPU_UP_CANCELED, 1);
      return p.state === "X" && p.cpus_allowed.to_list()[0] === 0 ? 0 : 1;
    });
    m.k.run();
    expect(m.s.ksoftirqd(1)).toBeNull();
    expect(state(m)).toEqual([["ksoftirqd/0", "S", [0], "NORMAL"]]);
  });

  it("a softirq raised from process context runs in ksoftirqd; in interrupt context it only becomes pending", () => {
    let ran = 0;
    let pending_after_irq: number[] = [];
    const m = boot(function* (mm) {
      mm.s.open_softirq(TASKLET_SOFTIRQ, () => ran++);
      yield SLEEP(1_000_000); // ksoftirqd/0 has run and sleeps
      in_irq(mm.k.sched, 0, () => mm.s.raise_softirq_irqoff(TIMER_SOFTIRQ));
      // Left for irq_exit (TIMER_SOFTIRQ has no action here): pending, nobody woken.
      pending_after_irq = [mm.s.softirq_pending(0), mm.s.stats.ksoftirqd_wakeups];
      mm.s.raise_softirq_irqoff(TASKLET_SOFTIRQ);
      return 0;
    });
    m.k.run();
    expect([ran, m.s.stats.ksoftirqd_wakeups]).toEqual([1, 1]);
    expect(pending_after_irq).toEqual([1 << TIMER_SOFTIRQ, 0]);
    expect(m.s.softirq_pending(0)).toBe(0);
  });
});
