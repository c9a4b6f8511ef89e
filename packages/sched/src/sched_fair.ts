import { BUG, CpuMask, rt_policy, SimEvent, type CpuExec, type SelectTaskRqReason, type TaskStruct } from "@ksim/core";
import type { SchedClass, SchedCore } from "./sched_class.js";
import { SD_BALANCE_FORK, SD_BALANCE_NEWIDLE, SD_LOAD_BALANCE, SD_SHARE_PKG_RESOURCES, SD_WAKE_AFFINE, SD_LOAD_IDX_MAX, SCHED_LOAD_SCALE, type SchedDomain } from "./sched_domains.js";
import { FairLoadIndex, find_busiest_group, find_idlest_group_indexed, find_busiest_queue, get_sd_load_idx, LB_IDX_MAX, new_sd_lb_stats, new_sg_lb_stats, type LbEnv } from "./sched_fair_lb.js";

/**
 * The cpu_load[] entries kept: CPU_LOAD_IDX_MAX is 5 in 2.6.34, but no
 * domain reads past SD_LOAD_IDX_MAX, and an entry's update reads only its
 * own old value, so dropping the rest changes nothing that is read.
 */
const CPU_LOAD_IDX_USED = Math.max(1, SD_LOAD_IDX_MAX);
/** sysctl_sched_migration_cost: 0.5 ms. */
export const SCHED_MIGRATION_COST = 500_000;
/** sysctl_sched_nr_migrate */
const SCHED_NR_MIGRATE = 32;
/** MAX_PINNED_INTERVAL of load_balance(), ms. */
const MAX_PINNED_INTERVAL = 512;

/** move_tasks() pulled nothing because no task may run here. */
const ALL_PINNED = -1;
const MIGRATE_NOT_ALLOWED = 0;
const MIGRATE_NOT_NOW = 1;
const MIGRATE_OK = 2;

export type CpuIdleType = "CPU_IDLE" | "CPU_NOT_IDLE" | "CPU_NEWLY_IDLE";

/**
 * The fair class of kernel/sched_fair.c (2.6.34): the cfs_rq's pick and
 * preemption, select_task_rq_fair (wake-affine, fork balancing), and the
 * load balancer: cpu_load[], rebalance_domains from a busy CPU's tick, the
 * NO_HZ idle load balancer for idle CPUs, idle_balance, active balancing
 * through the busiest CPU's migration thread.
 */
export class FairSchedClass implements SchedClass {
  /**
   * rq->cpu_load[] of every CPU in one array, CPU_LOAD_IDX_USED entries a
   * CPU (cpu_load[cpu * CPU_LOAD_IDX_USED + i]): the balancer reads those of
   * many CPUs, and one block costs fewer loads and cache lines than an
   * array per CPU. Float64: exact for any integer load.
   */
  readonly cpu_load: Float64Array;
  /** The jiffy up to which cpu_load[] has been folded. */
  private readonly load_jiffy: number[] = [];
  /**
   * The earliest jiffy at which the CPU's cpu_load[] can have reached its
   * fair load (0: not known): the balancer's index need not fold it before.
   * Forgotten when the load changes.
   */
  private readonly settle_at: number[] = [];
  /** The CPU ticks (it runs a task): NO_HZ stops the tick of an idle CPU. */
  private readonly ticking: boolean[] = [];
  /** rq->next_balance (jiffies) */
  readonly next_balance: number[] = [];
  /** rq->avg_idle, rq->idle_stamp (idle_balance's gate). */
  private readonly avg_idle: number[] = [];
  private readonly idle_stamp: number[] = [];
  /** rq->active_balance, rq->push_cpu */
  readonly active_balance: boolean[] = [];
  readonly push_cpu: number[] = [];
  /** A busy CPU's tick that runs trigger_load_balance when next_balance is due. */
  private readonly balance_ev: SimEvent[] = [];
  /** The NO_HZ idle load balancer's tick: balances idle CPUs while work could be pulled. */
  private readonly ilb_ev: SimEvent;
  /** CPUs with more than one task, one of them fair: what an idle CPU could pull. */
  private nr_pullable_rqs = 0;
  private readonly pullable: boolean[] = [];
  /** The weighted load of each pullable CPU (-1: not pullable), and the pullable CPUs. */
  private readonly pullable_load: number[] = [];
  private readonly pullable_mask = new CpuMask();
  /** The largest load of a pullable CPU, recomputed after a change (-1: stale). */
  private max_pullable = 0;
  /** CPUs whose tick is stopped (idle under NO_HZ). */
  private readonly idle_cpus: CpuMask;
  readonly env: LbEnv;
  /** load_balance_tmpmask */
  private readonly lb_cpus = new CpuMask();
  private readonly balance = { ok: true };
  /** HZ, and rebalance_domains()' cap on an interval (HZ * nr_cpu_ids / 10), worked out once, not at each balance. */
  private readonly hz: number;
  private readonly max_load_balance_interval: number;

