/** The scheduler over core's simple hrtimer and kthread stand-ins (no sibling packages). */
import { in_irq, type Kernel, type TaskStruct } from "@ksim/core";
import type { FakeHotplug} from "@ksim/core/testing";
import { make_test_kernel, SimpleHrtimers, SimpleKthreads, type TestKernel } from "@ksim/core/testing";
import { Scheduler, type SchedParams } from "../src/index.js";

export interface SchedTestKernel extends TestKernel {
  sched: Scheduler;
  hrtimer: SimpleHrtimers;
  hotplug: FakeHotplug;
}

/** A kernel with the real scheduler over fakes, every CPU online with its rq online. */
export function make_sched_kernel(params: Omit<SchedParams, "nr_cpus"> & { cpus?: number; hz?: number } = {}): SchedTestKernel {
  const cpus = params.cpus ?? 2;
  const k = make_test_kernel({
    cpus,
    hz: params.hz ?? 1000,
    hrtimer: (k) => new SimpleHrtimers(k),
    kthread: (k) => new SimpleKthreads(k),
    sched: (k) => new Scheduler(k, { ...params, nr_cpus: cpus }),
  }) as SchedTestKernel;
  k.sched.init();
  for (let c = 0; c < cpus; c++) k.sched.set_rq_online(c);
  // sched_init_smp(): one root domain and the sched domains over every CPU.
  k.sched.arch_init_sched_domains();
  return k;
}

/** Create a task and wake it from `cpu`'s context, as a timer interrupt there would. */
export function spawn_on(k: Kernel, cpu: number, spec: Parameters<Kernel["sched"]["create_task"]>[0]): TaskStruct {
  const p = k.sched.create_task({ cpu, ...spec });
  in_irq(k.sched, cpu, () => k.sched.wake_up_new_task(p));
  return p;
}
