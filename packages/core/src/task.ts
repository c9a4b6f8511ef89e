import { BUG } from "./bug.js";
import { CpuMask } from "./cpumask.js";
import type { SimEvent } from "./heap.js";
import type { HrTimer } from "./hrtimer.js";
import type { TimerList } from "./timer.js";
import type { KernelCall } from "./effects.js";

/**
 * The state letter the kernel shows in ps and sched_switch: R running or
 * runnable, S TASK_INTERRUPTIBLE, D TASK_UNINTERRUPTIBLE, P TASK_PARKED,
 * X dead.
 */
export type TaskState = "R" | "S" | "D" | "P" | "X";

/** SCHED_NORMAL, SCHED_FIFO, SCHED_RR, and the per-CPU idle task's class. */
export type SchedPolicy = "NORMAL" | "FIFO" | "RR" | "IDLE";

export const MAX_USER_RT_PRIO = 100;
export const MAX_RT_PRIO = 100;
export const MAX_PRIO = MAX_RT_PRIO + 40;
export const DEFAULT_PRIO = MAX_RT_PRIO + 20;

export const NICE_TO_PRIO = (nice: number): number => MAX_RT_PRIO + nice + 20;
export const PRIO_TO_NICE = (prio: number): number => prio - MAX_RT_PRIO - 20;

/** Task flags (include/linux/sched.h of 2.6.34). */
export const PF_EXITING = 0x00000004;
export const PF_KTHREAD = 0x00200000;
export const PF_THREAD_BOUND = 0x04000000;

export function rt_policy(policy: SchedPolicy): boolean {
  return policy === "FIFO" || policy === "RR";
}

/** Something that can wake a task: the scheduler that owns it. */
export interface Waker {
  wake_up_process(p: TaskStruct): boolean;
  /** The last reference is gone: the task may be forgotten. */
  task_freed?(p: TaskStruct): void;
}

/** sched_entity: what the fair class keeps per task. */
export interface SchedEntity {
  vruntime: number;
  sum_exec_runtime: number;
  /** sum_exec_runtime when the task last became current (check_preempt_tick). */
  prev_sum_exec_runtime: number;
  /** load.weight from the nice level (prio_to_weight). */
  weight: number;
  /** When the task last ran (se.exec_start): task_hot() reads how long ago. */
  exec_start: number;
}

/** sched_rt_entity: what the RT class keeps per task. */
export interface SchedRtEntity {
  /** SCHED_RR: ns left in the current slice. */
  time_slice: number;
  /**
   * rt.nr_cpus_allowed: the weight of cpus_allowed as set_cpus_allowed_ptr()
   * and kthread_bind() last wrote it. select_fallback_rq() writes
   * cpus_allowed directly and leaves it stale, as 2.6.34 does.
   */
  nr_cpus_allowed: number;
}

export interface TaskSpec {
  comm: string;
  policy?: SchedPolicy;
  /** 1..99 for FIFO and RR. */
  rt_priority?: number;
  /** -20..19 for NORMAL. */
  nice?: number;
  cpus_allowed?: CpuMask;
  /** The CPU the task is created on (its first runqueue). */
  cpu?: number;
  flags?: number;
  /** The task's body; its return value is the exit code. */
  threadfn: (p: TaskStruct) => KernelCall<number>;
}

/**
 * The subset of task_struct that the subsystems share. Like the kernel's,
 * it carries each subsystem's per-task state (se, rt, kthread).
 */
export class TaskStruct {
  state: TaskState = "S";
  policy: SchedPolicy = "NORMAL";
  rt_priority = 0;
  static_prio = DEFAULT_PRIO;
  normal_prio = DEFAULT_PRIO;
  /** Effective priority: 0..99 RT (lower is higher), 100..139 normal, 140 idle. */
  prio = DEFAULT_PRIO;
  cpus_allowed: CpuMask;
  cpu = 0;
  on_rq = false;
  on_cpu = false;
  /** Reference count: one for the task, one for whoever reaps it. */
  usage = 2;
  flags = 0;
  nvcsw = 0;
  nivcsw = 0;
  exit_code = 0;
  /** khungtaskd's memory of the switch count (hung_task.c). */
  last_switch_count = 0;

  readonly se: SchedEntity = {
    vruntime: 0,
    sum_exec_runtime: 0,
    prev_sum_exec_runtime: 0,
    weight: 1024,
    exec_start: 0,
  };
  readonly rt: SchedRtEntity = { time_slice: 0, nr_cpus_allowed: 1 };

  /** What the task is blocked on, and in which kernel function (wchan). */
  blocked_on: Waitable | null = null;
  wchan: string | null = null;
  blocked_since = 0;