  constructor(private readonly s: SchedCore) {
    for (let c = 0; c < s.nr_cpu_ids; c++) {
      this.load_jiffy.push(0);
      this.settle_at.push(0);
      this.ticking.push(false);
      this.next_balance.push(0);
      this.avg_idle.push(2 * SCHED_MIGRATION_COST);
      this.idle_stamp.push(0);
      this.active_balance.push(false);
      this.push_cpu.push(0);
      this.pullable.push(false);
      this.pullable_load.push(-1);
      const cpu = c;
      this.balance_ev.push(new SimEvent(`sched_softirq/${c}`, () => this.run_rebalance_domains(cpu)));
    }
    this.hz = s.k.config.hz;
    this.max_load_balance_interval = Math.floor((this.hz * s.nr_cpu_ids) / 10);
    this.cpu_load = new Float64Array(s.nr_cpu_ids * CPU_LOAD_IDX_USED);
    this.ilb_ev = new SimEvent("nohz_ilb", () => this.run_ilb());
    this.idle_cpus = CpuMask.first_n(s.nr_cpu_ids);
    this.env = {
      s,
      source_load: (cpu, idx) => this.source_load(cpu, idx),
      target_load: (cpu, idx) => this.target_load(cpu, idx),
      cpu_avg_load_per_task: (cpu) => this.cpu_avg_load_per_task(cpu),
      sds: new_sd_lb_stats(),
      sgs: new_sg_lb_stats(),
      imbalance: 0,
      index: new FairLoadIndex(),
      refresh_unsettled: () => this.env.index.settle(this.settled, s.jiffies()),
      check_index: false,
    };
  }

  // ---- the class hooks -----------------------------------------------------

  enqueue_task(rq: CpuExec, p: TaskStruct, wakeup: boolean): void {
    const s = this.s;
    const cfs = s.cfs_rqs[rq.cpu]!;
    this.update_cpu_load(rq.cpu);
    // place_entity(): a sleeper gets at most half a latency of credit.
    if (wakeup) p.se.vruntime = Math.max(p.se.vruntime, cfs.min_vruntime - s.sched_latency / 2);
    else p.se.vruntime = Math.max(p.se.vruntime, cfs.min_vruntime);
    cfs.enqueue(p);
    // hrtick_update(): a fair curr's slice shrinks as tasks join its
    // cfs_rq; without a re-armed tick a busy curr would keep the CPU.
    if (rq.curr !== rq.idle && !rt_policy(rq.curr.policy)) s.hrtick_start(rq);
  }

  dequeue_task(rq: CpuExec, p: TaskStruct): void {
    this.update_cpu_load(rq.cpu);
    this.s.cfs_rqs[rq.cpu]!.dequeue(p);
  }

  /** yield_task_fair() without sched_compat_yield only reschedules. */
  yield_task(): void {}

  /** check_preempt_wakeup(): curr is fair. */
  check_preempt_curr(rq: CpuExec, p: TaskStruct): void {
    const s = this.s;
    if (rt_policy(p.policy)) return s.resched_curr(rq);
    s.update_curr(rq);
    const gran = (s.sched_wakeup_granularity * 1024) / p.se.weight;
    if (rq.curr.se.vruntime - p.se.vruntime > gran) s.resched_curr(rq);
  }

  pick_next_task(rq: CpuExec): TaskStruct | null {
    return this.s.cfs_rqs[rq.cpu]!.leftmost();
  }

  put_prev_task(rq: CpuExec, p: TaskStruct): void {
    this.s.cfs_rqs[rq.cpu]!.update_min_vruntime(p);
  }

  update_curr(): void {}
  task_tick(): void {}
  pre_schedule(): void {}
  post_schedule(): void {}

  /** ttwu's avg_idle sample: how long the CPU stayed idle before this wake-up. */
  task_woken(rq: CpuExec): void {
    const cpu = rq.cpu;
    if (this.idle_stamp[cpu]) {
      const delta = this.s.engine.now - this.idle_stamp[cpu];
      const max = 2 * SCHED_MIGRATION_COST;
      if (delta > max) this.avg_idle[cpu] = max;
      else this.avg_idle[cpu]! += Math.trunc((delta - this.avg_idle[cpu]!) / 8);
      this.idle_stamp[cpu] = 0;
    }
  }

  set_cpus_allowed(p: TaskStruct, mask: CpuMask): void {
    p.cpus_allowed = mask.clone();
    p.rt.nr_cpus_allowed = mask.weight();
  }

  /** rq_online_fair(): update_sysctl(). */
  rq_online(): void {
    this.s.update_sysctl();
  }

