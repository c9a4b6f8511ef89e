import { CpuMask, MAX_RT_PRIO, type CpuExec, type SelectTaskRqReason, type TaskStruct } from "@ksim/core";
import { CPUPRI_INVALID } from "./cpupri.js";
import { insert_at, remove_at, type RtRq } from "./rq.js";
import type { SchedClass, SchedCore } from "./sched_class.js";
import { SD_WAKE_AFFINE, type SchedDomain } from "./sched_domains.js";

/** RT_MAX_TRIES of find_lock_lowest_rq(). */
const RT_MAX_TRIES = 3;

const rt_task = (p: TaskStruct): boolean => p.prio < MAX_RT_PRIO;

/**
 * The RT class of kernel/sched_rt.c (2.6.34): the priority queues, and the
 * SMP balancing that keeps the highest RT tasks running somewhere: cpupri,
 * the overload mask, push after wake-ups and switches, pull before schedule.
 * RT bandwidth (rt_time, throttling, borrowing) stays with the core.
 */
export class RtSchedClass implements SchedClass {
  /** local_cpu_mask of find_lowest_rq(). */
  private readonly lowest_mask = new CpuMask();
  /** rq->post_schedule, set by pick_next_task_rt. */
  private readonly post_schedule_due: boolean[] = [];

  constructor(private readonly s: SchedCore) {
    for (let c = 0; c < s.nr_cpu_ids; c++) this.post_schedule_due.push(false);
  }

  /** enqueue_task_rt() */
  enqueue_task(rq: CpuExec, p: TaskStruct, _wakeup: boolean): void {
    const rt_rq = this.s.rt_rqs[rq.cpu]!;
    rt_rq.enqueue(p);
    this.inc_rt_prio(rq.cpu, rt_rq, p.prio);
    this.inc_rt_migration(rq.cpu, rt_rq, p);
    // inc_rt_tasks() -> inc_rt_group() -> start_rt_bandwidth(&def_rt_bandwidth)
    this.s.start_rt_bandwidth();
    if (rq.curr !== p && p.rt.nr_cpus_allowed > 1) enqueue_pushable_task(rt_rq, p);
  }

  /** dequeue_task_rt() */
  dequeue_task(rq: CpuExec, p: TaskStruct): void {
    const rt_rq = this.s.rt_rqs[rq.cpu]!;
    rt_rq.dequeue(p);
    this.dec_rt_prio(rq.cpu, rt_rq, p.prio);
    this.dec_rt_migration(rq.cpu, rt_rq, p);
    dequeue_pushable_task(rt_rq, p);
  }

  /** yield_task_rt(): to the tail of its level. */
  yield_task(rq: CpuExec, p: TaskStruct): void {
    this.s.rt_rqs[rq.cpu]!.requeue(p);
  }

  /** check_preempt_curr_rt(): curr is RT. */
  check_preempt_curr(rq: CpuExec, p: TaskStruct): void {
    if (p.prio < rq.curr.prio) {
      this.s.resched_curr(rq);
      return;
    }
    if (p.prio === rq.curr.prio && !rq.need_resched) this.check_preempt_equal_prio(rq, p);
  }

  /**
   * check_preempt_equal_prio(): a pinned task woke at curr's priority and
   * curr could run elsewhere: put p first and reschedule, so the push after
   * the switch moves curr away.
   */
  private check_preempt_equal_prio(rq: CpuExec, p: TaskStruct): void {
    const curr = rq.curr;
    if (curr.rt.nr_cpus_allowed === 1) return;
    const cp = this.s.rq_rd[rq.cpu]!.cpupri;
    if (p.rt.nr_cpus_allowed !== 1 && cp.cpupri_find(p, null)) return;
    if (!cp.cpupri_find(curr, null)) return;
    const rt_rq = this.s.rt_rqs[rq.cpu]!;
    rt_rq.dequeue(p);
    rt_rq.enqueue(p, true);
    this.s.resched_curr(rq);
  }

  /** pick_next_task_rt(): nothing from a throttled rt_rq. */
  pick_next_task(rq: CpuExec): TaskStruct | null {
    const rt_rq = this.s.rt_rqs[rq.cpu]!;
    if (rt_rq.rt_nr_running === 0 || rt_rq.rt_throttled) return null;
    const p = rt_rq.first();
    if (p) dequeue_pushable_task(rt_rq, p);
    this.post_schedule_due[rq.cpu] = rt_rq.pushable.length > 0;
    return p;
  }

