import { BUG_ON, CpuMask, NR_CPUS } from "@ksim/core";
import type { SchedCore } from "./sched_class.js";
import { SCHED_LOAD_SCALE, SD_PREFER_SIBLING, type SchedDomain, type SchedGroup } from "./sched_domains.js";

/** What find_busiest_group needs of the fair class, and its reused records. */
export interface LbEnv {
  readonly s: SchedCore;
  source_load(cpu: number, idx: number): number;
  target_load(cpu: number, idx: number): number;
  cpu_avg_load_per_task(cpu: number): number;
  readonly sds: SdLbStats;
  readonly sgs: SgLbStats;
  /** find_busiest_group()'s *imbalance. */
  imbalance: number;
  /** Which CPUs have fair load, and how much: what find_busiest_group reads instead of walking every group. */
  readonly index: FairLoadIndex;
  /** Fold cpu_load[] of the index's unsettled CPUs and drop those that settled. */
  refresh_unsettled(): void;
  /**
   * A debug check (as CONFIG_SCHED_DEBUG would add): every find_busiest_group
   * through the index or the busiest candidates also walks every group, and
   * a different group or imbalance is a BUG. Off by default; O(CPUs) a balance.
   */
  check_index: boolean;
}

/** The cpu_load[] indices find_busiest_group may read through the index: busy_idx, idle_idx and newidle_idx of every level are at most 2. */
export const LB_IDX_MAX = 2;

const WORDS = NR_CPUS / 32;
const NO_CPUS = new CpuMask();
const NO_CPU_LIST: readonly number[] = [];

/**
 * The fair load of every CPU, kept as it changes, so that a domain of
 * one-CPU groups is balanced without visiting each: weighted_cpuload per
 * CPU, their sum, the CPUs of each load value, the CPUs with fair load
 * and those with a second task as well (the only possible busiest), and
 * the CPUs whose cpu_load[0..LB_IDX_MAX-1] may still lie below their load
 * ("unsettled": source_load is weighted_cpuload for every other CPU). A
 * cpu_load[] entry moves toward the load and never crosses it, so a CPU
 * settles for good until its load rises again.
 */
export class FairLoadIndex {
  readonly load: number[] = new Array<number>(NR_CPUS).fill(0);
  total = 0;
  readonly fair = new CpuMask();
  readonly overloaded = new CpuMask();
  readonly unsettled = new CpuMask();
  readonly unsettled_list: number[] = [];
  /**
   * The CPUs of each load above 0, and the loads seen, largest first. A
   * load's entry stays when its last CPU leaves (loads come and go with
   * every enqueue), so the walk skips empty ones; they are dropped once
   * they outnumber the rest. buckets_desc[k] is the bucket of
   * loads_desc[k], so the walks need no lookup by load.
   */
  readonly by_load = new Map<number, LoadBucket>();
  readonly loads_desc: number[] = [];
  readonly buckets_desc: LoadBucket[] = [];
  private empty_buckets = 0;
  /** Load changes so far, and the jiffy and count at the last settle(). */
  private changes = 0;
  private settled_jiffy = -1;
  private settled_changes = 0;

  /** After an enqueue or dequeue on `cpu`: its fair load `w` and nr_running `nr`. */
  update(cpu: number, w: number, nr: number): void {
    const old = this.load[cpu]!;
    if (w !== old) this.load_changed(cpu, w, old);
    if (w > 0) this.fair.set_cpu(cpu);
    else this.fair.clear_cpu(cpu);
    if (w > 0 && nr >= 2) this.overloaded.set_cpu(cpu);
    else this.overloaded.clear_cpu(cpu);
  }

  /** update() of a CPU whose load changed from `old` to `w`; apart, so that update() inlines small. */
  private load_changed(cpu: number, w: number, old: number): void {
    this.changes++;
    this.total += w - old;
    this.load[cpu] = w;
    if (old > 0) this.leave(cpu, old);
    if (w > 0) this.join(cpu, w);
    if (w > old && !this.unsettled.test_cpu(cpu)) {
      this.unsettled.set_cpu(cpu);
      this.unsettled_list.push(cpu);
    }
  }

