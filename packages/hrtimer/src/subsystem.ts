import { HRTIMER, type HrtimerOps, type Kernel, type Subsystem, type SubsystemFactory } from "@ksim/core";
import { Hrtimers, type HrtimersOptions } from "./hrtimer.js";

/** The hrtimer subsystem of a machine: hrtimers_init() in start_kernel. */
export function hrtimer_subsystem(opts: HrtimersOptions = {}): SubsystemFactory {
  return (k: Kernel): Subsystem<HrtimerOps> => {
    const hr = new Hrtimers(k, opts);
    return {
      name: "hrtimer",
      implementation: "kernel/hrtimer.c of 2.6.34 (migrate_hrtimers at CPU_DEAD)",
      provides: HRTIMER,
      ops: hr,
      // start_kernel() calls hrtimers_init() after sched_init().
      initcalls: [{ name: "hrtimers_init", level: "start_kernel", after: ["sched_init"], fn: () => hr.init() }],
    };
  };
}
