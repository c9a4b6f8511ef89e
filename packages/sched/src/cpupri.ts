import { BUG, CpuMask, MAX_PRIO, MAX_RT_PRIO, type TaskStruct } from "@ksim/core";

/** kernel/sched_cpupri.h of 2.6.34. */
export const CPUPRI_INVALID = -1;
export const CPUPRI_IDLE = 0;
export const CPUPRI_NORMAL = 1;
/** Values 2..101 are RT priorities 0..99. */
const CPUPRI_NR_PRIORITIES = MAX_RT_PRIO + 2;

/** convert_prio(): a task prio (or CPUPRI_INVALID) to a cpupri level. */
function convert_prio(prio: number): number {
  if (prio === CPUPRI_INVALID) return CPUPRI_INVALID;
  if (prio === MAX_PRIO) return CPUPRI_IDLE;
  if (prio >= MAX_RT_PRIO) return CPUPRI_NORMAL;
  return MAX_RT_PRIO - prio + 1;
}

/**
 * struct cpupri (kernel/sched_cpupri.c): for each level, the CPUs whose
 * highest runnable RT priority is that level, so find_lowest_rq() can find
 * the CPUs running the least important work in one pass over the levels.
 */
export class CpuPri {
  /**
   * pri_to_cpu[level].mask, made when a CPU first enters the level: most of
   * the 102 levels never hold a CPU, and a root domain is built at every
   * hotplug operation (partition_sched_domains), so eager masks were much
   * of a run's allocation.
   */
  private readonly masks: (CpuMask | null)[] = [];
  private readonly count: number[] = [];
  readonly cpu_to_pri: number[] = [];

  constructor(nr_cpus: number) {
    for (let i = 0; i < CPUPRI_NR_PRIORITIES; i++) {
      this.masks.push(null);
      this.count.push(0);
    }
    for (let c = 0; c < nr_cpus; c++) this.cpu_to_pri.push(CPUPRI_INVALID);
  }

  /**
   * cpupri_set(): `prio` is the CPU's rt_rq highest_prio.curr (MAX_RT_PRIO
   * when it has no RT task, so CPUPRI_NORMAL), or CPUPRI_INVALID.
   */
  cpupri_set(cpu: number, prio: number): void {
    const newpri = convert_prio(prio);
    if (newpri >= CPUPRI_NR_PRIORITIES) BUG(`cpupri_set(${cpu}, ${prio}): no such level`);
    const oldpri = this.cpu_to_pri[cpu]!;
    if (newpri === oldpri) return;
    if (newpri !== CPUPRI_INVALID) {
      (this.masks[newpri] ??= new CpuMask()).set_cpu(cpu);
      this.count[newpri]!++;
    }
    if (oldpri !== CPUPRI_INVALID) {
      this.count[oldpri]!--;
      this.masks[oldpri]!.clear_cpu(cpu);
    }
    this.cpu_to_pri[cpu] = newpri;
  }

  /**
   * cpupri_find(): the lowest level below the task's own that holds a CPU it
   * may run on; the allowed CPUs of that level go into `lowest_mask`.
   */
  cpupri_find(p: TaskStruct, lowest_mask: CpuMask | null): boolean {
    const task_pri = convert_prio(p.prio);
    for (let idx = 0; idx < task_pri && idx < CPUPRI_NR_PRIORITIES; idx++) {
      if (this.count[idx] === 0) continue;
      // A level with a CPU in it has its mask.
      const vec = this.masks[idx]!;
      if (!p.cpus_allowed.intersects(vec)) continue;
      if (lowest_mask) cpumask_and(lowest_mask, p.cpus_allowed, vec);
      return true;
    }
    return false;
  }
}

/** cpumask_and(dst, a, b) without allocating. */
export function cpumask_and(dst: CpuMask, a: CpuMask, b: CpuMask): void {
  const d = dst.bits;
  for (let i = 0; i < d.length; i++) d[i] = a.bits[i]! & b.bits[i]!;
}
