import { CPU_DEAD, NOTIFY_OK, SLEEP, type Kernel, type NotifierBlock } from "@ksim/core";
import { make_test_kernel } from "@ksim/core/testing";
import { CpuHotplug } from "@ksim/cpu-hotplug";

export function readme_example(): { result: number | null; log: string[]; because: string | undefined } {
  // CpuHotplug reads the Kernel record only when it runs, so it can be built first.
  const late = {} as Kernel;
  const hp = new CpuHotplug(late, { nr_cpus: 2 });
  const k = make_test_kernel({ cpus: 2, hotplug: hp });
  Object.assign(late, k);
  hp.init();

  // Two notifiers in the style of 2.6.34: the scheduler's (priority 10) sleeps 50 ms at CPU_DEAD.
  const migration_call: NotifierBlock = {
    name: "migration_call",
    priority: 10,
    *notifier_call(_nb, action) {
      if (action === CPU_DEAD) yield SLEEP(50_000_000);
      return NOTIFY_OK;
    },
  };
  const hrtimer_cpu_notify: NotifierBlock = {
    name: "hrtimer_cpu_notify",
    priority: 0,
    *notifier_call() {
      return NOTIFY_OK;
    },
  };
  hp.register_cpu_notifier(hrtimer_cpu_notify);
  hp.register_cpu_notifier(migration_call);

  // A task on CPU 0 boots CPU 1, then takes it down again.
  let result: number | null = null;
  k.spawn({
    comm: "cpuhp",
    cpu: 0,
    *threadfn() {
      yield* hp.smp_init();
      result = yield* hp.cpu_down(1);
      return 0;
    },
  });

  // 20 ms in, the hrtimer notifier is still waiting for its turn at CPU_DEAD.
  k.run(20_000_000);
  const because = k.waitfor.explain({ kind: "notifier", name: "hrtimer_cpu_notify", event: "CPU_DEAD" })?.because;

  k.run();
  const log = hp.log.map((r) => `${r.op}(${r.cpu}) ${r.result} at ${r.end_ns}: ${r.notifications.map((n) => `${n.event}/${n.notifier}`).join(" ")}`);
  return { result, log, because };
}