  /** rq_offline_fair(): update_sysctl(). */
  rq_offline(): void {
    this.s.update_sysctl();
  }

  // ---- cpu_load[] ------------------------------------------------------------

  /** weighted_cpuload(): the fair load of the rq. */
  weighted_cpuload(cpu: number): number {
    return this.s.cfs_rqs[cpu]!.load_weight;
  }

  /**
   * update_cpu_load() for every tick since the last fold, with the load in
   * force over them (the caller folds before any change). A CPU without a
   * tick (idle under NO_HZ) keeps its cpu_load[] as it was, as 2.6.34 does.
   */
  update_cpu_load(cpu: number): void {
    const j = this.s.jiffies();
    const n = j - this.load_jiffy[cpu]!;
    this.load_jiffy[cpu] = j;
    if (n <= 0 || !this.ticking[cpu]) return;
    const this_load = this.weighted_cpuload(cpu);
    const load = this.cpu_load;
    const base = cpu * CPU_LOAD_IDX_USED;
    load[base] = this_load;
    for (let i = 1, scale = 2; i < CPU_LOAD_IDX_USED; i++, scale += scale) {
      const old_load = load[base + i]!;
      if (old_load === this_load) continue;
      const gap = cpu_load_gap_after(Math.abs(old_load - this_load), scale, n);
      load[base + i] = old_load > this_load ? this_load + gap : this_load - gap;
    }
  }

  /**
   * Whether cpu_load[] of `cpu` has reached its load `w` at every index the
   * balancer's index reads (folding it first). When it has not, the ticks it
   * still needs at the least (each entry moves one tick at a time, and only
   * on a tick) say when to look again.
   */
  private readonly settled = (cpu: number, w: number): boolean => {
    const j = this.s.jiffies();
    if (j < this.settle_at[cpu]!) return false;
    this.update_cpu_load(cpu);
    const load = this.cpu_load;
    const base = cpu * CPU_LOAD_IDX_USED;
    let ticks = 0;
    for (let i = 0, scale = 1; i < LB_IDX_MAX; i++, scale += scale) {
      if (load[base + i]! < w) ticks = Math.max(ticks, cpu_load_ticks_to_reach(w - load[base + i]!, scale));
    }
    if (ticks === 0) return true;
    this.settle_at[cpu] = j + ticks;
    return false;
  };

  /** source_load(): a low guess at a migration source's load (LB_BIAS). */
  source_load(cpu: number, type: number): number {
    const total = this.weighted_cpuload(cpu);
    if (type === 0) return total;
    this.update_cpu_load(cpu);
    return Math.min(this.cpu_load[cpu * CPU_LOAD_IDX_USED + type - 1]!, total);
  }

  /** target_load(): a high guess at a migration target's load. */
  target_load(cpu: number, type: number): number {
    const total = this.weighted_cpuload(cpu);
    if (type === 0) return total;
    this.update_cpu_load(cpu);
    return Math.max(this.cpu_load[cpu * CPU_LOAD_IDX_USED + type - 1]!, total);
  }

  cpu_avg_load_per_task(cpu: number): number {
    const nr = this.s.nr_running(cpu);
    return nr ? Math.floor(this.weighted_cpuload(cpu) / nr) : 0;
  }

  // ---- select_task_rq_fair ---------------------------------------------------

  /**
   * select_task_rq_fair(): a wake-up goes to an idle sibling of the waker's
   * package, or the waker's CPU, when wake_affine() allows (no domain has
   * SD_BALANCE_WAKE in 2.6.34, so otherwise it stays on its previous CPU);
   * a new task goes down the SD_BALANCE_FORK domains to the idlest CPU.
   */
  select_task_rq(p: TaskStruct, this_cpu: number, sd_flag: SelectTaskRqReason): number {
    const s = this.s;
    const prev_cpu = p.cpu;
    let cpu = this_cpu >= 0 ? this_cpu : prev_cpu;
    const flag = sd_flag === "wake" ? 0 : SD_BALANCE_FORK;
    let new_cpu = cpu;
    let want_affine = false;
    if (sd_flag === "wake") {
      if (this_cpu >= 0 && p.cpus_allowed.test_cpu(this_cpu)) want_affine = true;
      new_cpu = prev_cpu;
    }
    let affine_sd: SchedDomain | null = null;
    let sd: SchedDomain | null = null;
    for (let tmp = s.rq_sd[cpu] ?? null; tmp; tmp = tmp.parent) {
      if (!(tmp.flags & SD_LOAD_BALANCE)) continue;
      if (want_affine) {
        let target = tmp.span.test_cpu(prev_cpu) ? cpu : -1;
        if (tmp.flags & SD_SHARE_PKG_RESOURCES) target = this.select_idle_sibling(p, tmp, target, cpu);
        if (target >= 0) {
          if (tmp.flags & SD_WAKE_AFFINE) {
            affine_sd = tmp;
            want_affine = false;
          }
          cpu = target;
        }
      }
      if (!want_affine && flag === 0) break;
      if (!(tmp.flags & flag)) continue;
      sd = tmp;
    }
    if (affine_sd && this.wake_affine(affine_sd, p, this_cpu)) return cpu;
    return sd ? this.find_idlest(sd, p, cpu, flag) : new_cpu;
  }