  /** put_prev_task_rt(): a preempted migratable task may be pushed. */
  put_prev_task(rq: CpuExec, p: TaskStruct): void {
    if (p.on_rq && p.rt.nr_cpus_allowed > 1) enqueue_pushable_task(this.s.rt_rqs[rq.cpu]!, p);
  }

  /**
   * select_task_rq_rt(): fork and exec stay on this CPU; a wake-up where an
   * RT task runs goes to find_lowest_rq() if the task may move, even when it
   * would preempt that task.
   */
  select_task_rq(p: TaskStruct, this_cpu: number, sd_flag: SelectTaskRqReason): number {
    if (sd_flag !== "wake") return this_cpu >= 0 ? this_cpu : p.cpu;
    const rq = this.s.rqs[p.cpu]!;
    if (rq.curr !== p && rt_task(rq.curr) && p.rt.nr_cpus_allowed > 1) {
      const cpu = this.find_lowest_rq(p, this_cpu);
      return cpu === -1 ? p.cpu : cpu;
    }
    return p.cpu;
  }

  update_curr(): void {}
  task_tick(): void {}

  /** pre_schedule_rt(): pull when this rq's best RT priority drops below prev's. */
  pre_schedule(rq: CpuExec, prev: TaskStruct): void {
    if (rt_task(prev) && this.s.rt_rqs[rq.cpu]!.highest_prio_curr > prev.prio) this.pull_rt_task(rq.cpu);
  }

  /** rq->post_schedule */
  post_schedule_pending(cpu: number): boolean {
    return this.post_schedule_due[cpu]!;
  }

  /** post_schedule() -> post_schedule_rt(): push what the switch left queued. */
  post_schedule(rq: CpuExec): void {
    if (!this.post_schedule_due[rq.cpu]) return;
    this.post_schedule_due[rq.cpu] = false;
    if (rt_task(rq.curr)) this.push_rt_tasks(rq.cpu);
  }

  /** task_woken_rt(): push now if p will not run here soon. */
  task_woken(rq: CpuExec, p: TaskStruct): void {
    if (rq.curr !== p && !rq.need_resched && this.s.rt_rqs[rq.cpu]!.pushable.length > 0 && p.rt.nr_cpus_allowed > 1) {
      this.push_rt_tasks(rq.cpu);
    }
  }

  /** set_cpus_allowed_rt(): keep rt_nr_migratory and the pushable list right. */
  set_cpus_allowed(p: TaskStruct, mask: CpuMask): void {
    const weight = mask.weight();
    if (p.on_rq && weight !== p.rt.nr_cpus_allowed) {
      const cpu = p.cpu;
      const rt_rq = this.s.rt_rqs[cpu]!;
      if (this.s.rqs[cpu]!.curr !== p) {
        if (p.rt.nr_cpus_allowed > 1) dequeue_pushable_task(rt_rq, p);
        if (weight > 1) enqueue_pushable_task(rt_rq, p);
      }
      if (p.rt.nr_cpus_allowed <= 1 && weight > 1) rt_rq.rt_nr_migratory++;
      else if (p.rt.nr_cpus_allowed > 1 && weight <= 1) rt_rq.rt_nr_migratory--;
      this.update_rt_migration(cpu, rt_rq);
    }
    p.cpus_allowed = mask.clone();
    p.rt.nr_cpus_allowed = weight;
  }

  /** rq_online_rt(), less __enable_runtime (the core's). */
  rq_online(cpu: number): void {
    const rt_rq = this.s.rt_rqs[cpu]!;
    if (rt_rq.overloaded) this.rt_set_overload(cpu);
    this.s.rq_rd[cpu]!.cpupri.cpupri_set(cpu, rt_rq.highest_prio_curr);
  }

  /** rq_offline_rt(), less __disable_runtime (the core's). */
  rq_offline(cpu: number): void {
    if (this.s.rt_rqs[cpu]!.overloaded) this.rt_clear_overload(cpu);
    this.s.rq_rd[cpu]!.cpupri.cpupri_set(cpu, CPUPRI_INVALID);
  }

  // ---- highest_prio and cpupri (inc_rt_prio / dec_rt_prio) -----------------