  private join(cpu: number, w: number): void {
    let b = this.by_load.get(w);
    if (!b) {
      b = { cpus: new CpuMask(), n: 0 };
      this.by_load.set(w, b);
      const keys = this.loads_desc;
      const buckets = this.buckets_desc;
      let i = keys.length;
      keys.push(w);
      buckets.push(b);
      for (; i > 0 && keys[i - 1]! < w; i--) {
        keys[i] = keys[i - 1]!;
        buckets[i] = buckets[i - 1]!;
      }
      keys[i] = w;
      buckets[i] = b;
    } else if (b.n === 0) {
      this.empty_buckets--;
    }
    b.cpus.set_cpu(cpu);
    b.n++;
  }

  private leave(cpu: number, w: number): void {
    const b = this.by_load.get(w)!;
    b.cpus.clear_cpu(cpu);
    if (--b.n > 0) return;
    if (++this.empty_buckets > 16 && this.empty_buckets * 2 > this.loads_desc.length) this.drop_empty();
  }

  private drop_empty(): void {
    const keys = this.loads_desc;
    const buckets = this.buckets_desc;
    let j = 0;
    for (let i = 0; i < keys.length; i++) {
      const b = buckets[i]!;
      if (b.n > 0) {
        keys[j] = keys[i]!;
        buckets[j++] = b;
      } else this.by_load.delete(keys[i]!);
    }
    keys.length = j;
    buckets.length = j;
    this.empty_buckets = 0;
  }

  /**
   * Drop the CPUs that `settled` says have settled, at jiffy `now`. A second
   * look in the same jiffy with no load changed since finds nothing: a CPU
   * that stayed is not due before a later tick (settled() of the fair class).
   */
  settle(settled: (cpu: number, w: number) => boolean, now: number): void {
    if (now === this.settled_jiffy && this.changes === this.settled_changes) return;
    this.settled_jiffy = now;
    this.settled_changes = this.changes;
    const list = this.unsettled_list;
    let j = 0;
    for (let k = 0; k < list.length; k++) {
      const cpu = list[k]!;
      if (settled(cpu, this.load[cpu]!)) this.unsettled.clear_cpu(cpu);
      else list[j++] = cpu;
    }
    // Only when one settled: setting length is a runtime call, and at 0 it frees the backing store.
    while (list.length > j) list.pop();
  }

  /** The largest load of a CPU in `mask` (0: none). */
  max_load_in(mask: CpuMask): number {
    const keys = this.loads_desc;
    const buckets = this.buckets_desc;
    for (let k = 0; k < keys.length; k++) {
      const b = buckets[k]!;
      if (b.n > 0 && b.cpus.intersects(mask)) return keys[k]!;
    }
    return 0;
  }

  /** The sum of the fair load of the CPUs in both `a` and `b`. */
  load_in(a: CpuMask, b: CpuMask): number {
    let sum = this.total;
    const f = this.fair.bits;
    for (let w = 0; w < WORDS; w++) {
      let out = f[w]! & ~(a.bits[w]! & b.bits[w]!);
      while (out !== 0) {
        const bit = out & -out;
        sum -= this.load[w * 32 + 31 - Math.clz32(bit)]!;
        out ^= bit;
      }
    }
    return sum;
  }
}

/** The CPUs whose fair load is one value, and how many they are. */
interface LoadBucket {
  readonly cpus: CpuMask;
  n: number;
}

/** The first CPU in [from, to) of a ∩ b ∩ c ∩ d minus e, or -1. */
function next_in(a: CpuMask, b: CpuMask, c: CpuMask, d: CpuMask, e: CpuMask, from: number, to: number): number {
  for (let w = from >>> 5; w < WORDS && w * 32 < to; w++) {
    let bits = a.bits[w]! & b.bits[w]! & c.bits[w]! & d.bits[w]! & ~e.bits[w]!;
    if (w === from >>> 5) bits &= ~((1 << (from & 31)) - 1);
    if (bits !== 0) {
      const cpu = w * 32 + 31 - Math.clz32(bits & -bits);
      return cpu < to ? cpu : -1;
    }
  }
  return -1;
}

/** The first CPU of a ∩ b ∩ c ∩ d minus e in the walk's order from this_cpu's group (this_cpu itself left out), or -1. */
function next_in_walk(a: CpuMask, b: CpuMask, c: CpuMask, d: CpuMask, e: CpuMask, this_cpu: number): number {
  const i = next_in(a, b, c, d, e, this_cpu + 1, NR_CPUS);
  return i >= 0 ? i : next_in(a, b, c, d, e, 0, this_cpu);
}

