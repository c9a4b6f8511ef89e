import {
  CPU_DEAD,
  CPU_DOWN_PREPARE,
  CPU_DYING,
  CPU_POST_DEAD,
  CPU_STOP,
  CpuMask,
  EINVAL,
  exec_context,
  in_irq,
  NSEC_PER_MSEC,
  RUN,
  SCHEDULE,
  SLEEP,
  type KernelCall,
  type TaskStruct,
} from "@ksim/core";
import type { FakeHotplug } from "@ksim/core/testing";
import { make_test_kernel, SimpleHrtimers, SimpleKthreads, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { migration_init_2635, sched_init_smp, Scheduler, Scheduler2635 } from "../src/index.js";
import { FakeCpuStop } from "./fake_cpu_stop.js";
import { spawn_on } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;
const spinner = function* () {
  yield RUN(Number.POSITIVE_INFINITY);
  return 0;
};

interface Kernel2635 extends TestKernel {
  sched: Scheduler;
  hrtimer: SimpleHrtimers;
  hotplug: FakeHotplug;
}

/** The scheduler of `version` over core's fakes, with a fake cpu_stop; every CPU online. */
function make_kernel(version: "2.6.34" | "2.6.35", cpus = 2): { k: Kernel2635; stop: FakeCpuStop } {
  const k = make_test_kernel({
    cpus,
    hrtimer: (k) => new SimpleHrtimers(k),
    kthread: (k) => new SimpleKthreads(k),
    sched: (k) => (version === "2.6.35" ? new Scheduler2635(k, { nr_cpus: cpus }) : new Scheduler(k, { nr_cpus: cpus })),
  }) as Kernel2635;
  k.sched.init();
  for (let c = 0; c < cpus; c++) k.sched.set_rq_online(c);
  const stop = new FakeCpuStop(k);
  k.services.set(CPU_STOP.name, stop);
  return { k, stop };
}

/** _cpu_down()'s notifier sequence over the fake hotplug, take_cpu_down on the dying CPU. */
function* cpu_down(k: Kernel2635, cpu: number): KernelCall<number> {
  yield* k.hotplug.call_chain(CPU_DOWN_PREPARE, cpu);
  const ctx = exec_context();
  const saved = ctx.cpu;
  ctx.cpu = cpu;
  k.hotplug.set_online(cpu, false);
  k.hotplug.call_chain_atomic(CPU_DYING, cpu);
  k.sched.sched_idle_next();
  ctx.cpu = saved;
  while (!k.sched.idle_cpu(cpu)) {
    yield SCHEDULE;
    yield RUN(1000);
  }
  yield* k.hotplug.call_chain(CPU_DEAD, cpu);
  yield* k.hotplug.call_chain(CPU_POST_DEAD, cpu);
  return 0;
}

describe("2.6.35 set_cpus_allowed_ptr goes through stop_one_cpu(migration_cpu_stop)", () => {
  it("a running task moves when the stopper of its CPU has run migration_cpu_stop", () => {
    const { k, stop } = make_kernel("2.6.35");
    const hog = spawn_on(k, 1, { comm: "hog", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    k.run(ms(10));
    expect([hog.cpu, hog.on_cpu]).toEqual([1, true]);
    in_irq(k.sched, 0, () => expect(k.sched.set_cpus_allowed_ptr(hog, CpuMask.of([0]))).toBe(0));
    k.run(ms(20));
    expect(stop.ran).toEqual([[1, ms(10)]]);
    expect([hog.cpu, hog.on_cpu, k.sched.cpu_curr(0)]).toEqual([0, true, hog]);
  });

  it("a task on a throttled CPU moves only at the period timer, when the FIFO 99 stopper may run", () => {
    // sched_rt_runtime_us 950000 of sched_rt_period_us 1000000: CPU 1 throttles at 950 ms.
    // Both CPUs busy with RT work, so neither can lend runtime to the other.
    const { k, stop } = make_kernel("2.6.35");
    spawn_on(k, 0, { comm: "hog0", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    const hog = spawn_on(k, 1, { comm: "hog", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    k.run(ms(960));
    expect(k.sched.rt_rq_stats(1).rt_throttled).toBe(true);
    in_irq(k.sched, 0, () => k.sched.set_cpus_allowed_ptr(hog, CpuMask.of([0])));
    k.run(ms(999));
    expect(hog.cpu).toBe(1);
    k.run(ms(1010));
    expect(stop.ran).toEqual([[1, ms(1000)]]);
    expect(hog.cpu).toBe(0);
  });

  it("2.6.34 moves the same queued task at once, with no stopper", () => {
    const { k, stop } = make_kernel("2.6.34");
    spawn_on(k, 0, { comm: "hog0", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    const hog = spawn_on(k, 1, { comm: "hog", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    k.run(ms(960));
    expect([k.sched.rt_rq_stats(1).rt_throttled, hog.on_cpu]).toEqual([true, false]);
    in_irq(k.sched, 0, () => k.sched.set_cpus_allowed_ptr(hog, CpuMask.of([0])));
    expect(hog.cpu).toBe(0);
    expect(stop.ran).toEqual([]);
  });

  it("a sleeping task only gets the mask; its wake-up places it", () => {
    const { k, stop } = make_kernel("2.6.35");
    const sleeper = spawn_on(k, 1, {
      comm: "sleeper",
      *threadfn() {
        yield SLEEP(ms(5));
        yield RUN(ms(1));
        return 0;
      },
    });
    k.run(ms(1));
    expect(sleeper.state).toBe("S");
    in_irq(k.sched, 0, () => k.sched.set_cpus_allowed_ptr(sleeper, CpuMask.of([0])));
    expect(sleeper.cpu).toBe(1);
    k.run(ms(5) + 1);
    expect([sleeper.cpu, stop.ran.length]).toEqual([0, 0]);
  });

  it("refuses a mask with no active CPU, and a new mask for another task's bound thread", () => {
    const { k } = make_kernel("2.6.35");
    const t = spawn_on(k, 0, { comm: "t", threadfn: spinner });
    k.hotplug.set_online(1, false);
    expect(k.sched.set_cpus_allowed_ptr(t, CpuMask.of([1]))).toBe(-EINVAL);
    const bound = k.sched.create_task({ comm: "kt", cpu: 0, cpus_allowed: CpuMask.of([0]), flags: 0x04000000, threadfn: spinner });
    expect(k.sched.set_cpus_allowed_ptr(bound, CpuMask.of([0, 1]))).toBe(-EINVAL);
  });
});

describe("2.6.35 migration_call creates and stops no thread", () => {
  function boot(k: Kernel2635): void {
    k.hotplug.set_online(1, false);
    k.sched.set_rq_offline(1);
    spawn_on(k, 0, {
      comm: "init",
      cpus_allowed: CpuMask.of([0]),
      *threadfn() {
        yield* migration_init_2635(k.sched as Scheduler2635, 0);
        yield* k.hotplug.cpu_up(1);
        sched_init_smp(k.sched);
        return 0;
      },
    });
    k.run(0);
  }

  it("registers migration_call at priority 10; cpu_up only sets the rq online", () => {
    const { k, stop } = make_kernel("2.6.35");
    boot(k);
    expect(k.hotplug.chain.map((nb) => [nb.name, nb.priority])).toEqual([
      ["migration_call", 10],
      ["update_runtime", 0],
    ]);
    // Every migration/N is cpu_stop's: the scheduler made none of its own.
    const migration = [...k.sched.for_each_process()].filter((p) => p.comm.startsWith("migration/"));
    expect(migration).toEqual(stop.stoppers);
    expect(k.sched.migration_thread).toEqual([null, null]);
    expect(k.sched.rq_online[1]).toBe(true);
    expect(stop.stoppers.map((p) => p.comm)).toEqual(["migration/0", "migration/1"]);
  });

  it("at CPU_DEAD queued tasks move to a live CPU; a sleeper keeps task_cpu until its wake-up", () => {
    const { k } = make_kernel("2.6.35");
    boot(k);
    const sleeper: TaskStruct = spawn_on(k, 1, {
      comm: "sleeper",
      cpus_allowed: CpuMask.of([1]),
      *threadfn() {
        yield SLEEP(ms(50));
        yield RUN(ms(1));
        return 0;
      },
    });
    k.run(ms(1));
    const queued = spawn_on(k, 1, { comm: "q", cpus_allowed: CpuMask.of([1]), threadfn: spinner });
    const hog = spawn_on(k, 1, { comm: "hog", policy: "FIFO", rt_priority: 10, cpus_allowed: CpuMask.of([1]), threadfn: spinner });
    k.run(ms(2));
    let ret = -1;
    const seen: string[] = [];
    k.hotplug.register_cpu_notifier({
      name: "probe",
      priority: 0,
      *notifier_call(_nb, action) {
        if (action === CPU_DEAD) seen.push(`q ${queued.cpu} hog ${hog.cpu} sleeper ${sleeper.cpu} ${sleeper.state}`);
        return 1;
      },
    });
    spawn_on(k, 0, {
      comm: "cpuhp",
      cpus_allowed: CpuMask.of([0]),
      *threadfn() {
        ret = yield* cpu_down(k, 1);
        return 0;
      },
    });
    k.run(ms(10));
    expect(ret).toBe(0);
    expect(seen).toEqual(["q 0 hog 0 sleeper 1 S"]);
    // select_fallback_rq() widened its mask already; the wake-up (here by hand:
    // the fake hrtimers leave its timer on CPU 1) puts it on CPU 0.
    expect(sleeper.cpus_allowed.toString()).toBe("0-1");
    in_irq(k.sched, 0, () => k.sched.wake_up_process(sleeper));
    expect([sleeper.cpu, sleeper.state]).toEqual([0, "R"]);
  });
});
