/**
 * The machine's services: what every subsystem may use, and where it finds
 * the others. A subsystem receives the Kernel at construction and reads the
 * services it needs when it runs, so the order of construction does not
 * matter. The record is built once by assemble_kernel() and frozen.
 */
import type { CpuHotplugOps } from "./cpu.js";
import type { Engine } from "./engine.js";
import type { HrtimerOps } from "./hrtimer.js";
import type { KthreadOps } from "./kthread.js";
import type { Prng } from "./prng.js";
import type { SchedOps } from "./sched.js";
import type { CpuStopOps, StopMachineOps } from "./stop_machine.js";
import type { TimerOps } from "./timer.js";
import type { TraceBus } from "./trace.js";
import type { WaitForGraph } from "./waitfor.js";

export interface KernelConfig {
  /** CONFIG_HZ: 100, 250, 300 or 1000. */
  readonly hz: number;
}

/**
 * A typed name for a service. Keys compare by name, so a key made by one
 * copy of @ksim/core finds a service registered through another.
 */
export interface ServiceKey<T> {
  readonly name: string;
  /** Never set: carries T for the type checker. */
  readonly __service?: T;
}

export function define_service<T>(name: string): ServiceKey<T> {
  return Object.freeze({ name });
}

/** The services core knows by name; a new subsystem defines its own key. */
export const SCHED = define_service<SchedOps>("sched");
export const HRTIMER = define_service<HrtimerOps>("hrtimer");
export const CPU_HOTPLUG = define_service<CpuHotplugOps>("cpu_hotplug");
export const KTHREAD = define_service<KthreadOps>("kthread");
export const STOP_MACHINE = define_service<StopMachineOps>("stop_machine");
/** The timer wheel (kernel/timer.c): in core, so that khungtaskd can sleep on it. */
export const TIMER = define_service<TimerOps>("timer");
/** 2.6.35's cpu_stop; a 2.6.34 machine has none. */
export const CPU_STOP = define_service<CpuStopOps>("cpu_stop");

export interface Kernel {
  readonly engine: Engine;
  readonly trace: TraceBus;
  readonly waitfor: WaitForGraph;
  readonly config: KernelConfig;
  /** A random stream for `name`, split from the scenario seed. */
  prng(name: string): Prng;
  /** printk(): a line of the kernel log, stamped with the time now. */
  printk(text: string): void;
  readonly sched: SchedOps;
  readonly hrtimer: HrtimerOps;
  readonly hotplug: CpuHotplugOps;
  readonly kthread: KthreadOps;
  readonly stop_machine: StopMachineOps;
  /** Any subsystem's service by its key; a BUG if this machine has none. */
  service<T>(key: ServiceKey<T>): T;
  has_service(key: ServiceKey<unknown>): boolean;
}
