import { CpuMask, current, in_atomic, NSEC_PER_MSEC, SimEvent, smp_processor_id } from "@ksim/core";
import { make_test_kernel } from "@ksim/core/testing";
import { KstopMachine } from "@ksim/stop-machine";

const ms = NSEC_PER_MSEC;

/** 2.6.34's stop_machine: fn runs on CPU 1's kstop thread, every online CPU held. */
export function readme_example(): { ret: number; ran_on: string; atomic: boolean; kstop: string[] } {
  const k = make_test_kernel({ cpus: 3 });
  const sm = new KstopMachine(k);
  k.stop_machine = sm;
  sm.init(); // create_rt_workqueue("kstop"): kstop/0..2, FIFO 99, asleep

  let ran_on = "";
  let atomic = false;
  let ret = -1;
  const caller = k.sched.create_task({
    comm: "caller",
    cpu: 0,
    *threadfn() {
      ret = yield* sm.stop_machine(() => {
        ran_on = `${current().comm} on CPU ${smp_processor_id()}`;
        atomic = in_atomic();
        return 7;
      }, CpuMask.cpumask_of(1));
      return 0;
    },
  });
  k.engine.schedule(new SimEvent("start", () => k.sched.wake_up_new_task(caller)), 1 * ms);
  k.run(10 * ms);
  return { ret, ran_on, atomic, kstop: sm.threads.map((t) => `${t.comm} ${t.policy} ${t.rt_priority}`) };
}