  // Process-context bookkeeping of the executor.
  body!: KernelCall<number>;
  waker!: Waker;
  /** ns left of the RUN effect in progress. */
  run_remaining = 0;
  /** The task yielded with state R (sched_yield). */
  yielded = false;
  /** set_cpus_allowed_ptr() while running: move it at its next switch. */
  migration_pending = false;
  /** The engine event or hrtimer a SLEEP effect waits on. */
  sleep_ev: SimEvent | null = null;
  sleep_timer: HrTimer | null = null;

  /** struct kthread, owned by the kthread implementation. */
  kthread: unknown = null;
  /** Free slot for an alternative scheduler implementation. */
  sched_private: unknown = null;

  constructor(
    readonly pid: number,
    public comm: string,
    cpus_allowed: CpuMask,
  ) {
    this.cpus_allowed = cpus_allowed;
  }

  /** "comm/pid", as ksim names a task in reports and wait-for graphs. */
  get name(): string {
    return `${this.comm}/${this.pid}`;
  }

  get freed(): boolean {
    return this.usage <= 0;
  }
}

/**
 * The policy's name as this module's literal. A name read from a scenario
 * file is a string of the parser's, equal but not identical to the literal:
 * every `policy === "FIFO"` on the hot path would compare characters in a
 * builtin call instead of comparing one pointer.
 */
function policy_literal(policy: SchedPolicy): SchedPolicy {
  switch (policy) {
    case "NORMAL":
      return "NORMAL";
    case "FIFO":
      return "FIFO";
    case "RR":
      return "RR";
    case "IDLE":
      return "IDLE";
  }
  return policy;
}

/** Sets policy and priorities as __setscheduler() does. */
export function set_task_policy(p: TaskStruct, policy: SchedPolicy, prio: number): void {
  policy = policy_literal(policy);
  p.policy = policy;
  if (rt_policy(policy)) {
    if (!(prio >= 1 && prio <= MAX_USER_RT_PRIO - 1)) BUG(`sched_setscheduler: rt_priority ${prio} outside 1..99`);
    p.rt_priority = prio;
    p.normal_prio = MAX_RT_PRIO - 1 - prio;
  } else if (policy === "IDLE") {
    p.rt_priority = 0;
    p.normal_prio = MAX_PRIO;
  } else {
    if (!(prio >= -20 && prio <= 19)) BUG(`sched_setscheduler: nice ${prio} outside -20..19`);
    p.rt_priority = 0;
    p.static_prio = NICE_TO_PRIO(prio);
    p.normal_prio = p.static_prio;
  }
  p.prio = p.normal_prio;
}

/** get_task_struct(): a use after the last put is caught as KASAN would. */
export function get_task_struct(p: TaskStruct): TaskStruct {
  if (p.usage <= 0) BUG(`use-after-free: get_task_struct(${p.name}) after its last put_task_struct`);
  p.usage++;
  return p;
}

/** put_task_struct(): an underflow is a refcount bug. */
export function put_task_struct(p: TaskStruct): void {
  if (p.usage <= 0) BUG(`refcount underflow: put_task_struct(${p.name}) on a freed task`);
  p.usage--;
  if (p.usage === 0) {
    if (p.state !== "X") BUG(`use-after-free: ${p.name} freed by put_task_struct while still alive (state ${p.state})`);
    p.waker.task_freed?.(p);
  }
}

export const cpu_all_mask = (nr_cpu_ids: number): CpuMask => CpuMask.first_n(nr_cpu_ids);

// ---- what a task waits for: the vocabulary of the wait-for graph ----------------
// Here, beside task_struct, because a task points at what it is blocked on and
// that in turn names tasks: the types refer to each other.

/**
 * Nodes of the wait-for graph, named as the kernel names them:
 * `task <comm>/<pid>`, `cpu <n>`, `rt_rq <cpu>`, `hrtimer <name>`, `timer <name>`,
 * `notifier <name> (<EVENT>)`.
 */
export type WaitNode =
  | { readonly kind: "task"; readonly task: TaskStruct }
  | { readonly kind: "cpu"; readonly cpu: number }
  | { readonly kind: "rt_rq"; readonly cpu: number }
  | { readonly kind: "hrtimer"; readonly timer: HrTimer }
  | { readonly kind: "timer"; readonly timer: TimerList }
  | { readonly kind: "notifier"; readonly name: string; readonly event: string }
  | { readonly kind: "other"; readonly name: string };

/** `from` cannot make progress until `to` does, `because` ... */
export interface WaitEdge {
  readonly from: WaitNode;
  readonly to: WaitNode;
  readonly because: string;
}

/**
 * Anything a task can block on. It can say what a blocked task waits for,
 * which is how a hang is explained across subsystems.
 */
export interface Waitable {
  readonly name: string;
  explain_waiter?(waiter: TaskStruct): WaitEdge | null;
}

export type WaitExplain = (waiter: TaskStruct) => WaitEdge | null;
