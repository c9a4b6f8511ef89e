import { CPU_STOP, CpuMask, RUN, SimEvent, type KernelCall, type TaskStruct } from "@ksim/core";
import { FakeHotplug, make_test_kernel, SimpleKthreads, type TestKernel } from "@ksim/core/testing";
import { CpuStopMachine, CpuStoppers } from "../src/index.js";

export interface Machine {
  k: TestKernel;
  cs: CpuStoppers;
  sm: CpuStopMachine;
  hp: FakeHotplug;
  init: TaskStruct;
}

/**
 * A 2.6.35-like boot: only CPU 0 is up when cpu_stop_init (early_initcall)
 * runs in init's context; smp_init then brings the others up through the
 * notifier chain. Booted at time 0; nothing else runs.
 */
export function boot(cpus: number): Machine {
  const hp = new FakeHotplug(cpus);
  for (let c = 1; c < cpus; c++) hp.set_online(c, false);
  const k = make_test_kernel({ cpus, hotplug: hp, kthread: (kk) => new SimpleKthreads(kk) });
  const cs = new CpuStoppers(k);
  k.services.set(CPU_STOP.name, cs);
  const sm = new CpuStopMachine(k);
  k.stop_machine = sm;
  const init = k.spawn({
    comm: "init",
    cpu: 0,
    *threadfn(): KernelCall<number> {
      yield* cs.cpu_stop_init();
      return yield* hp.smp_init();
    },
  });
  k.run(0);
  return { k, cs, sm, hp, init };
}

/** A task bound to `cpu` whose body starts at `at`. */
export function task_at(
  k: TestKernel,
  comm: string,
  cpu: number,
  at: number,
  body: () => KernelCall<number>,
  rt_priority = 0,
): TaskStruct {
  const p = k.sched.create_task({
    comm,
    cpu,
    cpus_allowed: CpuMask.cpumask_of(cpu),
    ...(rt_priority > 0 ? { policy: "FIFO" as const, rt_priority } : {}),
    threadfn: body,
  });
  k.engine.schedule(new SimEvent(`start-${comm}`, () => k.sched.wake_up_new_task(p)), at);
  return p;
}

/** A SCHED_FIFO task on `cpu` that wants `ns` of CPU from `at`. */
export function hog(k: TestKernel, cpu: number, prio: number, at: number, ns = Number.POSITIVE_INFINITY): TaskStruct {
  return task_at(
    k,
    `hog${prio}/${cpu}`,
    cpu,
    at,
    function* () {
      yield RUN(ns);
      return 0;
    },
    prio,
  );
}