/**
 * find_idlest_group() of a domain of one-CPU groups of power
 * SCHED_LOAD_SCALE at forkexec_idx 0, where a group's avg_load is its
 * CPU's weighted_cpuload: from the FairLoadIndex. The idlest is the first
 * CPU in the walk's order (after this CPU's group) of the least load among
 * those the task may use: one with no fair load if there is one, else one
 * of the lightest load bucket that has one. this_cpu's group counts only
 * if the task may run there. Returns the group's mask, as the walk does.
 */
export function find_idlest_group_indexed(env: LbEnv, sd: SchedDomain, allowed: CpuMask, this_cpu: number): CpuMask | null {
  const x = env.index;
  let idlest = next_in_walk(sd.span, allowed, allowed, allowed, x.fair, this_cpu);
  let min_load = 0;
  for (let k = x.loads_desc.length - 1; idlest < 0 && k >= 0; k--) {
    const w = x.loads_desc[k]!;
    const b = x.buckets_desc[k]!;
    if (b.n === 0) continue;
    idlest = next_in_walk(b.cpus, sd.span, allowed, allowed, NO_CPUS, this_cpu);
    min_load = w;
  }
  if (idlest < 0) return null;
  const this_load = allowed.test_cpu(this_cpu) ? x.load[this_cpu]! : 0;
  const imbalance = 100 + Math.floor((sd.imbalance_pct - 100) / 2);
  if (100 * this_load < imbalance * min_load) return null;
  return sd.groups[sd.cpu_group[idlest]!]!.cpus;
}

/** The place of `cpu` in a walk of the groups that starts at this_cpu's. */
function walk_pos(cpu: number, this_cpu: number): number {
  return (cpu - this_cpu + NR_CPUS) % NR_CPUS;
}

export function new_sd_lb_stats(): SdLbStats {
  return {
    busiest: null, this: null, total_load: 0, total_pwr: 0, avg_load: 0, this_load: 0, this_load_per_task: 0,
    this_nr_running: 0, max_load: 0, busiest_load_per_task: 0, busiest_nr_running: 0, busiest_group_capacity: 0, group_imb: false,
  };
}

export function new_sg_lb_stats(): SgLbStats {
  return { avg_load: 0, group_load: 0, sum_nr_running: 0, sum_weighted_load: 0, group_capacity: 0, group_imb: false };
}

type Idle = "CPU_IDLE" | "CPU_NOT_IDLE" | "CPU_NEWLY_IDLE";

/** struct sd_lb_stats */
export interface SdLbStats {
  busiest: SchedGroup | null;
  this: SchedGroup | null;
  total_load: number;
  total_pwr: number;
  avg_load: number;
  this_load: number;
  this_load_per_task: number;
  this_nr_running: number;
  max_load: number;
  busiest_load_per_task: number;
  busiest_nr_running: number;
  busiest_group_capacity: number;
  group_imb: boolean;
}

/** struct sg_lb_stats */
export interface SgLbStats {
  avg_load: number;
  group_load: number;
  sum_nr_running: number;
  sum_weighted_load: number;
  group_capacity: number;
  group_imb: boolean;
}

/** get_sd_load_idx() */
export function get_sd_load_idx(sd: SchedDomain, idle: Idle): number {
  if (idle === "CPU_NOT_IDLE") return sd.busy_idx;
  if (idle === "CPU_NEWLY_IDLE") return sd.newidle_idx;
  return sd.idle_idx;
}

const div_round_closest = (a: number, b: number): number => Math.floor((a + Math.floor(b / 2)) / b);

/**
 * update_sg_lb_stats(): the group's load (target_load for our own group,
 * source_load for the others), task count and capacity. Clears
 * `balance.ok` when another CPU of our group should balance this level.
 */
