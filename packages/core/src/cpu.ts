/** include/linux/cpu.h: hotplug events, the notifier chain, and what the hotplug subsystem offers. */
import type { LocalTimerDevice } from "./clockchips.js";
import type { CpuMask } from "./cpumask.js";
import type { KernelCall } from "./effects.js";
import type { NotifierBlock } from "./notifier.js";

export const CPU_ONLINE = 0x0002;
export const CPU_UP_PREPARE = 0x0003;
export const CPU_UP_CANCELED = 0x0004;
export const CPU_DOWN_PREPARE = 0x0005;
export const CPU_DOWN_FAILED = 0x0006;
export const CPU_DEAD = 0x0007;
export const CPU_DYING = 0x0008;
export const CPU_POST_DEAD = 0x0009;
export const CPU_STARTING = 0x000a;
export const CPU_TASKS_FROZEN = 0x0010;
export const CPU_ONLINE_FROZEN = CPU_ONLINE | CPU_TASKS_FROZEN;
export const CPU_UP_PREPARE_FROZEN = CPU_UP_PREPARE | CPU_TASKS_FROZEN;
export const CPU_UP_CANCELED_FROZEN = CPU_UP_CANCELED | CPU_TASKS_FROZEN;
export const CPU_DOWN_PREPARE_FROZEN = CPU_DOWN_PREPARE | CPU_TASKS_FROZEN;
export const CPU_DOWN_FAILED_FROZEN = CPU_DOWN_FAILED | CPU_TASKS_FROZEN;
export const CPU_DEAD_FROZEN = CPU_DEAD | CPU_TASKS_FROZEN;
export const CPU_DYING_FROZEN = CPU_DYING | CPU_TASKS_FROZEN;
export const CPU_STARTING_FROZEN = CPU_STARTING | CPU_TASKS_FROZEN;

const CPU_EVENT_NAMES: Readonly<Record<number, string>> = {
  [CPU_ONLINE]: "CPU_ONLINE",
  [CPU_UP_PREPARE]: "CPU_UP_PREPARE",
  [CPU_UP_CANCELED]: "CPU_UP_CANCELED",
  [CPU_DOWN_PREPARE]: "CPU_DOWN_PREPARE",
  [CPU_DOWN_FAILED]: "CPU_DOWN_FAILED",
  [CPU_DEAD]: "CPU_DEAD",
  [CPU_DYING]: "CPU_DYING",
  [CPU_POST_DEAD]: "CPU_POST_DEAD",
  [CPU_STARTING]: "CPU_STARTING",
};

/** "CPU_DEAD", "CPU_DEAD_FROZEN", ... */
export function cpu_event_name(action: number): string {
  const base = CPU_EVENT_NAMES[action & ~CPU_TASKS_FROZEN] ?? `0x${action.toString(16)}`;
  return action & CPU_TASKS_FROZEN ? `${base}_FROZEN` : base;
}

/** cpu_event_name's inverse, for scenario files. */
export function cpu_event_from_name(name: string): number | undefined {
  for (const [code, n] of Object.entries(CPU_EVENT_NAMES)) {
    if (n === name) return Number(code);
    if (`${n}_FROZEN` === name) return Number(code) | CPU_TASKS_FROZEN;
  }
  return undefined;
}

/** One notifier call, as the hotplug log records it. */
export interface NotificationRecord {
  event: string;
  notifier: string;
  ret: string;
}

/** One cpu_up / cpu_down, as the hotplug log records it. */
export interface HotplugOpRecord {
  op: "cpu_up" | "cpu_down";
  cpu: number;
  /** The CPU the calling task ran on when it started the operation. */
  from_cpu: number;
  /** pid of the calling task. */
  pid: number;
  start_ns: number;
  end_ns: number | null;
  /** "ok", an errno name, or "incomplete" while it has not returned. */
  result: string;
  notifications: NotificationRecord[];
}

export interface CpuHotplugOps {
  register_cpu_notifier(nb: NotifierBlock): number;
  unregister_cpu_notifier(nb: NotifierBlock): void;
  readonly cpu_online_mask: CpuMask;
  readonly cpu_active_mask: CpuMask;
  readonly cpu_present_mask: CpuMask;
  cpu_online(cpu: number): boolean;
  cpu_active(cpu: number): boolean;
  num_online_cpus(): number;
  /** cpu_maps_update_begin(): take cpu_add_remove_lock (what cpu_up and cpu_down hold throughout). */
  cpu_maps_update_begin(): KernelCall;
  cpu_maps_update_done(): void;
  /** Blocking, in the caller's process context; 0 or -errno. */
  cpu_up(cpu: number): KernelCall<number>;
  cpu_down(cpu: number): KernelCall<number>;
  /** The most recent operations, oldest first (the log may be capped). */
  readonly log: readonly HotplugOpRecord[];
  /** Every cpu_up / cpu_down started, including those the capped log forgot. */
  readonly nr_ops: number;
  /**
   * Whether `cpu`'s local timer interrupt is masked: from __cpu_disable()
   * (x86 clear_local_APIC) until the CPU boots again. A clock event device
   * of that CPU does not fire meanwhile, whatever the CPU_DYING chain does.
   */
  local_timer_masked(cpu: number): boolean;
  /** A per-CPU clock event device (hrtimer's, the tick's) hears each mask and unmask. */
  register_local_timer_device(dev: LocalTimerDevice): void;
  /** smp_init(): bring up every present CPU not online yet, from init's process context; how many came up. */
  smp_init(): KernelCall<number>;
}