  private inc_rt_prio(cpu: number, rt_rq: RtRq, prio: number): void {
    const prev_prio = rt_rq.highest_prio_curr;
    if (prio < prev_prio) rt_rq.highest_prio_curr = prio;
    // inc_rt_prio_smp()
    if (prio < prev_prio) {
      rt_rq.highest_prio_next = prev_prio;
      if (this.s.rq_online[cpu]) this.s.rq_rd[cpu]!.cpupri.cpupri_set(cpu, prio);
    } else if (prio === rt_rq.highest_prio_curr) {
      rt_rq.highest_prio_next = prio;
    } else if (prio < rt_rq.highest_prio_next) {
      rt_rq.highest_prio_next = this.next_prio(cpu);
    }
  }

  private dec_rt_prio(cpu: number, rt_rq: RtRq, prio: number): void {
    const prev_prio = rt_rq.highest_prio_curr;
    if (rt_rq.rt_nr_running) {
      if (prio === prev_prio) rt_rq.highest_prio_curr = rt_rq.first_prio();
    } else {
      rt_rq.highest_prio_curr = MAX_RT_PRIO;
    }
    // dec_rt_prio_smp()
    if (rt_rq.rt_nr_running && prio <= rt_rq.highest_prio_next) rt_rq.highest_prio_next = this.next_prio(cpu);
    if (this.s.rq_online[cpu] && rt_rq.highest_prio_curr !== prev_prio) {
      this.s.rq_rd[cpu]!.cpupri.cpupri_set(cpu, rt_rq.highest_prio_curr);
    }
  }

  /** next_prio(): the best task that could be pulled from this rq. */
  private next_prio(cpu: number): number {
    const next = this.pick_next_highest_task_rt(cpu, cpu);
    return next && rt_task(next) ? next.prio : MAX_RT_PRIO;
  }

  // ---- the overload mask (inc_rt_migration / update_rt_migration) ----------

  private inc_rt_migration(cpu: number, rt_rq: RtRq, p: TaskStruct): void {
    rt_rq.rt_nr_total++;
    if (p.rt.nr_cpus_allowed > 1) rt_rq.rt_nr_migratory++;
    this.update_rt_migration(cpu, rt_rq);
  }

  private dec_rt_migration(cpu: number, rt_rq: RtRq, p: TaskStruct): void {
    rt_rq.rt_nr_total--;
    if (p.rt.nr_cpus_allowed > 1) rt_rq.rt_nr_migratory--;
    this.update_rt_migration(cpu, rt_rq);
  }

  private update_rt_migration(cpu: number, rt_rq: RtRq): void {
    if (rt_rq.rt_nr_migratory && rt_rq.rt_nr_total > 1) {
      if (!rt_rq.overloaded) {
        this.rt_set_overload(cpu);
        rt_rq.overloaded = true;
      }
    } else if (rt_rq.overloaded) {
      this.rt_clear_overload(cpu);
      rt_rq.overloaded = false;
    }
  }

  private rt_set_overload(cpu: number): void {
    if (!this.s.rq_online[cpu]) return;
    const rd = this.s.rq_rd[cpu]!;
    rd.rto_mask.set_cpu(cpu);
    rd.rto_count++;
  }

  private rt_clear_overload(cpu: number): void {
    if (!this.s.rq_online[cpu]) return;
    const rd = this.s.rq_rd[cpu]!;
    rd.rto_count--;
    rd.rto_mask.clear_cpu(cpu);
  }

  // ---- push and pull ----------------------------------------------------------

  /** pick_rt_task(): queued, not running, allowed on `cpu`, migratable. */
  private pick_rt_task(rq: CpuExec, p: TaskStruct, cpu: number): boolean {
    return rq.curr !== p && (cpu < 0 || p.cpus_allowed.test_cpu(cpu)) && p.rt.nr_cpus_allowed > 1;
  }

  /** pick_next_highest_task_rt(): the best pullable task of `src` for `cpu`. */
  private pick_next_highest_task_rt(src: number, cpu: number): TaskStruct | null {
    const rq = this.s.rqs[src]!;
    const rt_rq = this.s.rt_rqs[src]!;
    // The non-empty levels only, by the bitmap, as the kernel's walk does.
    for (let idx = rt_rq.next_prio(0); idx < MAX_RT_PRIO; idx = rt_rq.next_prio(idx + 1)) {
      const q = rt_rq.queue[idx]!;
      for (let i = 0; i < q.length; i++) {
        const p = q[i]!;
        if (this.pick_rt_task(rq, p, cpu)) return p;
      }
    }
    return null;
  }

