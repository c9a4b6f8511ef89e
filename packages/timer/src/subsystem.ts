import { TIMER, type Kernel, type Subsystem, type SubsystemFactory, type TimerOps } from "@ksim/core";
import { Timers, type TimersOptions } from "./timer.js";

/** The timer wheel of a machine: init_timers() in start_kernel, before hrtimers_init(). */
export function timer_subsystem(opts: TimersOptions = {}): SubsystemFactory {
  return (k: Kernel): Subsystem<TimerOps> => {
    const t = new Timers(k, opts);
    return {
      name: "timer",
      implementation: opts.timer_slack
        ? "kernel/timer.c of 2.6.35 (NO_HZ wheel, mod_timer slack, migrate_timers at CPU_DEAD)"
        : "kernel/timer.c of 2.6.34 (NO_HZ wheel, migrate_timers at CPU_DEAD)",
      provides: TIMER,
      ops: t,
      // start_kernel(): sched_init() .. init_timers(); hrtimers_init(); softirq_init().
      initcalls: [{ name: "init_timers", level: "start_kernel", after: ["sched_init"], fn: () => t.init() }],
    };
  };
}