function update_sg_lb_stats(env: LbEnv, group: SchedGroup, this_cpu: number, idle: Idle, load_idx: number, local: boolean, cpus: CpuMask, balance: { ok: boolean }): SgLbStats | null {
  const s = env.s;
  const sgs = env.sgs;
  sgs.avg_load = sgs.group_load = sgs.sum_nr_running = sgs.sum_weighted_load = sgs.group_capacity = 0;
  sgs.group_imb = false;
  let max_cpu_load = 0;
  let min_cpu_load = Number.POSITIVE_INFINITY;
  let balance_cpu = local ? group.cpus.first() : -1;
  let first_idle_cpu = false;
  for (let i = group.cpus.first(); i >= 0; i = group.cpus.next(i + 1)) {
    if (!cpus.test_cpu(i)) continue;
    let load: number;
    if (local) {
      const rq = s.rqs[i]!;
      if (rq.curr === rq.idle && !first_idle_cpu) {
        first_idle_cpu = true;
        balance_cpu = i;
      }
      load = env.target_load(i, load_idx);
    } else {
      load = env.source_load(i, load_idx);
      if (load > max_cpu_load) max_cpu_load = load;
      if (min_cpu_load > load) min_cpu_load = load;
    }
    sgs.group_load += load;
    sgs.sum_nr_running += s.nr_running(i);
    sgs.sum_weighted_load += s.cfs_rqs[i]!.load_weight;
  }
  if (idle !== "CPU_NEWLY_IDLE" && local && balance_cpu !== this_cpu) {
    balance.ok = false;
    return null;
  }
  sgs.avg_load = Math.floor((sgs.group_load * SCHED_LOAD_SCALE) / group.cpu_power);
  const avg_load_per_task = sgs.sum_nr_running ? Math.floor(sgs.sum_weighted_load / sgs.sum_nr_running) : 0;
  if (min_cpu_load !== Number.POSITIVE_INFINITY && max_cpu_load - min_cpu_load > 2 * avg_load_per_task) sgs.group_imb = true;
  sgs.group_capacity = div_round_closest(group.cpu_power, SCHED_LOAD_SCALE);
  return sgs;
}

/** update_sd_lb_stats(): the local group and the busiest overloaded one. */
function update_sd_lb_stats(env: LbEnv, sd: SchedDomain, this_cpu: number, idle: Idle, cpus: CpuMask, balance: { ok: boolean }): SdLbStats | null {
  const sds = env.sds;
  sds.busiest = sds.this = null;
  sds.total_load = sds.total_pwr = sds.avg_load = sds.this_load = sds.this_load_per_task = sds.this_nr_running = 0;
  sds.max_load = sds.busiest_load_per_task = sds.busiest_nr_running = sds.busiest_group_capacity = 0;
  sds.group_imb = false;
  const prefer_sibling = sd.child !== null && (sd.child.flags & SD_PREFER_SIBLING) !== 0;
  const load_idx = get_sd_load_idx(sd, idle);
  const groups = sd.groups;
  for (let k = 0; k < groups.length; k++) {
    const group = groups[(sd.first_group + k) % groups.length]!;
    const local = group.cpus.test_cpu(this_cpu);
    const sgs = update_sg_lb_stats(env, group, this_cpu, idle, load_idx, local, cpus, balance);
    if (sgs === null) return null;
    sds.total_load += sgs.group_load;
    sds.total_pwr += group.cpu_power;
    if (prefer_sibling) sgs.group_capacity = Math.min(sgs.group_capacity, 1);
    if (local) {
      sds.this_load = sgs.avg_load;
      sds.this = group;
      sds.this_nr_running = sgs.sum_nr_running;
      sds.this_load_per_task = sgs.sum_weighted_load;
    } else if (sgs.avg_load > sds.max_load && (sgs.sum_nr_running > sgs.group_capacity || sgs.group_imb)) {
      sds.max_load = sgs.avg_load;
      sds.busiest = group;
      sds.busiest_nr_running = sgs.sum_nr_running;
      sds.busiest_group_capacity = sgs.group_capacity;
      sds.busiest_load_per_task = sgs.sum_weighted_load;
      sds.group_imb = sgs.group_imb;
    }
  }
  return sds;
}

