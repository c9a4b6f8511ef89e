import type { CpuExec, CpuMask, Engine, Kernel, SchedStats, SelectTaskRqReason, TaskStruct, TraceBus } from "@ksim/core";
import type { CfsRq, RtRq } from "./rq.js";
import type { RootDomain, SchedDomain } from "./sched_domains.js";

/**
 * struct sched_class of 2.6.34: the hooks kernel/sched.c calls on a task's
 * class. sched_rt.ts and sched_fair.ts each fill one table.
 */
export interface SchedClass {
  enqueue_task(rq: CpuExec, p: TaskStruct, wakeup: boolean): void;
  dequeue_task(rq: CpuExec, p: TaskStruct): void;
  yield_task(rq: CpuExec, p: TaskStruct): void;
  check_preempt_curr(rq: CpuExec, p: TaskStruct): void;
  pick_next_task(rq: CpuExec): TaskStruct | null;
  put_prev_task(rq: CpuExec, p: TaskStruct): void;
  select_task_rq(p: TaskStruct, this_cpu: number, sd_flag: SelectTaskRqReason): number;
  /** Charge `delta` ns to curr (update_curr_rt / update_curr). */
  update_curr(rq: CpuExec, p: TaskStruct, delta: number): void;
  task_tick(rq: CpuExec, p: TaskStruct): void;
  pre_schedule(rq: CpuExec, prev: TaskStruct): void;
  post_schedule(rq: CpuExec): void;
  task_woken(rq: CpuExec, p: TaskStruct): void;
  set_cpus_allowed(p: TaskStruct, mask: CpuMask): void;
  rq_online(cpu: number): void;
  rq_offline(cpu: number): void;
}

/**
 * What the classes use of kernel/sched.c: the runqueues, the root and
 * sched domains, and the helpers that move tasks between runqueues.
 * `Scheduler` implements it; the classes never import it.
 */
export interface SchedCore {
  readonly k: Kernel;
  readonly engine: Engine;
  readonly trace: TraceBus;
  readonly stats: SchedStats;
  readonly nr_cpu_ids: number;
  readonly tick_ns: number;
  readonly rqs: CpuExec[];
  readonly rt_rqs: RtRq[];
  readonly cfs_rqs: CfsRq[];
  /** rq->online */
  readonly rq_online: boolean[];
  /** rq->rd */
  readonly rq_rd: RootDomain[];
  /** rq->sd: the lowest sched domain of each CPU, null when attached to none. */
  readonly rq_sd: (SchedDomain | null)[];
  readonly sched_latency: number;
  readonly sched_wakeup_granularity: number;
  readonly sched_min_granularity: number;
  /** update_sysctl(): the CFS tunables follow the online CPU count. */
  update_sysctl(): void;
  resched_curr(rq: CpuExec): void;
  update_curr(rq: CpuExec): void;
  /** Re-arm the next tick that matters for rq's curr. */
  hrtick_start(rq: CpuExec): void;
  /** start_rt_bandwidth(&def_rt_bandwidth) */
  start_rt_bandwidth(): void;
  sched_rt_runtime_exceeded(cpu: number): boolean;
  /** rq->nr_running */
  nr_running(cpu: number): number;
  /** deactivate_task, set_task_cpu, activate_task: a queued, not running task to another rq. */
  move_task(p: TaskStruct, dest_cpu: number): void;
  check_preempt(rq: CpuExec, p: TaskStruct): void;
  select_fallback_rq(cpu: number, p: TaskStruct): number;
  /** jiffies */
  jiffies(): number;
  cpu_online_mask(): CpuMask;
  cpu_active_mask(): CpuMask;
  /** rq->migration_thread, woken for active balancing. */
  readonly migration_thread: (TaskStruct | null)[];
  wake_up_process(p: TaskStruct): boolean;
}