  /**
   * find_lowest_rq(): among the CPUs of the lowest cpupri level the task may
   * use, its own CPU, else `this_cpu` or the first in the nearest
   * SD_WAKE_AFFINE domain, else any.
   */
  find_lowest_rq(task: TaskStruct, this_cpu: number): number {
    const lowest_mask = this.lowest_mask;
    const cpu = task.cpu;
    if (task.rt.nr_cpus_allowed === 1) return -1;
    if (!this.s.rq_rd[cpu]!.cpupri.cpupri_find(task, lowest_mask)) return -1;
    if (lowest_mask.test_cpu(cpu)) return cpu;
    if (this_cpu < 0 || !lowest_mask.test_cpu(this_cpu)) this_cpu = -1;
    for (let sd: SchedDomain | null = this.s.rq_sd[cpu] ?? null; sd; sd = sd.parent) {
      if (!(sd.flags & SD_WAKE_AFFINE)) continue;
      if (this_cpu !== -1 && sd.span.test_cpu(this_cpu)) return this_cpu;
      const best = lowest_mask.first_and(sd.span);
      if (best >= 0) return best;
    }
    if (this_cpu !== -1) return this_cpu;
    return lowest_mask.first();
  }

  /** find_lock_lowest_rq(): a CPU whose best queued RT task is below `task`. */
  private find_lock_lowest_rq(task: TaskStruct, cpu: number): number {
    for (let tries = 0; tries < RT_MAX_TRIES; tries++) {
      const lowest = this.find_lowest_rq(task, cpu);
      if (lowest === -1 || lowest === cpu) break;
      if (this.s.rt_rqs[lowest]!.highest_prio_curr > task.prio) return lowest;
    }
    return -1;
  }

  /** push_rt_task(): move the best pushable task to a CPU running less important work. */
  push_rt_task(cpu: number): boolean {
    const rq = this.s.rqs[cpu]!;
    const rt_rq = this.s.rt_rqs[cpu]!;
    if (!rt_rq.overloaded) return false;
    const next_task = rt_rq.pushable[0];
    if (!next_task || next_task === rq.curr) return false;
    if (next_task.prio < rq.curr.prio) {
      this.s.resched_curr(rq);
      return false;
    }
    const lowest = this.find_lock_lowest_rq(next_task, cpu);
    if (lowest < 0) {
      // "We will not try again, since the other cpus will pull from us when they are ready."
      dequeue_pushable_task(rt_rq, next_task);
      return true;
    }
    this.s.move_task(next_task, lowest);
    this.s.resched_curr(this.s.rqs[lowest]!);
    return true;
  }

  /** push_rt_tasks() */
  push_rt_tasks(cpu: number): void {
    while (this.push_rt_task(cpu));
  }

  /**
   * pull_rt_task(): from every overloaded CPU of the root domain, take a
   * queued RT task better than this rq's best, unless it is about to run
   * where it is.
   */
  pull_rt_task(this_cpu: number): boolean {
    const rd = this.s.rq_rd[this_cpu]!;
    if (rd.rto_count === 0) return false;
    const this_rt = this.s.rt_rqs[this_cpu]!;
    let ret = false;
    for (let cpu = rd.rto_mask.first(); cpu >= 0; cpu = rd.rto_mask.next(cpu + 1)) {
      if (cpu === this_cpu) continue;
      const src_rt = this.s.rt_rqs[cpu]!;
      if (src_rt.highest_prio_next >= this_rt.highest_prio_curr) continue;
      if (src_rt.rt_nr_running <= 1) continue;
      const p = this.pick_next_highest_task_rt(cpu, this_cpu);
      if (p && p.prio < this_rt.highest_prio_curr) {
        if (p.prio < this.s.rqs[cpu]!.curr.prio) continue;
        ret = true;
        this.s.move_task(p, this_cpu);
      }
    }
    return ret;
  }
}

/** enqueue_pushable_task(): plist order, by prio, after equals. */
function enqueue_pushable_task(rt_rq: RtRq, p: TaskStruct): void {
  dequeue_pushable_task(rt_rq, p);
  const list = rt_rq.pushable;
  let i = list.length;
  while (i > 0 && list[i - 1]!.prio > p.prio) i--;
  insert_at(list, i, p);
}

function dequeue_pushable_task(rt_rq: RtRq, p: TaskStruct): void {
  const i = rt_rq.pushable.indexOf(p);
  if (i >= 0) remove_at(rt_rq.pushable, i);
}