/** fix_small_imbalance(): move one task if that raises the power in use. */
function fix_small_imbalance(env: LbEnv, sds: SdLbStats, this_cpu: number): number {
  const busiest = sds.busiest!;
  const self = sds.this!;
  let imbn = 2;
  if (sds.this_nr_running) {
    sds.this_load_per_task = Math.floor(sds.this_load_per_task / sds.this_nr_running);
    if (sds.busiest_load_per_task > sds.this_load_per_task) imbn = 1;
  } else {
    sds.this_load_per_task = env.cpu_avg_load_per_task(this_cpu);
  }
  const scaled = Math.floor((sds.busiest_load_per_task * SCHED_LOAD_SCALE) / busiest.cpu_power);
  if (sds.max_load - sds.this_load + scaled >= scaled * imbn) return sds.busiest_load_per_task;
  let pwr_now = busiest.cpu_power * Math.min(sds.busiest_load_per_task, sds.max_load);
  pwr_now += self.cpu_power * Math.min(sds.this_load_per_task, sds.this_load);
  pwr_now = Math.floor(pwr_now / SCHED_LOAD_SCALE);
  let tmp = Math.floor((sds.busiest_load_per_task * SCHED_LOAD_SCALE) / busiest.cpu_power);
  let pwr_move = 0;
  if (sds.max_load > tmp) pwr_move += busiest.cpu_power * Math.min(sds.busiest_load_per_task, sds.max_load - tmp);
  if (sds.max_load * busiest.cpu_power < sds.busiest_load_per_task * SCHED_LOAD_SCALE) {
    tmp = Math.floor((sds.max_load * busiest.cpu_power) / self.cpu_power);
  } else {
    tmp = Math.floor((sds.busiest_load_per_task * SCHED_LOAD_SCALE) / self.cpu_power);
  }
  pwr_move += self.cpu_power * Math.min(sds.this_load_per_task, sds.this_load + tmp);
  pwr_move = Math.floor(pwr_move / SCHED_LOAD_SCALE);
  return pwr_move > pwr_now ? sds.busiest_load_per_task : 0;
}

/** calculate_imbalance(): how much weighted load to move. */
function calculate_imbalance(env: LbEnv, sds: SdLbStats, this_cpu: number): number {
  const busiest = sds.busiest!;
  sds.busiest_load_per_task = Math.floor(sds.busiest_load_per_task / sds.busiest_nr_running);
  if (sds.group_imb) sds.busiest_load_per_task = Math.min(sds.busiest_load_per_task, sds.avg_load);
  if (sds.max_load < sds.avg_load) return fix_small_imbalance(env, sds, this_cpu);
  let load_above_capacity = Number.POSITIVE_INFINITY;
  if (!sds.group_imb) {
    load_above_capacity = (sds.busiest_nr_running - sds.busiest_group_capacity) * SCHED_LOAD_SCALE * SCHED_LOAD_SCALE;
    load_above_capacity = Math.floor(load_above_capacity / busiest.cpu_power);
  }
  // The kernel's unsigned arithmetic: a negative load_above_capacity is huge.
  if (load_above_capacity < 0) load_above_capacity = Number.POSITIVE_INFINITY;
  const max_pull = Math.min(sds.max_load - sds.avg_load, load_above_capacity);
  const imbalance = Math.floor(Math.min(max_pull * busiest.cpu_power, (sds.avg_load - sds.this_load) * sds.this!.cpu_power) / SCHED_LOAD_SCALE);
  if (imbalance < sds.busiest_load_per_task) return fix_small_imbalance(env, sds, this_cpu);
  return imbalance;
}

/**
 * find_busiest_group(): the busiest group of the domain and the imbalance,
 * or null when this CPU's group is not below the average by more than
 * imbalance_pct (or another CPU balances this level).
 */
export function find_busiest_group(env: LbEnv, sd: SchedDomain, this_cpu: number, idle: Idle, cpus: CpuMask, balance: { ok: boolean }): SchedGroup | null {
  if (sd.single_cpu_groups && sd.child === null) {
    const group = sd.unit_power && get_sd_load_idx(sd, idle) <= LB_IDX_MAX ? find_busiest_indexed(env, sd, this_cpu, idle, cpus) : find_busiest_cpu_group(env, sd, this_cpu, idle, cpus);
    if (env.check_index) check_busiest(env, sd, this_cpu, idle, cpus, balance, group);
    return group;
  }
  return find_busiest_walk(env, sd, this_cpu, idle, cpus, balance);
}

/** The debug check: the walk over every group finds the same group and imbalance. */
function check_busiest(env: LbEnv, sd: SchedDomain, this_cpu: number, idle: Idle, cpus: CpuMask, balance: { ok: boolean }, group: SchedGroup | null): void {
  const imbalance = env.imbalance;
  const walked = find_busiest_walk(env, sd, this_cpu, idle, cpus, balance);
  BUG_ON(
    walked !== group || (group !== null && env.imbalance !== imbalance),
    `find_busiest_group(CPU ${this_cpu}, ${idle}): the index found ${group?.cpus.toString() ?? "none"} (imbalance ${imbalance}), the walk ${walked?.cpus.toString() ?? "none"} (imbalance ${env.imbalance})`,
  );
}

