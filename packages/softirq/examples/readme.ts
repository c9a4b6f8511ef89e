import { CPU_DEAD, CpuMask, SLEEP } from "@ksim/core";
import { SimpleKthreads, make_test_kernel, type FakeHotplug } from "@ksim/core/testing";
import { SOFTIRQ, Softirqs } from "@ksim/softirq";

/** Boot ksoftirqd/0, bring CPU 1 up, then run CPU_DEAD for it from CPU 0. */
export function readme_example(): { threads: string[]; stopped: string; woken: number } {
  const k = make_test_kernel({ cpus: 2, kthread: (kk) => new SimpleKthreads(kk) });
  const softirq = new Softirqs(k);
  k.services.set(SOFTIRQ.name, softirq);
  softirq.softirq_init(); // start_kernel
  const hotplug = k.hotplug as FakeHotplug;
  hotplug.set_online(1, false);

  const threads: string[] = [];
  let stopped = "";
  k.spawn({
    comm: "init",
    cpu: 0,
    cpus_allowed: CpuMask.cpumask_of(0),
    *threadfn() {
      yield* softirq.spawn_ksoftirqd(); // early_initcall: ksoftirqd/0, cpu_callback on the chain
      yield* hotplug.cpu_up(1); // CPU_UP_PREPARE creates ksoftirqd/1, CPU_ONLINE wakes it
      yield SLEEP(1_000_000);
      for (const cpu of [0, 1]) threads.push(softirq.ksoftirqd(cpu)!.comm);
      const p = softirq.ksoftirqd(1)!;
      hotplug.set_online(1, false);
      yield* hotplug.call_chain(CPU_DEAD, 1); // FIFO 99, kthread_stop, takeover_tasklets
      stopped = `${p.comm} ${p.policy} ${p.rt_priority} state ${p.state}`;
      return 0;
    },
  });
  k.run();
  return { threads, stopped, woken: softirq.stats.ksoftirqd_wakeups };
}
