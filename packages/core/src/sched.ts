/** include/linux/sched.h: what the scheduler offers the other subsystems. */
import type { CpuMask } from "./cpumask.js";
import type { SchedPolicy, TaskSpec, TaskStruct } from "./task.js";

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
  /**
   * move_task_off_dead_cpu(): `p`, queued on a CPU that has just gone
   * offline, moves to a live one (2.6.35's take_cpu_down does it for the
   * cpu_down caller); nothing for a task elsewhere or off the runqueues.
   */
  move_task_off_dead_cpu(dead_cpu: number, p: TaskStruct): void;
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
  /** local_irq_disable() / local_irq_enable() on `cpu`: the tick waits while they are off. */
  local_irq_disable(cpu: number): void;
  local_irq_enable(cpu: number): void;
  readonly stats: SchedStats;
  /** task_sched_runtime(): CPU time `p` has used, including what it runs now. */
  task_sched_runtime(p: TaskStruct): number;
  /** What /proc/sched_debug prints of a CPU's rt_rq (print_rt_rq). */
  rt_rq_stats(cpu: number): RtRqStats;
}

/** A CPU's rt_rq as sched_debug shows it. */
export interface RtRqStats {
  rt_nr_running: number;
  rt_throttled: boolean;
  /** ns of RT execution charged in the current period. */
  rt_time: number;
  /** ns this rt_rq may run per period (borrowing moves it); Infinity when unlimited. */
  rt_runtime: number;
}