/** find_busiest_group() as the kernel does it: update_sd_lb_stats over every group. */
function find_busiest_walk(env: LbEnv, sd: SchedDomain, this_cpu: number, idle: Idle, cpus: CpuMask, balance: { ok: boolean }): SchedGroup | null {
  const sds = update_sd_lb_stats(env, sd, this_cpu, idle, cpus, balance);
  if (sds === null || !balance.ok) return null;
  if (!sds.busiest || sds.busiest_nr_running === 0) return null;
  if (sds.this_load >= sds.max_load) return null;
  sds.avg_load = Math.floor((SCHED_LOAD_SCALE * sds.total_load) / sds.total_pwr);
  if (sds.this_load >= sds.avg_load) return null;
  if (100 * sds.max_load <= sd.imbalance_pct * sds.this_load) return null;
  env.imbalance = calculate_imbalance(env, sds, this_cpu);
  return sds.busiest;
}

/**
 * find_busiest_group() of a domain whose groups are single CPUs of power
 * at least SCHED_LOAD_SCALE / 2 (capacity 1) and that has no child (so no
 * SD_PREFER_SIBLING): the same answer as the walk over every group, from
 * the CPUs that can give it (FairLoadIndex's masks). A remote CPU without fair load adds nothing
 * (source_load is at most weighted_cpuload), only a CPU with two tasks and
 * fair load can exceed its capacity with a load above zero, and a group of
 * one CPU is never group_imb. The busiest is the first of the largest in
 * the walk's order (from this CPU's group on, wrapping). The tests that
 * return no group come before the total load is summed; the kernel's order
 * among them does not change the answer. The local group is the balancing
 * CPU of itself, so `balance` stays ok.
 */
function find_busiest_cpu_group(env: LbEnv, sd: SchedDomain, this_cpu: number, idle: Idle, cpus: CpuMask): SchedGroup | null {
  const load_idx = get_sd_load_idx(sd, idle);
  const groups = sd.groups;
  const self = groups[sd.first_group]!;
  const here = cpus.test_cpu(this_cpu);
  const this_group_load = here ? env.target_load(this_cpu, load_idx) : 0;
  const this_load = Math.floor((this_group_load * SCHED_LOAD_SCALE) / self.cpu_power);
  let busiest = -1;
  let max_load = 0;
  const cand = env.index.overloaded;
  // The walk's order: this CPU's group, the later CPUs of the span, then the earlier ones.
  for (let pass = 0; pass < 2; pass++) {
    const end = pass === 0 ? Number.POSITIVE_INFINITY : this_cpu;
    for (let i = cand.next(pass === 0 ? this_cpu + 1 : 0); i >= 0 && i < end; i = cand.next(i + 1)) {
      if (!sd.span.test_cpu(i) || !cpus.test_cpu(i)) continue;
      const avg = Math.floor((env.source_load(i, load_idx) * SCHED_LOAD_SCALE) / groups[sd.cpu_group[i]!]!.cpu_power);
      if (avg > max_load) {
        max_load = avg;
        busiest = i;
      }
    }
  }
  if (busiest < 0 || this_load >= max_load) return null;
  if (100 * max_load <= sd.imbalance_pct * this_load) return null;
  let total_load = this_group_load;
  const fair = env.index.fair;
  for (let i = fair.next(0); i >= 0; i = fair.next(i + 1)) {
    if (i !== this_cpu && sd.span.test_cpu(i) && cpus.test_cpu(i)) total_load += env.source_load(i, load_idx);
  }
  return busiest_result(env, sd, this_cpu, here, busiest, this_load, max_load, total_load);
}

/**
 * find_busiest_cpu_group() when every group is one CPU of power
 * SCHED_LOAD_SCALE (avg_load is the load): from the FairLoadIndex. The
 * busiest is the CPU of the largest source_load among the possible ones,
 * the first in the walk's order among equals: the unsettled ones are
 * read one by one, the settled ones through the largest load that has
 * one. The domain's load is the indexed sum less what unsettled CPUs'
 * source_load falls short of their load.
 */