  /** select_idle_sibling(): a CPU of the domain with no fair task, else `target`. */
  private select_idle_sibling(p: TaskStruct, sd: SchedDomain, target: number, cpu: number): number {
    const prev_cpu = p.cpu;
    if (target === cpu && this.s.cfs_rqs[prev_cpu]!.nr_running === 0) return prev_cpu;
    // The first CPU of the span the task may use whose cfs_rq is empty: not in the index's fair mask.
    const i = first_and_not(sd.span, p.cpus_allowed, this.env.index.fair);
    return i >= 0 ? i : target;
  }

  /** wake_affine() without WF_SYNC and without group scheduling. */
  private wake_affine(sd: SchedDomain, p: TaskStruct, this_cpu: number): boolean {
    const idx = sd.wake_idx;
    const prev_cpu = p.cpu;
    const load = this.source_load(prev_cpu, idx);
    const this_load = this.target_load(this_cpu, idx);
    const weight = p.se.weight;
    const imbalance = 100 + Math.floor((sd.imbalance_pct - 100) / 2);
    const balanced = !this_load || 100 * (this_load + weight) <= imbalance * load;
    const tl_per_task = this.cpu_avg_load_per_task(this_cpu);
    return balanced || (this_load <= load && this_load + this.target_load(prev_cpu, idx) <= tl_per_task);
  }

  /** The fork-balancing walk of select_task_rq_fair: find_idlest_group / find_idlest_cpu down the domains. */
  private find_idlest(start: SchedDomain, p: TaskStruct, cpu: number, flag: number): number {
    let new_cpu = cpu;
    let sd: SchedDomain | null = start;
    while (sd) {
      if (!(sd.flags & flag)) {
        sd = sd.child;
        continue;
      }
      const group = this.find_idlest_group(sd, p, cpu, sd.forkexec_idx);
      if (!group) {
        sd = sd.child;
        continue;
      }
      new_cpu = this.find_idlest_cpu(group, p, cpu);
      if (new_cpu === -1 || new_cpu === cpu) {
        sd = sd.child;
        continue;
      }
      cpu = new_cpu;
      const weight = sd.span.weight();
      sd = null;
      for (let tmp = this.s.rq_sd[cpu] ?? null; tmp; tmp = tmp.parent) {
        if (weight <= tmp.span.weight()) break;
        if (tmp.flags & flag) sd = tmp;
      }
    }
    return new_cpu;
  }

  /**
   * find_idlest_group(): a domain of one-CPU groups of whole power at
   * index 0 is answered from the balancer's index (with the debug check,
   * the walk must agree), any other by the walk over every group.
   */
  private find_idlest_group(sd: SchedDomain, p: TaskStruct, this_cpu: number, load_idx: number): CpuMask | null {
    if (!(sd.single_cpu_groups && sd.unit_power && load_idx === 0)) return this.find_idlest_group_walk(sd, p, this_cpu, load_idx);
    const group = find_idlest_group_indexed(this.env, sd, p.cpus_allowed, this_cpu);
    if (this.env.check_index) {
      const walked = this.find_idlest_group_walk(sd, p, this_cpu, load_idx);
      if (walked !== group) BUG(`find_idlest_group(${p.name}, CPU ${this_cpu}): the index found ${group?.toString() ?? "none"}, the walk ${walked?.toString() ?? "none"}`);
    }
    return group;
  }

  private find_idlest_group_walk(sd: SchedDomain, p: TaskStruct, this_cpu: number, load_idx: number): CpuMask | null {
    let idlest: CpuMask | null = null;
    let min_load = Number.POSITIVE_INFINITY;
    let this_load = 0;
    const imbalance = 100 + Math.floor((sd.imbalance_pct - 100) / 2);
    const groups = sd.groups;
    for (let k = 0; k < groups.length; k++) {
      const group = groups[(sd.first_group + k) % groups.length]!;
      if (!group.cpus.intersects(p.cpus_allowed)) continue;
      const local = group.cpus.test_cpu(this_cpu);
      let avg_load = 0;
      for (let i = group.cpus.first(); i >= 0; i = group.cpus.next(i + 1)) {
        avg_load += local ? this.source_load(i, load_idx) : this.target_load(i, load_idx);
      }
      avg_load = Math.floor((avg_load * SCHED_LOAD_SCALE) / group.cpu_power);
      if (local) this_load = avg_load;
      else if (avg_load < min_load) {
        min_load = avg_load;
        idlest = group.cpus;
      }
    }
    if (!idlest || 100 * this_load < imbalance * min_load) return null;
    return idlest;
  }

