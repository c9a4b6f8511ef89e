
export { Hrtimers, HRTIMER_CPU_NOTIFY_PRIORITY, MAX_EXPIRIES_PER_INTERRUPT, type HrtimersOptions } from "./hrtimer.js";
export { hrtimer_subsystem } from "./subsystem.js";