function find_busiest_indexed(env: LbEnv, sd: SchedDomain, this_cpu: number, idle: Idle, cpus: CpuMask): SchedGroup | null {
  const x = env.index;
  const load_idx = get_sd_load_idx(sd, idle);
  const here = cpus.test_cpu(this_cpu);
  const this_load = here ? env.target_load(this_cpu, load_idx) : 0;
  // At index 0 source_load is weighted_cpuload: no CPU is unsettled.
  const unsettled = load_idx === 0 ? NO_CPUS : x.unsettled;
  const unsettled_list = load_idx === 0 ? NO_CPU_LIST : x.unsettled_list;
  if (load_idx !== 0) env.refresh_unsettled();
  let busiest = -1;
  let max_load = 0;
  let pos = NR_CPUS;
  let shortfall = 0;
  for (let k = 0; k < unsettled_list.length; k++) {
    const i = unsettled_list[k]!;
    if (i === this_cpu || !sd.span.test_cpu(i) || !cpus.test_cpu(i)) continue;
    const v = env.source_load(i, load_idx);
    shortfall += x.load[i]! - v;
    if (!x.overloaded.test_cpu(i)) continue;
    const p = walk_pos(i, this_cpu);
    if (v > max_load || (v === max_load && v > 0 && p < pos)) {
      max_load = v;
      busiest = i;
      pos = p;
    }
  }
  const loads_desc = x.loads_desc;
  for (let k = 0; k < loads_desc.length; k++) {
    const w = loads_desc[k]!;
    if (w < max_load) break;
    const b = x.buckets_desc[k]!;
    if (b.n === 0) continue;
    const m = b.cpus;
    const i = next_in_walk(m, x.overloaded, sd.span, cpus, unsettled, this_cpu);
    if (i < 0) continue;
    const p = walk_pos(i, this_cpu);
    if (w > max_load || p < pos) {
      max_load = w;
      busiest = i;
    }
    break;
  }
  if (busiest < 0 || this_load >= max_load) return null;
  if (100 * max_load <= sd.imbalance_pct * this_load) return null;
  const this_w = here ? x.load[this_cpu]! : 0;
  const total_load = this_load + x.load_in(sd.span, cpus) - this_w - shortfall;
  return busiest_result(env, sd, this_cpu, here, busiest, this_load, max_load, total_load);
}

/** find_busiest_group()'s last tests and calculate_imbalance(), once the one-CPU busiest group is known. */
function busiest_result(env: LbEnv, sd: SchedDomain, this_cpu: number, here: boolean, busiest: number, this_load: number, max_load: number, total_load: number): SchedGroup | null {
  const s = env.s;
  const groups = sd.groups;
  const sds = env.sds;
  const group = groups[sd.cpu_group[busiest]!]!;
  sds.busiest = group;
  sds.this = groups[sd.first_group]!;
  sds.total_load = total_load;
  sds.total_pwr = sd.total_power;
  sds.this_load = this_load;
  sds.this_nr_running = here ? s.nr_running(this_cpu) : 0;
  sds.this_load_per_task = here ? s.cfs_rqs[this_cpu]!.load_weight : 0;
  sds.max_load = max_load;
  sds.busiest_nr_running = s.nr_running(busiest);
  sds.busiest_group_capacity = div_round_closest(group.cpu_power, SCHED_LOAD_SCALE);
  sds.busiest_load_per_task = s.cfs_rqs[busiest]!.load_weight;
  sds.group_imb = false;
  sds.avg_load = Math.floor((SCHED_LOAD_SCALE * sds.total_load) / sds.total_pwr);
  if (sds.this_load >= sds.avg_load) return null;
  env.imbalance = calculate_imbalance(env, sds, this_cpu);
  return group;
}

/** find_busiest_queue(): the CPU of the group with the most weighted load per power. */
export function find_busiest_queue(env: LbEnv, group: SchedGroup, imbalance: number, cpus: CpuMask): number {
  const s = env.s;
  let busiest = -1;
  let max_load = 0;
  // A one-CPU group (every group of a domain of single CPUs) needs no walk of its mask.
  for (let i = group.first_cpu; i >= 0; i = group.nr_cpus === 1 ? -1 : group.cpus.next(i + 1)) {
    if (!cpus.test_cpu(i)) continue;
    const power = SCHED_LOAD_SCALE;
    const capacity = div_round_closest(power, SCHED_LOAD_SCALE);
    let wl = s.cfs_rqs[i]!.load_weight;
    if (capacity && s.nr_running(i) === 1 && wl > imbalance) continue;
    wl = Math.floor((wl * SCHED_LOAD_SCALE) / power);
    if (wl > max_load) {
      max_load = wl;
      busiest = i;
    }
  }
  return busiest;
}