  private find_idlest_cpu(group: CpuMask, p: TaskStruct, this_cpu: number): number {
    let min_load = Number.POSITIVE_INFINITY;
    let idlest = -1;
    // for_each_cpu_and(i, sched_group_cpus(group), &p->cpus_allowed)
    for (let i = group.next_and(p.cpus_allowed); i >= 0; i = group.next_and(p.cpus_allowed, i + 1)) {
      const load = this.weighted_cpuload(i);
      if (load < min_load || (load === min_load && i === this_cpu)) {
        min_load = load;
        idlest = i;
      }
    }
    return idlest;
  }

  // ---- when balancing runs ------------------------------------------------------

  /**
   * The CPU starts or stops running tasks: NO_HZ starts or stops its tick,
   * and with it cpu_load[] updates and its periodic balance.
   */
  curr_changed(rq: CpuExec): void {
    const busy = rq.curr !== rq.idle;
    // Apart, so that the usual case (no change) inlines into set_curr_task small.
    if (busy !== this.ticking[rq.cpu]) this.tick_changed(rq.cpu, busy);
  }

  private tick_changed(cpu: number, busy: boolean): void {
    this.update_cpu_load(cpu);
    this.ticking[cpu] = busy;
    if (busy) this.idle_cpus.clear_cpu(cpu);
    else this.idle_cpus.set_cpu(cpu);
    const ev = this.balance_ev[cpu]!;
    if (busy) this.arm_balance(cpu);
    else if (ev.queued) this.s.engine.cancel(ev);
  }

  /** The first tick at or after rq->next_balance, as trigger_load_balance sees it. */
  private arm_balance(cpu: number): void {
    const s = this.s;
    const at = Math.max(this.next_balance[cpu]!, s.jiffies() + 1) * s.tick_ns;
    const ev = this.balance_ev[cpu]!;
    if (ev.queued && ev.time === at) return;
    ev.time = at;
    s.engine.enqueue(ev);
  }

  /** After an enqueue or dequeue: whether this CPU now has something an idle CPU could pull. */
  nr_running_changed(cpu: number): void {
    const w = this.weighted_cpuload(cpu);
    if (w !== this.env.index.load[cpu]) this.settle_at[cpu] = 0;
    this.env.index.update(cpu, w, this.s.nr_running(cpu));
    const pullable = this.s.nr_running(cpu) >= 2 && this.s.cfs_rqs[cpu]!.nr_running >= 1 && this.s.rq_online[cpu]!;
    const load = pullable ? w : -1;
    if (load !== this.pullable_load[cpu]) {
      this.pullable_load[cpu] = load;
      this.max_pullable = -1;
    }
    if (pullable !== this.pullable[cpu]) this.pullable_changed(cpu, pullable);
  }

  /** nr_running_changed() when the CPU starts or stops having something to pull; apart, so that the usual case inlines small. */
  private pullable_changed(cpu: number, pullable: boolean): void {
    this.pullable[cpu] = pullable;
    if (pullable) this.pullable_mask.set_cpu(cpu);
    else this.pullable_mask.clear_cpu(cpu);
    this.nr_pullable_rqs += pullable ? 1 : -1;
    if (pullable && !this.ilb_ev.queued) this.arm_ilb();
  }

  /**
   * The highest weighted load of a CPU an idle or busy CPU could pull from
   * (0: none): the largest load of the index with a pullable CPU. The index
   * holds each CPU's weighted_cpuload as of its last enqueue or dequeue, as
   * pullable_load does.
   */
  private max_pullable_load(): number {
    if (this.max_pullable < 0) this.max_pullable = this.env.index.max_load_in(this.pullable_mask);
    return this.max_pullable;
  }

  /** run_rebalance_domains() on a busy CPU's tick (SCHED_SOFTIRQ, in interrupt context there). */
  private run_rebalance_domains(cpu: number): void {
    const rq = this.s.rqs[cpu]!;
    if (rq.curr === rq.idle || !this.s.rq_sd[cpu]) return;
    const ctx = this.s.engine.ctx;
    const saved_cpu = ctx.cpu;
    const saved_task = ctx.task;
    // SCHED_SOFTIRQ on `cpu`. It charges no time: the model's accounting is
    // exact at every scheduling point, so the balance changes nothing else.
    ctx.cpu = cpu;
    ctx.task = rq.curr;
    ctx.irq++;
    try {
      this.update_cpu_load(cpu);
      this.rebalance_domains(cpu, "CPU_NOT_IDLE");
    } finally {
      ctx.irq--;
      ctx.cpu = saved_cpu;
      ctx.task = saved_task;
    }
    this.arm_balance(cpu);
  }

