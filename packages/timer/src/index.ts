export { Timers, TIMER_CPU_NOTIFY_PRIORITY, apply_slack, type TimersOptions } from "./timer.js";
export { timer_subsystem } from "./subsystem.js";
export { TIMER } from "@ksim/core";
