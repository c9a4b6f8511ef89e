/**
 * @ksim/cpu-hotplug: kernel/notifier.c and kernel/cpu.c of Linux 2.6.34.
 * The raw notifier chain, and the cpu_up / cpu_down sequence with its
 * masks, locks, rollback, log and wait-for explanations.
 */

export {
  RawNotifierHead,
  type NotifierCallObserver,
  type NotifierWalk,
  type NrCalls,
} from "./notifier.js";
export {
  CpuHotplug,
  type CpuHotplugArch,
  type CpuHotplugLock,
  type CpuHotplugOptions,
} from "./cpu.js";
export { CpuHotplug2635 } from "./cpu_2635.js";
export { cpu_hotplug_subsystem, cpu_hotplug_2635_subsystem } from "./subsystem.js";