  /**
   * The NO_HZ idle load balancer: one idle CPU keeps its tick and runs
   * rebalance_domains(CPU_IDLE) for every idle CPU. ksim runs that tick
   * only while some CPU holds more than one task with a fair one among them
   * (otherwise find_busiest_group finds nothing), so an idle machine costs nothing.
   */
  private run_ilb(): void {
    const s = this.s;
    if (this.nr_pullable_rqs === 0) return;
    const online = s.cpu_online_mask();
    const idle = this.idle_cpus;
    // The owner: the first idle CPU; its softirq balances the others too.
    let owner = -1;
    for (let cpu = idle.first(); cpu >= 0 && owner < 0; cpu = idle.next(cpu + 1)) {
      if (online.test_cpu(cpu) && s.rq_sd[cpu]) owner = cpu;
    }
    if (owner < 0) return;
    const ctx = s.engine.ctx;
    const saved_cpu = ctx.cpu;
    const saved_task = ctx.task;
    ctx.cpu = owner;
    ctx.task = s.rqs[owner]!.curr;
    ctx.irq++;
    try {
      for (let cpu = owner; cpu >= 0; cpu = idle.next(cpu + 1)) {
        if (!online.test_cpu(cpu) || !s.rq_sd[cpu] || this.next_balance[cpu]! > s.jiffies()) continue;
        this.rebalance_domains(cpu, "CPU_IDLE");
        if (this.nr_pullable_rqs === 0) break;
      }
    } finally {
      ctx.irq--;
      ctx.cpu = saved_cpu;
      ctx.task = saved_task;
    }
    if (this.nr_pullable_rqs > 0) this.arm_ilb();
  }

  private arm_ilb(): void {
    const s = this.s;
    const online = s.cpu_online_mask();
    const idle = this.idle_cpus;
    let next = Number.POSITIVE_INFINITY;
    for (let cpu = idle.first(); cpu >= 0; cpu = idle.next(cpu + 1)) {
      if (online.test_cpu(cpu) && s.rq_sd[cpu]) next = Math.min(next, this.next_balance[cpu]!);
    }
    if (next === Number.POSITIVE_INFINITY) next = s.jiffies() + 1;
    // Engine.enqueue(): a time passed as an argument is boxed where the call is not inlined.
    const ev = this.ilb_ev;
    ev.time = Math.max(next, s.jiffies() + 1) * s.tick_ns;
    s.engine.enqueue(ev);
  }

  /**
   * rebalance_domains(): each domain whose interval (balance_interval ms,
   * times busy_factor on a busy CPU) has passed is balanced; next_balance
   * becomes the earliest next due time.
   */
  rebalance_domains(cpu: number, idle: CpuIdleType): void {
    const s = this.s;
    const hz = this.hz;
    const j = s.jiffies();
    let next_balance = j + 60 * hz;
    let update_next_balance = false;
    const balance = this.balance;
    balance.ok = true;
    for (let sd = s.rq_sd[cpu] ?? null; sd; sd = sd.parent) {
      if (!(sd.flags & SD_LOAD_BALANCE)) continue;
      let interval = sd.balance_interval;
      if (idle !== "CPU_IDLE") interval *= sd.busy_factor;
      interval = msecs_to_jiffies(interval, hz);
      if (interval === 0) interval = 1;
      const cap = this.max_load_balance_interval;
      if (interval > cap) interval = cap;
      if (j >= sd.last_balance + interval) {
        if (this.load_balance(cpu, sd, idle, balance)) idle = "CPU_NOT_IDLE";
        sd.last_balance = j;
      }
      if (next_balance > sd.last_balance + interval) {
        next_balance = sd.last_balance + interval;
        update_next_balance = true;
      }
      if (!balance.ok) break;
    }
    if (update_next_balance) this.next_balance[cpu] = next_balance;
  }

  /**
   * idle_balance(): schedule() is about to run the idle task; pull from the
   * busiest CPU of each SD_BALANCE_NEWIDLE domain until something came.
   */
  idle_balance(cpu: number): void {
    const s = this.s;
    const hz = this.hz;
    let next_balance = s.jiffies() + hz;
    this.idle_stamp[cpu] = s.engine.now || 1;
    if (this.avg_idle[cpu]! < SCHED_MIGRATION_COST) return;
    let pulled = false;
    for (let sd = s.rq_sd[cpu] ?? null; sd; sd = sd.parent) {
      if (!(sd.flags & SD_LOAD_BALANCE)) continue;
      if (sd.flags & SD_BALANCE_NEWIDLE) {
        this.balance.ok = true;
        pulled = this.load_balance(cpu, sd, "CPU_NEWLY_IDLE", this.balance);
      }
      const interval = msecs_to_jiffies(sd.balance_interval, hz);
      if (next_balance > sd.last_balance + interval) next_balance = sd.last_balance + interval;
      if (pulled) {
        this.idle_stamp[cpu] = 0;
        break;
      }
    }
    if (pulled || s.jiffies() > this.next_balance[cpu]!) this.next_balance[cpu] = next_balance;
  }

