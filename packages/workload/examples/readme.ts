import { NSEC_PER_MSEC, Prng, SimEvent } from "@ksim/core";
import { make_test_kernel, type ReferenceExecutor } from "@ksim/core/testing";
import { create_workload_task } from "@ksim/workload";

/** A task that runs 9 ms and sleeps 1 ms, alone on one CPU for a second. */
export function readme_example(): { comm: string; state: string; runtime_ms: number } {
  const k = make_test_kernel({ cpus: 1 });
  const p = create_workload_task(
    k,
    {
      comm: "worker",
      policy: "NORMAL",
      priority: 0,
      cpus: null,
      start_ns: 0,
      jitter: 0,
      behavior: { kind: "cycle", run_ns: 9 * NSEC_PER_MSEC, sleep_ns: NSEC_PER_MSEC },
    },
    new Prng(1, "worker"),
  );
  const state = p.state; // created asleep: its first wake-up comes from a timer
  const end = 1000 * NSEC_PER_MSEC;
  k.engine.schedule(new SimEvent("end", () => {}), end);
  k.run(end);
  // Charge the running task up to now, as the scheduler tick would.
  const sched = k.sched as ReferenceExecutor;
  for (const rq of sched.rqs) sched.update_curr(rq);
  return { comm: p.comm, state, runtime_ms: p.se.sum_exec_runtime / NSEC_PER_MSEC };
}
