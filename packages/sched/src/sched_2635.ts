/**
 * kernel/sched.c of 2.6.35: the same classes and RT bandwidth as 2.6.34,
 * but no migration threads of its own. Moving a running or queued task
 * is the work of cpu_stop (Tejun Heo, 969c7921): set_cpus_allowed_ptr()
 * queues migration_cpu_stop on the task's CPU, whose stopper thread
 * (also named migration/N) runs it.
 */
import {
  BUG,
  CPU_STOP,
  EINVAL,
  PF_THREAD_BOUND,
  exec_context,
  raw_smp_processor_id,
  type CpuExec,
  type CpuMask,
  type CpuStopWork,
  type TaskStruct,
} from "@ksim/core";
import { Scheduler } from "./sched.js";

/** struct migration_arg */
export interface MigrationArg {
  readonly task: TaskStruct;
  readonly dest_cpu: number;
}

export class Scheduler2635 extends Scheduler {
  /**
   * An offline CPU picks nothing new, but the kernel thread bound to it that
   * is running there keeps the CPU until it blocks. That is the stopper
   * inside stop_machine: sched_idle_next() made the idle task SCHED_FIFO
   * MAX_RT_PRIO-1, which preempts everything but a stopper of the same
   * priority, and that one first finishes stop_machine_cpu_stop's states.
   */
  protected override pick_next_task(rq: CpuExec): TaskStruct | null {
    if (!this.k.hotplug.cpu_online(rq.cpu)) {
      const curr = rq.curr;
      const bound_here = (curr.flags & PF_THREAD_BOUND) !== 0 && curr.cpus_allowed.weight() === 1 && curr.cpus_allowed.test_cpu(rq.cpu);
      return curr !== rq.idle && curr.state === "R" && curr.on_rq && bound_here ? curr : null;
    }
    return super.pick_next_task(rq);
  }

  /**
   * set_cpus_allowed_ptr() of 2.6.35: a task that is neither queued nor
   * running only gets the mask (its next wake-up places it); otherwise
   * migration_cpu_stop goes to the stopper of the task's CPU. The caller
   * does not wait for it (SchedOps cannot block; README, Model fidelity).
   */
  override set_cpus_allowed_ptr(p: TaskStruct, new_mask: CpuMask): number {
    const active = this.k.hotplug.cpu_active_mask;
    // cpumask_any_and(cpu_active_mask, new_mask); -EINVAL when they do not intersect.
    const dest_cpu = new_mask.first_and(active);
    if (dest_cpu < 0 || dest_cpu >= this.nr_cpu_ids) return -EINVAL;
    if (p.flags & PF_THREAD_BOUND && exec_context().task !== p && !new_mask.equals(p.cpus_allowed)) return -EINVAL;
    p.cpus_allowed = new_mask.clone();
    if (new_mask.test_cpu(p.cpu)) return 0;
    // migrate_task(): only a queued or running task needs the stopper.
    if (!p.on_rq && !p.on_cpu) return 0;
    const arg: MigrationArg = { task: p, dest_cpu };
    const work: CpuStopWork = { fn: null, arg: null };
    this.k.service(CPU_STOP).stop_one_cpu_nowait(p.cpu, (a) => this.migration_cpu_stop(a as MigrationArg), arg, work);
    return 0;
  }

  /**
   * migration_cpu_stop(): on the stopper of the CPU the task was on; the
   * original target CPU may be gone by now, which does not matter.
   */
  migration_cpu_stop(arg: MigrationArg): number {
    this.__migrate_task(arg.task, raw_smp_processor_id(), arg.dest_cpu);
    return 0;
  }

  /**
   * __migrate_task(): move a queued task from src to dest; a task off the
   * runqueues is placed by its next wake-up. 1 when done (or moved
   * already), 0 when dest is inactive or no longer allowed.
   */
  __migrate_task(p: TaskStruct, src_cpu: number, dest_cpu: number): number {
    if (!this.k.hotplug.cpu_active(dest_cpu)) return 0;
    if (p.cpu !== src_cpu) return 1;
    if (!p.cpus_allowed.test_cpu(dest_cpu)) return 0;
    if (p.on_rq) {
      if (p.on_cpu) BUG(`__migrate_task(${p.name}): still running on CPU ${src_cpu}`);
      this.move_queued_task(p, dest_cpu);
    }
    return 1;
  }

  /** move_task_off_dead_cpu(): select_fallback_rq(), then __migrate_task(). */
  override move_task_off_dead_cpu(dead_cpu: number, p: TaskStruct): void {
    if (p.cpu !== dead_cpu || p.state === "X") return;
    this.__migrate_task(p, dead_cpu, this.select_fallback_rq(dead_cpu, p));
  }

  /**
   * migrate_live_tasks() + migrate_dead_tasks() of 2.6.35: every task but
   * current whose task_cpu is the dead CPU goes through
   * move_task_off_dead_cpu(): select_fallback_rq() (which may widen its
   * mask), then __migrate_task(), which moves only queued tasks. A sleeper
   * keeps the dead CPU as task_cpu until its wake-up places it.
   */
  override migrate_live_tasks(dead_cpu: number): void {
    const self = exec_context().task;
    for (const p of this.tasks) {
      if (p !== self) this.move_task_off_dead_cpu(dead_cpu, p);
    }
  }
}