  /**
   * load_balance(): find the busiest group and queue of the domain, pull up
   * to the imbalance from it; after repeated failures, have the busiest
   * CPU's migration thread push its running task here.
   */
  private load_balance(this_cpu: number, sd: SchedDomain, idle: CpuIdleType, balance: { ok: boolean }): boolean {
    const s = this.s;
    // find_busiest_group's "this_load >= max_load": with one CPU per group no
    // group is busier than the most loaded pullable CPU (source_load never
    // exceeds weighted_cpuload), so the answer is known without the walk.
    if (sd.single_cpu_groups && this.target_load(this_cpu, get_sd_load_idx(sd, idle)) >= this.max_pullable_load()) {
      return this.out_balanced(sd, false, true);
    }
    const cpus = this.lb_cpus.copy(s.cpu_active_mask());
    let all_pinned = false;
    let active_balance = false;
    let ld_moved = false;
    for (;;) {
      const group = find_busiest_group(this.env, sd, this_cpu, idle, cpus, balance);
      if (!balance.ok || !group) break;
      const imbalance = this.env.imbalance;
      const busiest = find_busiest_queue(this.env, group, imbalance, cpus);
      if (busiest < 0) break;
      all_pinned = false;
      if (s.nr_running(busiest) > 1) {
        const pulled = this.move_tasks(this_cpu, busiest, imbalance, sd, idle);
        ld_moved = pulled > 0;
        all_pinned = pulled === ALL_PINNED;
        if (all_pinned) {
          cpus.clear_cpu(busiest);
          if (!cpus.is_empty()) continue;
          break;
        }
      }
      if (!ld_moved) {
        sd.nr_balance_failed++;
        if (need_active_balance(sd, idle)) {
          if (!s.rqs[busiest]!.curr.cpus_allowed.test_cpu(this_cpu)) {
            all_pinned = true;
            return this.out_balanced(sd, all_pinned, false);
          }
          if (!this.active_balance[busiest]) {
            this.active_balance[busiest] = true;
            this.push_cpu[busiest] = this_cpu;
            active_balance = true;
          }
          if (active_balance) this.kick_active_balance(busiest);
          sd.nr_balance_failed = sd.cache_nice_tries + 1;
        }
      } else {
        sd.nr_balance_failed = 0;
      }
      if (!active_balance) sd.balance_interval = sd.min_interval;
      else if (sd.balance_interval < sd.max_interval) sd.balance_interval *= 2;
      return ld_moved;
    }
    return this.out_balanced(sd, all_pinned, true);
  }

  /** load_balance()'s out_balanced / out_one_pinned: back off. */
  private out_balanced(sd: SchedDomain, all_pinned: boolean, balanced: boolean): boolean {
    if (balanced) sd.nr_balance_failed = 0;
    if ((all_pinned && sd.balance_interval < MAX_PINNED_INTERVAL) || sd.balance_interval < sd.max_interval) {
      sd.balance_interval *= 2;
    }
    return false;
  }

  /** active_load_balance is the migration thread's job in 2.6.34: wake it. */
  protected kick_active_balance(busiest: number): void {
    const t = this.s.migration_thread[busiest];
    if (t) this.s.wake_up_process(t);
  }

  /**
   * move_tasks() / balance_tasks(): pull fair tasks of `busiest` that may
   * run here and are not cache-hot, while half a task's weight still fits
   * in what is left of the imbalance. Returns how many moved, or ALL_PINNED.
   */
  private move_tasks(this_cpu: number, busiest: number, max_load_move: number, sd: SchedDomain, idle: CpuIdleType): number {
    const s = this.s;
    let rem = max_load_move;
    let pulled = 0;
    let pinned = true;
    if (max_load_move === 0) return 0;
    // cfs_rq->tasks: list_add() puts the newest first; ksim's array is oldest first.
    const tasks = s.cfs_rqs[busiest]!.tasks;
    let loops = 0;
    for (let i = tasks.length - 1; i >= 0; i--) {
      const p = tasks[i]!;
      if (loops++ > SCHED_NR_MIGRATE) break;
      if (p.se.weight >> 1 > rem) continue;
      const can = this.can_migrate_task(p, busiest, this_cpu, sd);
      if (can !== MIGRATE_NOT_ALLOWED) pinned = false;
      if (can !== MIGRATE_OK) continue;
      s.move_task(p, this_cpu);
      s.check_preempt(s.rqs[this_cpu]!, p);
      pulled++;
      rem -= p.se.weight;
      // CONFIG_PREEMPT: a newly idle CPU stops after the first task.
      if (idle === "CPU_NEWLY_IDLE") break;
      if (rem <= 0) break;
    }
    return pulled > 0 ? pulled : pinned ? ALL_PINNED : 0;
  }

