import { CPU_DEAD, CpuMask, SLEEP, TIMER } from "@ksim/core";
import { make_test_kernel, type FakeHotplug } from "@ksim/core/testing";
import { Timers } from "@ksim/timer";

const ms = 1_000_000;

/** msleep(100) on CPU 1, which goes offline at 50 ms; CPU 0 runs CPU_DEAD at 200 ms. */
export function readme_example(): { woke_ms: number; woke_on: number; migrated: number } {
  const k = make_test_kernel({ cpus: 2, hz: 1000 });
  const timers = new Timers(k);
  k.services.set(TIMER.name, timers);
  timers.init(); // init_timers(): the boot CPU's wheel, timers_nb on the cpu chain
  const hotplug = k.hotplug as FakeHotplug;

  let woke_ms = -1;
  let woke_on = -1;
  k.spawn({
    comm: "sleeper",
    cpus_allowed: CpuMask.cpumask_of(1),
    cpu: 1,
    *threadfn(p) {
      yield* timers.msleep(100); // msecs_to_jiffies(100) + 1 = 101 jiffies, on CPU 1's wheel
      woke_ms = k.engine.now / ms;
      woke_on = p.cpu;
      return 0;
    },
  });
  k.spawn({
    comm: "cpuhp",
    cpu: 0,
    cpus_allowed: CpuMask.cpumask_of(0),
    *threadfn() {
      yield SLEEP(50 * ms);
      hotplug.set_online(1, false); // CPU 1's tick stops: its timers wait
      yield SLEEP(150 * ms);
      yield* hotplug.call_chain(CPU_DEAD, 1); // timer_cpu_notify → migrate_timers(1)
      return 0;
    },
  });
  k.run();
  return { woke_ms, woke_on, migrated: timers.stats.migrated };
}
