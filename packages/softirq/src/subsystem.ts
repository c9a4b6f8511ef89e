import type { Kernel, Subsystem, SubsystemFactory } from "@ksim/core";
import { SOFTIRQ, Softirqs, type SoftirqOps, type SoftirqOptions } from "./softirq.js";

/**
 * The softirq subsystem of a machine: softirq_init() in start_kernel (after
 * init_timers and hrtimers_init: list it after both), spawn_ksoftirqd() an
 * early_initcall.
 */
export function softirq_subsystem(opts: SoftirqOptions = {}): SubsystemFactory {
  return (k: Kernel): Subsystem<SoftirqOps> => {
    const s = new Softirqs(k, opts);
    return {
      name: "softirq",
      implementation: "kernel/softirq.c of 2.6.34 (ksoftirqd/N, cpu_callback stops it at CPU_DEAD)",
      provides: SOFTIRQ,
      ops: s,
      initcalls: [
        { name: "softirq_init", level: "start_kernel", after: ["sched_init"], fn: () => s.softirq_init() },
        { name: "spawn_ksoftirqd", level: "early", fn: () => s.spawn_ksoftirqd() },
      ],
    };
  };
}
