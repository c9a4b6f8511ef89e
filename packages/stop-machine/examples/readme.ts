import { CpuMask, current, in_atomic, NSEC_PER_MSEC, SimEvent, smp_processor_id } from "@ksim/core";
import { make_test_kernel, SimpleKthreads } from "@ksim/core/testing";
import { KstopMachine } from "@ksim/stop-machine";

const ms = NSEC_PER_MSEC;

/**
 * 2.6.34's stop_machine(): stop_machine_create makes kstop/0..2, fn runs on
 * CPU 1's kstop thread while the others spin, stop_machine_destroy stops them.
 */
export function readme_example(): { ret: number; ran_on: string; atomic: boolean; kstop: string[]; after: number } {
  const k = make_test_kernel({ cpus: 3, kthread: (kk) => new SimpleKthreads(kk) });
  const sm = new KstopMachine(k);
  k.stop_machine = sm;
  sm.init(); // init_workqueues: workqueue_cpu_callback; no kstop thread yet

  let ran_on = "";
  let atomic = false;
  let ret = -1;
  let kstop: string[] = [];
  const caller = k.sched.create_task({
    comm: "caller",
    cpu: 0,
    *threadfn() {
      yield* sm.stop_machine_create(); // create_rt_workqueue("kstop")
      kstop = sm.threads.map((t) => `${t.comm} ${t.policy} ${t.rt_priority}`);
      ret = yield* sm.stop_machine(() => {
        ran_on = `${current().comm} on CPU ${smp_processor_id()}`;
        atomic = in_atomic();
        return 7;
      }, CpuMask.cpumask_of(1));
      yield* sm.stop_machine_destroy(); // the last user: kthread_stop each
      return 0;
    },
  });
  k.engine.schedule(new SimEvent("start", () => k.sched.wake_up_new_task(caller)), 1 * ms);
  k.run(10 * ms);
  return { ret, ran_on, atomic, kstop, after: sm.threads.length };
}
