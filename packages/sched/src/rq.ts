import { BUG, type TaskStruct } from "@ksim/core";

/** RUNTIME_INF: an rt_rq with no bandwidth limit. */
export const RUNTIME_INF = Number.POSITIVE_INFINITY;

/**
 * Removes entry `i`, keeping the order of the rest (splice(i, 1) without the
 * array it returns). pop(), not `length--`: V8 frees the backing store of an
 * array whose length is set to 0, so a list that empties and fills again
 * (a priority level, a cfs_rq) would allocate one on every enqueue.
 */
export function remove_at<T>(list: T[], i: number): void {
  for (let k = i + 1; k < list.length; k++) list[k - 1] = list[k]!;
  list.pop();
}

/** Inserts `x` at `i`, moving the rest up (splice(i, 0, x) without the array it returns). */
export function insert_at<T>(list: T[], i: number, x: T): void {
  list.push(x);
  for (let k = list.length - 1; k > i; k--) list[k] = list[k - 1]!;
  list[i] = x;
}

/** Number of RT priority levels (MAX_RT_PRIO). */
const RT_LEVELS = 100;

/** Every level's list until its first task: frozen, so a stray push throws. */
const NO_TASKS: TaskStruct[] = Object.freeze([]) as unknown as TaskStruct[];

/**
 * struct rt_rq of a CPU (no RT group scheduling: one root rt_rq per CPU).
 * `queue[prio]` lists the runnable RT tasks of that priority, FIFO order;
 * `bitmap` marks the non-empty levels so the pick is one clz32 per word.
 */
export class RtRq {
  /** A level's list is made on its first enqueue: most rt_rqs only ever see a few priorities. */
  readonly queue: readonly TaskStruct[][] = new Array<TaskStruct[]>(RT_LEVELS).fill(NO_TASKS);
  private readonly bitmap = new Uint32Array(4);
  rt_nr_running = 0;
  /** ns of RT execution charged in the current period. */
  rt_time = 0;
  /** ns this rt_rq may run per period (borrowing changes it); RUNTIME_INF when disabled. */
  rt_runtime: number;
  rt_throttled = false;
  /** highest_prio.curr / .next: MAX_RT_PRIO when there is none. */
  highest_prio_curr = RT_LEVELS;
  highest_prio_next = RT_LEVELS;
  /** Queued RT tasks, and those of them with rt.nr_cpus_allowed > 1. */
  rt_nr_total = 0;
  rt_nr_migratory = 0;
  /** In rd->rto_mask: more than one RT task, one of them migratable. */
  overloaded = false;
  /** rt.pushable_tasks: queued, not running, migratable; by prio, FIFO among equals (a plist). */
  readonly pushable: TaskStruct[] = [];

  constructor(rt_runtime: number) {
    this.rt_runtime = rt_runtime;
  }

  enqueue(p: TaskStruct, head = false): void {
    let q = this.queue[p.prio]!;
    if (q === NO_TASKS) (this.queue as TaskStruct[][])[p.prio] = q = [];
    if (head) q.unshift(p);
    else q.push(p);
    this.bitmap[p.prio >>> 5]! |= 1 << (p.prio & 31);
    this.rt_nr_running++;
  }

  dequeue(p: TaskStruct): void {
    const q = this.queue[p.prio]!;
    const i = q.indexOf(p);
    // dequeue_rt_entity(): the count would disagree with the lists.
    if (i < 0) BUG(`dequeue_task_rt(${p.name}): not on its rt_rq's prio ${p.prio} list`);
    remove_at(q, i);
    if (q.length === 0) this.bitmap[p.prio >>> 5]! &= ~(1 << (p.prio & 31));
    this.rt_nr_running--;
  }

  /** requeue_task_rt(): to the tail of its priority list. */
  requeue(p: TaskStruct): void {
    const q = this.queue[p.prio]!;
    const i = q.indexOf(p);
    if (i < 0 || q.length === 1) return;
    remove_at(q, i);
    q.push(p);
  }

