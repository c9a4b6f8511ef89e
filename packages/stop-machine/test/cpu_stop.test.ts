import {
  CPU_DEAD,
  CPU_POST_DEAD,
  CPU_STOP as CPU_STOP_KEY,
  CPU_UP_CANCELED,
  CPU_UP_PREPARE,
  CpuMask,
  current,
  ENOENT,
  in_atomic,
  NOTIFY_OK,
  NSEC_PER_MSEC,
  SLEEP,
  smp_processor_id,
  type CpuStopWork,
  type KernelCall,
  type NotifierBlock,
  type ProcessExecutor,
} from "@ksim/core";
import type { TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { CPU_STOP_CPU_NOTIFY_PRIORITY, cpu_stop_machine_subsystem, cpu_stop_subsystem } from "../src/index.js";
import { boot, hog, task_at } from "./helpers.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

/** Whether `cpu` has interrupts off (the test kernel's executor is a ProcessExecutor). */
function irqs_disabled(k: TestKernel, cpu: number): boolean {
  return (k.sched as ProcessExecutor).irqs_disabled(cpu);
}

describe("cpu_stop: the stoppers over boot", () => {
  it("cpu_stop_init makes migration/0 by hand; smp_init's notifier calls make the others: FIFO 99, bound, asleep", () => {
    const { cs, hp } = boot(3);
    expect([0, 1, 2].map((c) => {
      const t = cs.stopper(c).thread!;
      return [t.comm, t.policy, t.rt_priority, t.cpus_allowed.to_list(), t.state, cs.stopper(c).enabled];
    })).toEqual([
      ["migration/0", "FIFO", 99, [0], "S", true],
      ["migration/1", "FIFO", 99, [1], "S", true],
      ["migration/2", "FIFO", 99, [2], "S", true],
    ]);
    expect(CPU_STOP_CPU_NOTIFY_PRIORITY).toBe(10);
    expect(hp.chain.map((nb) => [nb.name, nb.priority])).toEqual([["cpu_stop_cpu_callback", 10]]);
    // The boot CPU's callback was run by hand, before the notifier was registered.
    expect(hp.calls.map(([, action, cpu, ret]) => [action, cpu, ret])).toEqual([
      [CPU_UP_PREPARE, 1, NOTIFY_OK],
      [0x2, 1, NOTIFY_OK],
      [CPU_UP_PREPARE, 2, NOTIFY_OK],
      [0x2, 2, NOTIFY_OK],
    ]);
  });
});

describe("cpu_stop: the stop functions", () => {
  it("stop_one_cpu runs fn on that CPU's stopper, preempting a running FIFO 50 task, and returns fn's result", () => {
    const { k } = boot(2);
    const h = hog(k, 1, 50, ms(1));
    const seen: unknown[] = [];
    const out: number[] = [];
    task_at(k, "caller", 0, ms(5), function* (): KernelCall<number> {
      const ret = yield* k.service(CPU_STOP_KEY).stop_one_cpu(1, (arg) => {
        seen.push([current().comm, smp_processor_id(), in_atomic(), arg, h.state, h.on_cpu, k.engine.now]);
        return 42;
      }, "arg");
      out.push(ret, k.engine.now);
      return 0;
    });
    k.run(ms(20));
    expect(seen).toEqual([["migration/1", 1, true, "arg", "R", false, ms(5)]]);
    expect(out).toEqual([42, ms(5)]);
    // The hog was preempted once and got its CPU back.
    expect([h.nivcsw, k.sched.cpu_curr(1)]).toEqual([1, h]);
  });

  it("stop_one_cpu_nowait fills the work and returns at once; fn runs later on that CPU", () => {
    const { k } = boot(2);
    const log: string[] = [];
    const work: CpuStopWork = { fn: null, arg: null };
    const fn = () => (log.push(`fn on ${current().comm} at ${k.engine.now / ms(1)} ms`), 0);
    hog(k, 1, 99, ms(1), ms(4)); // the stopper waits behind an equal-priority task until 5 ms
    task_at(k, "caller", 0, ms(2), function* (): KernelCall<number> {
      k.service(CPU_STOP_KEY).stop_one_cpu_nowait(1, fn, 7, work);
      log.push(`returned at ${k.engine.now / ms(1)} ms`);
      return 0;
    });
    k.run(ms(20));
    expect(log).toEqual(["returned at 2 ms", "fn on migration/1 at 5 ms"]);
    expect([work.fn, work.arg]).toEqual([fn, 7]);
  });

  it("stop_cpus runs fn on every CPU of the mask and waits for all; the last -errno comes back", () => {
    const { k, cs } = boot(3);
    hog(k, 2, 99, ms(1), ms(9)); // holds migration/2 back until 10 ms
    const ran: [number, number][] = [];
    const out: number[] = [];
    const caller = task_at(k, "caller", 1, ms(2), function* (): KernelCall<number> {
      const ret = yield* k.service(CPU_STOP_KEY).stop_cpus(CpuMask.of([0, 2]), () => {
        ran.push([smp_processor_id(), k.engine.now / ms(1)]);
        return smp_processor_id() === 2 ? -16 : 0;
      }, null);
      out.push(ret, k.engine.now / ms(1));
      return 0;
    });
    k.run(ms(5));
    expect(ran).toEqual([[0, 2]]);
    expect([caller.state, caller.wchan]).toEqual(["D", "stop_cpus"]);
    const edge = k.waitfor.explain({ kind: "task", task: caller })!;
    expect(edge.to).toEqual({ kind: "task", task: cs.stopper(2).thread });
    expect(edge.because).toBe("stop_cpus waits for migration/2 to run its work on CPU 2");
    k.run(ms(20));
    expect(ran).toEqual([[0, 2], [2, 10]]);
    expect(out).toEqual([-16, 10]);
  });

  it("a task in stop_one_cpu waits for that CPU's stopper in the wait-for graph", () => {
    const { k, cs } = boot(2);
    hog(k, 1, 99, ms(1), ms(100));
    const caller = task_at(k, "caller", 0, ms(2), function* (): KernelCall<number> {
      return yield* k.service(CPU_STOP_KEY).stop_one_cpu(1, () => 0, null);
    });
    k.run(ms(10));
    expect(k.waitfor.explain({ kind: "task", task: caller })).toEqual({
      from: { kind: "task", task: caller },
      to: { kind: "task", task: cs.stopper(1).thread },
      because: "stop_one_cpu(1) waits for migration/1 to run its work on CPU 1",
    });
  });
});

describe("stop_machine over cpu_stop", () => {
  it("runs fn once, with interrupts off, while every online CPU's stopper holds its CPU", () => {
    const { k, sm } = boot(3);
    for (let c = 0; c < 3; c++) hog(k, c, 50, ms(1));
    const seen: unknown[] = [];
    const out: number[] = [];
    task_at(k, "caller", 0, ms(5), function* (): KernelCall<number> {
      const ret = yield* sm.stop_machine(() => {
        seen.push({
          cpu: smp_processor_id(),
          atomic: in_atomic(),
          irqs_off: sm.smdata!.irqs_off,
          // local_irq_disable() on each CPU: no tick lands there until EXIT.
          irqs_disabled: [0, 1, 2].map((c) => irqs_disabled(k, c)),
          curr: [0, 1, 2].map((c) => k.sched.cpu_curr(c).comm),
          now: k.engine.now,
        });
        return 3;
      }, CpuMask.cpumask_of(1));
      out.push(ret, k.engine.now, sm.nr_calls);
      return 0;
    }, 60);
    k.run(ms(20));
    expect(seen).toEqual([
      { cpu: 1, atomic: true, irqs_off: 3, irqs_disabled: [true, true, true], curr: ["migration/0", "migration/1", "migration/2"], now: ms(5) },
    ]);
    expect(out).toEqual([3, ms(5), 1]);
    expect([0, 1, 2].map((c) => irqs_disabled(k, c))).toEqual([false, false, false]);
  });

  it("fn runs on every active CPU (2.6.35), or on the first online CPU when no mask is given", () => {
    const { k, sm, hp } = boot(4);
    hp.set_online(0, false); // as if CPU 0 were down: the first online CPU is 1
    const where: number[][] = [[], []];
    task_at(k, "caller", 2, ms(1), function* (): KernelCall<number> {
      yield* sm.stop_machine(() => (where[0]!.push(smp_processor_id()), 0), CpuMask.of([1, 3]));
      yield* sm.stop_machine(() => (where[1]!.push(smp_processor_id()), 0), new CpuMask());
      return 0;
    });
    k.run(ms(10));
    expect(where).toEqual([[1, 3], [1]]);
  });

  it("stoppers that arrived spin on their CPUs until the last one runs: they take CPU time, the FIFO 50 tasks none", () => {
    const { k, sm, cs } = boot(3);
    const h1 = hog(k, 1, 50, ms(1));
    hog(k, 2, 99, ms(1), ms(9)); // migration/2 waits behind it until 10 ms
    let ran_at = -1;
    const caller = task_at(k, "caller", 0, ms(2), function* (): KernelCall<number> {
      return yield* sm.stop_machine(() => ((ran_at = k.engine.now), 0), CpuMask.cpumask_of(0));
    });
    k.run(ms(6));
    const h1_before = k.sched.task_sched_runtime(h1);
    expect(k.sched.cpu_curr(1).comm).toBe("migration/1");
    expect(k.waitfor.explain({ kind: "task", task: caller })!.because).toBe("stop_cpus waits for migration/2 to run its work on CPU 2");
    k.run(ms(20));
    expect(ran_at).toBe(ms(10));
    expect(k.sched.task_sched_runtime(cs.stopper(1).thread!)).toBe(ms(8));
    expect(h1_before).toBe(ms(1));
    expect(k.sched.task_sched_runtime(h1)).toBe(ms(1) + ms(10));
  });
});

describe("cpu_stop: the stopper over hotplug", () => {
  /** Records, at each event, whether CPU 2's stopper exists (runs after cpu_stop: priority 0). */
  function recorder(seen: string[], cs: { stopper(c: number): { thread: { comm: string } | null } }): NotifierBlock {
    return {
      name: "recorder",
      priority: 0,
      *notifier_call(_nb, action, cpu) {
        if (cpu === 2) seen.push(`${action}: ${cs.stopper(2).thread?.comm ?? "none"}`);
        return NOTIFY_OK;
      },
    };
  }

  it("cpu_down: the stopper still exists at CPU_DEAD and is stopped at CPU_POST_DEAD; cpu_up makes a new one", () => {
    const { k, cs, hp } = boot(3);
    const seen: string[] = [];
    hp.register_cpu_notifier(recorder(seen, cs));
    const old = cs.stopper(2).thread!;
    const made: string[] = [];
    task_at(k, "cpuhp", 0, ms(1), function* (): KernelCall<number> {
      yield* hp.cpu_down(2);
      made.push(`${old.state} ${cs.stopper(2).enabled}`);
      yield* hp.cpu_up(2);
      return 0;
    });
    k.run(ms(10));
    expect(seen).toEqual([
      `${0x5}: migration/2`,
      `${CPU_DEAD}: migration/2`,
      `${CPU_POST_DEAD}: none`,
      `${CPU_UP_PREPARE}: migration/2`,
      `${0x2}: migration/2`,
    ]);
    expect(made).toEqual(["X false"]);
    const t = cs.stopper(2).thread!;
    expect(t).not.toBe(old);
    expect([t.comm, t.cpu, t.cpus_allowed.to_list(), t.state, cs.stopper(2).enabled]).toEqual(["migration/2", 2, [2], "S", true]);
  });

  it("a cancelled cpu_up: UP_PREPARE makes the stopper, UP_CANCELED stops it; a work for that CPU fails with -ENOENT", () => {
    const { k, cs, hp } = boot(3);
    const log: unknown[] = [];
    task_at(k, "cpuhp", 0, ms(1), function* (): KernelCall<number> {
      yield* hp.cpu_down(2);
      yield* hp.call_chain(CPU_UP_PREPARE, 2);
      const t = cs.stopper(2).thread!;
      log.push([t.comm, t.state, cs.stopper(2).enabled]);
      yield* hp.call_chain(CPU_UP_CANCELED, 2);
      log.push([t.state, cs.stopper(2).thread, cs.stopper(2).enabled]);
      log.push(yield* cs.stop_one_cpu(2, () => 1, null));
      return 0;
    });
    k.run(ms(10));
    expect(log).toEqual([["migration/2", "S", false], ["X", null, false], -ENOENT]);
  });

  it("a work pending on a dying CPU's stopper at CPU_POST_DEAD completes as failed (-ENOENT) and its waiter returns", () => {
    const { k, cs, hp } = boot(3);
    let fn_ran = false;
    // A CPU_DEAD notifier that sleeps 20 ms opens a window between CPU_DEAD and CPU_POST_DEAD.
    hp.register_cpu_notifier({
      name: "slow_dead",
      priority: 0,
      *notifier_call(_nb, action) {
        if (action === CPU_DEAD) yield SLEEP(ms(20));
        return NOTIFY_OK;
      },
    });
    // CPU 0, where the woken stopper of the dead CPU 1 lands, is held by a FIFO 99 task until 105 ms.
    hog(k, 0, 99, ms(5), ms(100));
    task_at(k, "cpuhp", 2, ms(10), function* (): KernelCall<number> {
      return yield* hp.cpu_down(1);
    });
    const out: number[] = [];
    const w = task_at(k, "waiter", 2, ms(15), function* (): KernelCall<number> {
      out.push(yield* cs.stop_one_cpu(1, () => ((fn_ran = true), 0), null), k.engine.now / ms(1));
      return 0;
    }, 50);
    k.run(ms(50));
    expect([w.state, w.wchan, cs.stopper(1).works.length]).toEqual(["D", "stop_one_cpu", 1]);
    k.run(ms(200));
    expect(out).toEqual([-ENOENT, 105]);
    expect(fn_ran).toBe(false);
    expect([cs.stopper(1).thread, cs.stopper(1).works.length, cs.stats.failed]).toEqual([null, 0, 1]);
  });
});

describe("the 2.6.35 factories", () => {
  it("cpu_stop_subsystem provides CPU_STOP with cpu_stop_init at early; cpu_stop_machine_subsystem provides STOP_MACHINE with no initcall", () => {
    const { k } = boot(1);
    const a = cpu_stop_subsystem()(k);
    const b = cpu_stop_machine_subsystem()(k);
    expect([a.name, a.provides?.name, a.initcalls.map((c) => [c.name, c.level])]).toEqual(["cpu_stop", "cpu_stop", [["cpu_stop_init", "early"]]]);
    expect([b.name, b.provides?.name, b.initcalls]).toEqual(["stop_machine", "stop_machine", []]);
  });
});