  /**
   * can_migrate_task(): allowed here (else it counts as pinned), not
   * running, and cold or given up on.
   */
  private can_migrate_task(p: TaskStruct, src: number, this_cpu: number, sd: SchedDomain): number {
    if (!p.cpus_allowed.test_cpu(this_cpu)) return MIGRATE_NOT_ALLOWED;
    if (this.s.rqs[src]!.curr === p) return MIGRATE_NOT_NOW;
    const hot = this.task_hot(p);
    return !hot || sd.nr_balance_failed > sd.cache_nice_tries ? MIGRATE_OK : MIGRATE_NOT_NOW;
  }

  /** task_hot(): ran within sysctl_sched_migration_cost. */
  private task_hot(p: TaskStruct): boolean {
    return this.s.engine.now - p.se.exec_start < SCHED_MIGRATION_COST;
  }

  /**
   * active_load_balance(): run by the busiest CPU's migration thread: move
   * one fair task (the one it preempted, say) to push_cpu.
   */
  active_load_balance(busiest: number): void {
    const s = this.s;
    const target = this.push_cpu[busiest]!;
    this.active_balance[busiest] = false;
    if (s.nr_running(busiest) <= 1 || !s.rq_online[target]) return;
    let sd: SchedDomain | null = s.rq_sd[target] ?? null;
    for (; sd; sd = sd.parent) if (sd.flags & SD_LOAD_BALANCE && sd.span.test_cpu(busiest)) break;
    if (!sd) return;
    const tasks = s.cfs_rqs[busiest]!.tasks;
    for (let i = tasks.length - 1; i >= 0; i--) {
      const p = tasks[i]!;
      if (this.can_migrate_task(p, busiest, target, sd) === MIGRATE_OK) {
        s.move_task(p, target);
        s.check_preempt(s.rqs[target]!, p);
        return;
      }
    }
  }
}

/** need_active_balance() without power savings. */
function need_active_balance(sd: SchedDomain, idle: CpuIdleType): boolean {
  if (idle === "CPU_NEWLY_IDLE") return false;
  return sd.nr_balance_failed > sd.cache_nice_tries + 2;
}

/** The first CPU of a ∩ b not in c, or -1. */
function first_and_not(a: CpuMask, b: CpuMask, c: CpuMask): number {
  const n = a.bits.length;
  for (let w = 0; w < n; w++) {
    const bits = a.bits[w]! & b.bits[w]! & ~c.bits[w]!;
    if (bits !== 0) return w * 32 + 31 - Math.clz32(bits & -bits);
  }
  return -1;
}

/**
 * The distance of cpu_load[i] from the load after `ticks` ticks of
 * update_cpu_load()'s `old = (old * (scale - 1) + new) / scale` (with the
 * round-up of a rising load). On integers both directions shrink the
 * distance alike, gap - ceil(gap / scale) per tick, so the fold works on
 * the gap alone and, once the gap is below scale, drops it by one a tick.
 */
function cpu_load_gap_after(gap: number, scale: number, ticks: number): number {
  let k = ticks;
  // At scale 2 a tick halves the gap (gap - ceil(gap / 2) = floor(gap / 2)):
  // the halvings to below 2 are floor(log2(gap)), done in one shift.
  if (scale === 2 && gap >= 2 && gap <= 0x7fffffff) {
    const halvings = 31 - Math.clz32(gap);
    const steps = Math.min(k, halvings);
    gap >>>= steps;
    k -= steps;
  }
  while (k > 0 && gap >= scale) {
    gap -= Math.ceil(gap / scale);
    k--;
  }
  return gap > k ? gap - k : 0;
}

/** How many ticks cpu_load_gap_after() takes to close `gap` (> 0) at `scale`. */
function cpu_load_ticks_to_reach(gap: number, scale: number): number {
  let ticks = 0;
  // At scale 2, floor(log2(gap)) halvings as in cpu_load_gap_after().
  if (scale === 2 && gap >= 2 && gap <= 0x7fffffff) {
    ticks = 31 - Math.clz32(gap);
    gap >>>= ticks;
  }
  while (gap >= scale) {
    gap -= Math.ceil(gap / scale);
    ticks++;
  }
  return ticks + gap;
}

/** msecs_to_jiffies(), rounding up. */
function msecs_to_jiffies(ms: number, hz: number): number {
  return Math.ceil((ms * hz) / 1000);
}
