/**
 * find_busiest_group() on domains of one-CPU groups reads an index of the
 * CPUs' fair load instead of walking every group. With the debug check on,
 * every balance also walks the groups as kernel/sched_fair.c does and a
 * different answer is a BUG; these machines balance often, with loads
 * rising and falling (cpu_load[] unsettled), ties among equal loads, and
 * tasks of several weights.
 */
import { CpuMask, NSEC_PER_MSEC, RUN, SLEEP, smp_processor_id, type KernelCall } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { make_sched_kernel, spawn_on } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

function* spin(): KernelCall<number> {
  yield RUN(Number.POSITIVE_INFINITY);
  return 0;
}

/** Runs `run` ms and sleeps `sleep` ms, for ever. */
const cycle = (run: number, sleep: number) =>
  function* (): KernelCall<number> {
    for (;;) {
      yield RUN(ms(run));
      yield SLEEP(ms(sleep));
    }
  };

describe.each([8, 16, 64])("the balancer's index agrees with the walk over every group (%i CPUs)", (cpus) => {
  it("through 3 s of spinners and sleepers of nice -5, 0 and 5, all started on the first CPUs", () => {
    const k = make_sched_kernel({ cpus, sched_rt_runtime_us: -1 });
    k.sched.fair_class.env.check_index = true;
    const all = CpuMask.first_n(cpus);
    const nices = [-5, 0, 5];
    for (let i = 0; i < 2 * cpus; i++) {
      const threadfn = i % 3 === 0 ? spin : cycle(3 + (i % 7), 2 + (i % 5));
      spawn_on(k, i % 3, { comm: `t${i}`, policy: "NORMAL", nice: nices[i % 3]!, cpus_allowed: all, threadfn });
    }
    // An RT task per CPU now and then, so CPUs hold a second task and become possible busiest ones.
    for (let c = 0; c < cpus; c += 2) {
      spawn_on(k, c, { comm: `rt${c}`, policy: "FIFO", rt_priority: 10, cpus_allowed: CpuMask.of([c]), threadfn: cycle(4, 11) });
    }
    const end = k.engine.run(ms(3000));
    expect(k.engine.bug).toBeNull();
    expect(end).toBe("until");
    // The tasks spread from the first three CPUs over all of them.
    const used = new Set(k.sched.tasks.filter((t) => t.comm.startsWith("t")).map((t) => t.cpu));
    expect(used.size).toBe(cpus);
  });

  it("fork balancing: a task forked every 7 ms, some bound to two CPUs, lands where the walk of find_idlest_group puts it", () => {
    const k = make_sched_kernel({ cpus, sched_rt_runtime_us: -1 });
    k.sched.fair_class.env.check_index = true;
    const all = CpuMask.first_n(cpus);
    const nices = [-5, 0, 5];
    const children = 3 * cpus;
    let forked = 0;
    function* forker(): KernelCall<number> {
      for (let i = 0; i < children; i++) {
        const allowed = i % 4 === 0 ? CpuMask.of([i % cpus, (5 * i + 1) % cpus]) : all;
        const threadfn = i % 2 === 0 ? spin : cycle(2 + (i % 5), 3 + (i % 4));
        const p = k.sched.create_task({ cpu: smp_processor_id(), comm: `f${i}`, policy: "NORMAL", nice: nices[i % 3]!, cpus_allowed: allowed, threadfn });
        k.sched.wake_up_new_task(p);
        forked++;
        yield SLEEP(ms(7));
      }
      return 0;
    }
    spawn_on(k, 0, { comm: "forker", policy: "NORMAL", cpus_allowed: all, threadfn: forker });
    const end = k.engine.run(ms(7 * children + 200));
    expect(k.engine.bug).toBeNull();
    expect(end).toBe("until");
    expect(forked).toBe(children);
    // Fork balancing spread the children from the forker's CPU over the machine.
    const used = new Set(k.sched.tasks.filter((t) => t.comm.startsWith("f")).map((t) => t.cpu));
    expect(used.size).toBe(cpus);
  });
});
