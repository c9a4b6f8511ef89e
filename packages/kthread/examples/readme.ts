import { NSEC_PER_MSEC, SLEEP, smp_processor_id, type KernelCall, type TaskStruct } from "@ksim/core";
import { make_test_kernel } from "@ksim/core/testing";
import { Kthreads } from "@ksim/kthread";

/** A per-CPU thread's life: create, bind, wake, work, stop. */
export function readme_example(): { comm: string; cpu: number; loops: number; ret: number; stopped_at_ms: number } {
  const k = make_test_kernel({ cpus: 2 });
  const kt = new Kthreads(k);
  k.kthread = kt;
  kt.init(); // kthreadd

  let loops = 0;
  let cpu = -1;
  function* worker(period_ns: number): KernelCall<number> {
    while (!kt.kthread_should_stop()) {
      cpu = smp_processor_id();
      loops++;
      yield SLEEP(period_ns);
    }
    return 42;
  }

  let t: TaskStruct | null = null;
  let ret = 0;
  let stopped_at_ms = -1;
  k.spawn({
    comm: "ctl",
    *threadfn() {
      const p = yield* kt.kthread_create(worker, NSEC_PER_MSEC, "worker/%d", 1);
      kt.kthread_bind(p, 1);
      k.sched.wake_up_process(p);
      t = p;
      yield SLEEP(10 * NSEC_PER_MSEC);
      ret = yield* kt.kthread_stop(p); // blocks in D until the thread exits
      stopped_at_ms = k.engine.now / NSEC_PER_MSEC;
      return 0;
    },
  });
  k.run();
  return { comm: (t as TaskStruct | null)?.comm ?? "", cpu, loops, ret, stopped_at_ms };
}
