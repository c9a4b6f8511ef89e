import { CPU_DEAD, CPU_DYING, HrTimer, HRTIMER_RESTART, NSEC_PER_MSEC, SLEEP, smp_processor_id } from "@ksim/core";
import { FakeHotplug, make_test_kernel } from "@ksim/core/testing";
import { Hrtimers } from "@ksim/hrtimer";

const ms = NSEC_PER_MSEC;

export function readme_example(): { fired: string[]; because: string | undefined; migrated: number } {
  const hotplug = new FakeHotplug(2);
  const k = make_test_kernel({ cpus: 2, hotplug });
  const hr = new Hrtimers(k); // hrtimers_nb at priority 0, as in 2.6.34
  k.hrtimer = hr;
  hr.init();

  // A 100 ms periodic timer, started by a task on CPU 1.
  const fired: string[] = [];
  const period = new HrTimer("sched_rt_period_timer");
  hr.hrtimer_init(period, "CLOCK_MONOTONIC", "REL");
  period.function = (t) => {
    fired.push(`${k.engine.now / ms} ms on CPU ${smp_processor_id()}`);
    hr.hrtimer_forward(t, hr.hrtimer_cb_get_time(t), 100 * ms);
    return HRTIMER_RESTART;
  };
  k.spawn({
    comm: "starter",
    cpu: 1,
    *threadfn() {
      hr.hrtimer_start(period, 100 * ms, "REL");
      return 0;
    },
  });
  // A task on CPU 0 that will send CPU_DEAD for CPU 1 at 1 s.
  k.spawn({
    comm: "cpuhp",
    cpu: 0,
    *threadfn() {
      yield SLEEP(1000 * ms);
      yield* hotplug.call_chain(CPU_DEAD, 1);
      return 0;
    },
  });
  k.run(250 * ms);

  // CPU 1 goes offline, its local timer masked (as __cpu_disable does); then CPU_DYING on CPU 1.
  hotplug.set_online(1, false);
  k.sched.irq_enter(1);
  hotplug.call_chain_atomic(CPU_DYING, 1);
  k.sched.irq_exit(1);

  // The timer is stranded on CPU 1's base until CPU_DEAD.
  k.run(500 * ms);
  const because = k.waitfor.explain({ kind: "hrtimer", timer: period })?.because;

  k.run(1250 * ms);
  return { fired, because, migrated: hr.stats.migrated };
}
