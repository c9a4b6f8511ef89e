/**
 * ksim's include/linux: what the subsystems offer each other. A subsystem
 * package implements one of these and receives the others through the
 * Kernel record (constructor injection), never by importing a sibling.
 */
import type { CpuMask } from "./cpumask.js";
import type { KernelCall } from "./effects.js";
import type { Engine } from "./engine.js";
import type { HrtimerOps } from "./hrtimer.js";
import type { Prng } from "./prng.js";
import type { SchedPolicy, TaskSpec, TaskStruct } from "./task.js";
import type { TraceBus } from "./trace.js";
import type { WaitForGraph } from "./waitfor.js";

// ---- include/linux/errno.h -------------------------------------------------

export const EPERM = 1;
export const EINTR = 4;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EBUSY = 16;
export const EINVAL = 22;

const ERRNO_NAMES: Readonly<Record<number, string>> = {
  [EPERM]: "EPERM",
  [EINTR]: "EINTR",
  [EAGAIN]: "EAGAIN",
  [ENOMEM]: "ENOMEM",
  [EBUSY]: "EBUSY",
  [EINVAL]: "EINVAL",
};

/** "EBUSY" for -16 or 16; "E<n>" for one ksim does not name. */
export function errno_name(err: number): string {
  const n = Math.abs(err);
  return ERRNO_NAMES[n] ?? `E${n}`;
}

// ---- include/linux/notifier.h ----------------------------------------------

export const NOTIFY_DONE = 0x0000;
export const NOTIFY_OK = 0x0001;
export const NOTIFY_STOP_MASK = 0x8000;
export const NOTIFY_BAD = NOTIFY_STOP_MASK | 0x0002;
export const NOTIFY_STOP = NOTIFY_OK | NOTIFY_STOP_MASK;

export function notifier_from_errno(err: number): number {
  return err ? NOTIFY_STOP_MASK | (NOTIFY_OK - err) : NOTIFY_OK;
}

export function notifier_to_errno(ret: number): number {
  ret &= ~NOTIFY_STOP_MASK;
  return ret > NOTIFY_OK ? NOTIFY_OK - ret : 0;
}

export function notify_name(ret: number): string {
  switch (ret) {
    case NOTIFY_DONE:
      return "NOTIFY_DONE";
    case NOTIFY_OK:
      return "NOTIFY_OK";
    case NOTIFY_BAD:
      return "NOTIFY_BAD";
    case NOTIFY_STOP:
      return "NOTIFY_STOP";
    default:
      return ret & NOTIFY_STOP_MASK ? `notifier_from_errno(-${errno_name(notifier_to_errno(ret))})` : `0x${ret.toString(16)}`;
  }
}

/** A notifier_block. The callback runs in the caller's process context. */
export interface NotifierBlock {
  readonly name: string;
  priority: number;
  notifier_call(nb: NotifierBlock, action: number, hcpu: number): KernelCall<number>;
}

// ---- include/linux/cpu.h ---------------------------------------------------

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
  /** Blocking, in the caller's process context; 0 or -errno. */
  cpu_up(cpu: number): KernelCall<number>;
  cpu_down(cpu: number): KernelCall<number>;
  /** Every operation so far, oldest first. */
  readonly log: readonly HotplugOpRecord[];
}

// ---- include/linux/stop_machine.h ------------------------------------------

export interface StopMachineOps {
  /**
   * __stop_machine(): runs `fn` with interrupts off on the first CPU of
   * `cpus` while every online CPU is held; returns fn's result.
   */
  stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number>;
}

// ---- include/linux/kthread.h -----------------------------------------------

export type ThreadFn<D> = (data: D) => KernelCall<number>;

export interface KthreadOps {
  /** Asks kthreadd for a new thread and waits for it; it sleeps until first woken. */
  kthread_create<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct>;
  kthread_run<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct>;
  /** Only for a thread that is not running: sets its CPU and a one-CPU affinity. */
  kthread_bind(p: TaskStruct, cpu: number): void;
  /** Sets should_stop, wakes the thread and waits for it to exit; returns its exit code. */
  kthread_stop(k: TaskStruct): KernelCall<number>;
  kthread_should_stop(): boolean;
  kthread_park(k: TaskStruct): KernelCall<number>;
  kthread_unpark(k: TaskStruct): void;
  kthread_should_park(): boolean;
  kthread_parkme(): KernelCall;
  readonly kthreadd_task: TaskStruct | null;
}

// ---- include/linux/sched.h -------------------------------------------------

export interface SchedStats {
  context_switches: number;
  rt_throttles: number;
}

export interface SchedOps {
  readonly nr_cpu_ids: number;
  /** copy_process(): a new task, asleep until wake_up_new_task. */
  create_task(spec: TaskSpec): TaskStruct;
  wake_up_new_task(p: TaskStruct): void;
  /** try_to_wake_up() for TASK_NORMAL (S or D); false if it was not asleep. */
  wake_up_process(p: TaskStruct): boolean;
  /** try_to_wake_up() for the given states (e.g. "P" to unpark). */
  wake_up_state(p: TaskStruct, states: string): boolean;
  set_cpus_allowed_ptr(p: TaskStruct, mask: CpuMask): number;
  sched_setscheduler(p: TaskStruct, policy: SchedPolicy, prio: number): number;
  task_curr(p: TaskStruct): boolean;
  /** wait_task_inactive(): true when `p` is off every CPU. */
  wait_task_inactive(p: TaskStruct): boolean;
  idle_cpu(cpu: number): boolean;
  /** take_cpu_down(): the dying CPU runs its idle task next. */
  sched_idle_next(): void;
  /** The task running on `cpu` (its idle task when none). */
  cpu_curr(cpu: number): TaskStruct;
  /** Every task ever created but the idle tasks, in pid order. */
  for_each_process(): Iterable<TaskStruct>;
  /** resched_cpu(): make `cpu` call schedule() (an IPI; a CPU coming up starts its idle loop). */
  resched_cpu(cpu: number): void;
  /** An interrupt on `cpu`: account what runs there, enter irq context. */
  irq_enter(cpu: number): void;
  irq_exit(cpu: number): void;
  readonly stats: SchedStats;
}

// ---- the machine -----------------------------------------------------------

export interface KernelConfig {
  /** CONFIG_HZ: 100, 250, 300 or 1000. */
  readonly hz: number;
}

/**
 * The services every subsystem may use. The machine fills it in while it
 * constructs the subsystems; a subsystem reads the fields it needs when it
 * runs, not in its constructor, so the order of construction does not matter.
 */
export interface Kernel {
  readonly engine: Engine;
  readonly trace: TraceBus;
  readonly waitfor: WaitForGraph;
  readonly config: KernelConfig;
  /** A random stream for `name`, split from the scenario seed. */
  prng(name: string): Prng;
  sched: SchedOps;
  hrtimer: HrtimerOps;
  hotplug: CpuHotplugOps;
  kthread: KthreadOps;
  stop_machine: StopMachineOps;
}

/**
 * Runs `fn` as an interrupt on `cpu` would (irq_enter .. irq_exit): what
 * wakes a task "as if by a timer there", with smp_processor_id() == cpu.
 */
export function in_irq<T>(sched: SchedOps, cpu: number, fn: () => T): T {
  sched.irq_enter(cpu);
  try {
    return fn();
  } finally {
    sched.irq_exit(cpu);
  }
}