  /**
   * What is wrong with this rt_rq's bookkeeping, or null: rt_nr_running
   * against the lists, the bitmap against the non-empty levels, a task on
   * the list of a priority it does not have, rt_time below zero.
   */
  check(): string | null {
    let n = 0;
    for (let prio = 0; prio < RT_LEVELS; prio++) {
      const q = this.queue[prio]!;
      n += q.length;
      const bit = (this.bitmap[prio >>> 5]! >>> (prio & 31)) & 1;
      if (bit !== (q.length > 0 ? 1 : 0)) return `bitmap bit ${prio} is ${bit} but the list has ${q.length} tasks`;
      // Indexed: check_rq's caller runs unoptimised, where a for-of allocates per step.
      for (let k = 0; k < q.length; k++) {
        const p = q[k]!;
        if (p.prio !== prio) return `${p.name} (prio ${p.prio}) is on the prio ${prio} list`;
      }
    }
    if (n !== this.rt_nr_running) return `rt_nr_running is ${this.rt_nr_running} but its lists hold ${n} tasks`;
    if (!(this.rt_time >= 0)) return `rt_time is ${this.rt_time}`;
    if (!(this.rt_runtime >= 0)) return `rt_runtime is ${this.rt_runtime}`;
    return null;
  }

  /** sched_find_first_bit(): the highest non-empty priority, or MAX_RT_PRIO. */
  first_prio(): number {
    for (let w = 0; w < 4; w++) {
      const bits = this.bitmap[w]!;
      if (bits !== 0) return w * 32 + (31 - Math.clz32(bits & -bits));
    }
    return RT_LEVELS;
  }

  /** The first non-empty priority at or after `from`, or MAX_RT_PRIO. */
  next_prio(from: number): number {
    for (let w = from >>> 5; w < 4; w++) {
      let bits = this.bitmap[w]!;
      if (w === from >>> 5) bits &= -1 << (from & 31);
      if (bits !== 0) return w * 32 + (31 - Math.clz32(bits & -bits));
    }
    return RT_LEVELS;
  }

  /** The first task of the highest non-empty priority, or null. */
  first(): TaskStruct | null {
    for (let w = 0; w < 4; w++) {
      const bits = this.bitmap[w]!;
      if (bits !== 0) {
        const prio = w * 32 + (31 - Math.clz32(bits & -bits));
        return this.queue[prio]![0] ?? null;
      }
    }
    return null;
  }
}

/**
 * struct cfs_rq, as far as sharing a CPU fairly needs: the runnable tasks
 * (the current one included) and min_vruntime.
 */
export class CfsRq {
  readonly tasks: TaskStruct[] = [];
  min_vruntime = 0;
  load_weight = 0;

  enqueue(p: TaskStruct): void {
    this.tasks.push(p);
    this.load_weight += p.se.weight;
  }

  dequeue(p: TaskStruct): void {
    const i = this.tasks.indexOf(p);
    if (i < 0) BUG(`dequeue_task_fair(${p.name}): not on its cfs_rq`);
    remove_at(this.tasks, i);
    this.load_weight -= p.se.weight;
  }

  get nr_running(): number {
    return this.tasks.length;
  }

  /** pick_next_entity(): the smallest vruntime; the earliest queued among equals. */
  leftmost(): TaskStruct | null {
    const tasks = this.tasks;
    const n = tasks.length;
    if (n === 0) return null;
    let best = tasks[0]!;
    let v = best.se.vruntime;
    for (let i = 1; i < n; i++) {
      const t = tasks[i]!;
      if (t.se.vruntime < v) {
        best = t;
        v = t.se.vruntime;
      }
    }
    return best;
  }

  update_min_vruntime(curr: TaskStruct | null): void {
    let v = Number.POSITIVE_INFINITY;
    if (curr) v = curr.se.vruntime;
    const left = this.leftmost();
    if (left) v = Math.min(v, left.se.vruntime);
    if (v !== Number.POSITIVE_INFINITY && v > this.min_vruntime) this.min_vruntime = v;
  }
}
