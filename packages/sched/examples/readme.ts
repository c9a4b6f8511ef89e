import { NSEC_PER_MSEC, NSEC_PER_SEC, RUN } from "@ksim/core";
import { make_test_kernel, SimpleHrtimers, SimpleKthreads } from "@ksim/core/testing";
import { Scheduler } from "@ksim/sched";

/**
 * One CPU, the default RT bandwidth (950 ms of every 1 s): a SCHED_FIFO
 * spinner and a SCHED_NORMAL spinner share it for 5 seconds.
 */
export function readme_example(): { fifo_ms: number; normal_ms: number; throttles: number } {
  const k = make_test_kernel({
    cpus: 1,
    hrtimer: (k) => new SimpleHrtimers(k),
    kthread: (k) => new SimpleKthreads(k),
    sched: (k) => new Scheduler(k, { nr_cpus: 1, sched_rt_runtime_us: 950_000, sched_rt_period_us: 1_000_000 }),
  });
  const sched = k.sched as Scheduler;
  sched.init(); // the period timer and the wait-for explanations
  sched.set_rq_online(0);

  function* spin() {
    yield RUN(Number.POSITIVE_INFINITY);
    return 0;
  }
  const fifo = sched.create_task({ comm: "fifo", policy: "FIFO", rt_priority: 50, threadfn: spin });
  const normal = sched.create_task({ comm: "normal", policy: "NORMAL", nice: 0, threadfn: spin });
  sched.irq_enter(0); // wake them as a timer interrupt on CPU 0 would
  sched.wake_up_new_task(fifo);
  sched.wake_up_new_task(normal);
  sched.irq_exit(0);

  k.run(5 * NSEC_PER_SEC);
  sched.update_curr(sched.rqs[0]!);
  return {
    fifo_ms: fifo.se.sum_exec_runtime / NSEC_PER_MSEC,
    normal_ms: normal.se.sum_exec_runtime / NSEC_PER_MSEC,
    throttles: sched.stats.rt_throttles,
  };
}
