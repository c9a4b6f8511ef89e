import {
  BUG,
  BUG_ON,
  CpuMask,
  HRTIMER_NORESTART,
  HRTIMER_RESTART,
  HrTimer,
  NSEC_PER_MSEC,
  NSEC_PER_USEC,
  PF_KTHREAD,
  ProcessExecutor,
  rt_policy,
  type CpuExec,
  type HrtimerRestart,
  type Kernel,
  type RtRqStats,
  type SchedPolicy,
  type SelectTaskRqReason,
  type TaskStruct,
} from "@ksim/core";
import { sched_explainer } from "./explain.js";
import { CfsRq, RtRq, RUNTIME_INF } from "./rq.js";
import type { SchedClass, SchedCore } from "./sched_class.js";
import {
  build_sched_domains,
  check_topology,
  default_topology,
  RootDomain,
  type SchedDomain,
  type Topology,
} from "./sched_domains.js";
import { FairSchedClass } from "./sched_fair.js";
import { RtSchedClass } from "./sched_rt.js";
import { NICE_0_LOAD, nice_to_weight } from "./weights.js";

export type MigrationThreadStop = "CPU_DEAD" | "CPU_POST_DEAD";

export interface SchedParams {
  nr_cpus: number;
  /** -1 disables RT throttling (default 950000). */
  sched_rt_runtime_us?: number;
  /** Default 1000000. */
  sched_rt_period_us?: number;
  /** rt_rqs borrow runtime from each other (always so in 2.6.34). */
  rt_runtime_share?: boolean;
  /** Where migration_call stops the dead CPU's migration thread (CPU_DEAD as released). */
  migration_thread_stop?: MigrationThreadStop;
  /** Registration priority of migration_call on the CPU chain (default 10). */
  migration_call_priority?: number;
  /** Registration priority of update_runtime (default 0). */
  update_runtime_priority?: number;
  /** The sched domains' shape (default: one package of nr_cpus cores). */
  topology?: Topology;
}

/** normalized_sysctl_sched_latency, _min_granularity, _wakeup_granularity (sched_fair.c): 5, 1 and 1 ms. */
const NORMALIZED_SCHED_LATENCY = 5 * NSEC_PER_MSEC;
const NORMALIZED_SCHED_MIN_GRANULARITY = 1 * NSEC_PER_MSEC;
const NORMALIZED_SCHED_WAKEUP_GRANULARITY = 1 * NSEC_PER_MSEC;

/**
 * rt_runtime as the trace shows it: RUNTIME_INF (an offline rq's, or with
 * throttling off) as -1, the sysctl's way of saying "no limit", where a
 * JS Infinity would print as "Infinity" in ftrace text and null in JSON.
 */
function trace_rt_runtime(rt_runtime: number): number {
  return rt_runtime === RUNTIME_INF ? -1 : rt_runtime;
}

/** hrtimer_wakeup(): the sleeping task (the hrtimer_sleeper's, the timer's data) wakes. */
function hrtimer_wakeup(timer: HrTimer): HrtimerRestart {
  const p = timer.data as TaskStruct;
  p.waker.wake_up_process(p);
  return HRTIMER_NORESTART;
}

/** DEF_TIMESLICE of SCHED_RR: 100 ms. */
export const RR_TIMESLICE = 100 * NSEC_PER_MSEC;


/**
 * kernel/sched.c, sched_rt.c and (as far as sharing a CPU needs)
 * sched_fair.c of 2.6.34, on top of core's process-context executor.
 */
export class Scheduler extends ProcessExecutor implements SchedCore {
  readonly params: Required<SchedParams>;
  readonly tick_ns: number;
  /** def_rt_bandwidth */
  readonly rt_period: number;
  readonly rt_runtime: number;
  readonly rt_period_timer = new HrTimer("sched_rt_period_timer");
  readonly rt_rqs: RtRq[] = [];
  readonly cfs_rqs: CfsRq[] = [];
  /** rq->online: set_rq_online / set_rq_offline. */
  readonly rq_online: boolean[] = [];
  /** rq->migration_thread */
  readonly migration_thread: (TaskStruct | null)[] = [];
  /** def_root_domain: where sched_init attaches every rq, and where a CPU outside every domain stays. */
  readonly def_root_domain: RootDomain;
  /** rq->rd */
  readonly rq_rd: RootDomain[] = [];
  /** rq->sd */
  readonly rq_sd: (SchedDomain | null)[] = [];
  /** doms_cur: the one partition ksim builds (no cpusets below the top one), or null before sched_init_smp. */
  doms_cur: CpuMask | null = null;
  /** The classes, highest first: rt_sched_class, fair_sched_class. */
  readonly rt_class: RtSchedClass;
  readonly fair_class: FairSchedClass;

  // CFS tunables of 2.6.34 (sysctl_sched_*): the normalized values until
  // update_sysctl() scales them by 1 + ilog2(min(online CPUs, 8)).
  sched_latency = NORMALIZED_SCHED_LATENCY;
  sched_min_granularity = NORMALIZED_SCHED_MIN_GRANULARITY;
  sched_wakeup_granularity = NORMALIZED_SCHED_WAKEUP_GRANULARITY;
  private readonly sched_nr_latency = 5;

  /** printk_ratelimit_state: jiffies the window began (null: none yet), messages printed and suppressed in it. */
  private readonly printk_ratelimit_state: { begin: number | null; printed: number; missed: number } = {
    begin: null,
    printed: 0,
    missed: 0,
  };

  /** Set while reading another CPU's accounting: charge time, no throttle decisions. */
  private remote = false;

  constructor(
    readonly k: Kernel,
    params: SchedParams,
  ) {
    super(k.engine, k.trace, params.nr_cpus);
    this.params = {
      nr_cpus: params.nr_cpus,
      sched_rt_runtime_us: params.sched_rt_runtime_us ?? 950_000,
      sched_rt_period_us: params.sched_rt_period_us ?? 1_000_000,
      rt_runtime_share: params.rt_runtime_share ?? true,
      migration_thread_stop: params.migration_thread_stop ?? "CPU_DEAD",
      migration_call_priority: params.migration_call_priority ?? 10,
      update_runtime_priority: params.update_runtime_priority ?? 0,
      topology: params.topology ?? default_topology(params.nr_cpus),
    };
    check_topology(this.params.topology, params.nr_cpus);
    const p = this.params;
    if (p.sched_rt_runtime_us !== -1 && !(p.sched_rt_runtime_us >= 0 && p.sched_rt_runtime_us <= p.sched_rt_period_us)) {
      BUG(`sched_rt_runtime_us ${p.sched_rt_runtime_us} must be -1 or within 0..sched_rt_period_us`);
    }
    this.tick_ns = Math.round(1e9 / k.config.hz);
    this.rt_period = p.sched_rt_period_us * NSEC_PER_USEC;
    this.rt_runtime = p.sched_rt_runtime_us < 0 ? RUNTIME_INF : p.sched_rt_runtime_us * NSEC_PER_USEC;
    this.def_root_domain = new RootDomain(p.nr_cpus);
    for (let cpu = 0; cpu < p.nr_cpus; cpu++) {
      this.rt_rqs.push(new RtRq(this.rt_runtime));
      this.cfs_rqs.push(new CfsRq());
      this.rq_online.push(false);
      this.migration_thread.push(null);
      // sched_init(): rq_attach_root(rq, &def_root_domain) for every possible CPU.
      this.rq_rd.push(this.def_root_domain);
      this.def_root_domain.span.set_cpu(cpu);
      this.rq_sd.push(null);
    }
    this.rt_class = new RtSchedClass(this);
    this.fair_class = new FairSchedClass(this);
  }

  /**
   * update_sysctl(): sched_init_smp()'s sched_init_granularity() and every
   * rq_online_fair / rq_offline_fair call it, with the online CPU count of
   * that moment (SCHED_TUNABLESCALING_LOG, the default). sched_nr_latency
   * stays 5: only the sysctl handler recomputes it.
   */
  update_sysctl(): void {
    const cpus = Math.min(this.k.hotplug.num_online_cpus(), 8);
    const factor = 1 + Math.floor(Math.log2(cpus));
    this.sched_latency = factor * NORMALIZED_SCHED_LATENCY;
    this.sched_min_granularity = factor * NORMALIZED_SCHED_MIN_GRANULARITY;
    this.sched_wakeup_granularity = factor * NORMALIZED_SCHED_WAKEUP_GRANULARITY;
  }

  /** rt_bandwidth_enabled(): sysctl_sched_rt_runtime >= 0. */
  get rt_bandwidth_enabled(): boolean {
    return this.params.sched_rt_runtime_us >= 0;
  }

  /** sched_init(): the period timer, and this subsystem's wait-for explanations. */
  init(): void {
    this.sched_init();
    this.k.waitfor.add_explainer(sched_explainer(this));
  }

  /** init_rt_bandwidth(): the period timer's callback. Call once the hrtimer service exists. */
  sched_init(): void {
    const t = this.rt_period_timer;
    this.k.hrtimer.hrtimer_init(t, "CLOCK_MONOTONIC", "REL");
    // container_of(timer, struct rt_bandwidth, rt_period_timer): the timer's
    // data, and one callback for every machine. A closure stored in the field
    // would be allocated in V8's old generation and keep this young machine
    // alive through every scavenge.
    t.data = this;
    t.function = Scheduler.sched_rt_period_timer;
  }

  override rt_rq_stats(cpu: number): RtRqStats {
    const r = this.rt_rqs[cpu]!;
    this.sync_remote(cpu);
    return { rt_time: r.rt_time, rt_runtime: r.rt_runtime, rt_throttled: r.rt_throttled, rt_nr_running: r.rt_nr_running };
  }

  // ---- policy hooks --------------------------------------------------------

  protected cpu_online(cpu: number): boolean {
    return this.cpu_online_mask().test_cpu(cpu);
  }

  protected override cpu_active(cpu: number): boolean {
    return this.cpu_active_mask().test_cpu(cpu);
  }

  protected override task_created(p: TaskStruct): void {
    p.se.weight = nice_to_weight(p.static_prio - 120);
    if (rt_policy(p.policy)) p.rt.time_slice = RR_TIMESLICE;
  }

  protected override policy_changed(p: TaskStruct): void {
    this.task_created(p);
  }

  /**
   * check_class_changed() of 2.6.34: switched_from / switched_to when the
   * class changed, else prio_changed. A running task is rescheduled only
   * where those say so: a fair one whose priority got worse or that came
   * from RT, an RT one now below a queued RT task.
   */
  protected override check_class_changed(rq: CpuExec, p: TaskStruct, prev_policy: SchedPolicy, oldprio: number, running: boolean): void {
    const was_rt = rt_policy(prev_policy);
    const is_rt = rt_policy(p.policy);
    if (was_rt !== is_rt) {
      // switched_from_rt(): the last RT task gone, other CPUs' may be pulled.
      if (was_rt && this.rt_rqs[rq.cpu]!.rt_nr_running === 0) this.rt_class.pull_rt_task(rq.cpu);
      if (is_rt) {
        // switched_to_rt(): nothing to do for a running task.
        if (running) return;
        if (this.rt_rqs[rq.cpu]!.overloaded && this.rt_class.push_rt_task(rq.cpu) && p.cpu !== rq.cpu) return;
        if (p.prio < rq.curr.prio) this.resched_curr(rq);
      } else if (running) {
        // switched_to_fair()
        this.resched_curr(rq);
      } else {
        this.check_preempt_curr(rq, p);
      }
    } else if (is_rt) {
      // prio_changed_rt()
      if (running) {
        if (oldprio < p.prio) this.rt_class.pull_rt_task(rq.cpu);
        if (p.prio > this.rt_rqs[rq.cpu]!.highest_prio_curr && rq.curr === p) this.resched_curr(rq);
      } else if (p.prio < rq.curr.prio) {
        this.resched_curr(rq);
      }
    } else if (running) {
      // prio_changed_fair()
      if (p.prio > oldprio) this.resched_curr(rq);
    } else {
      this.check_preempt_curr(rq, p);
    }
  }

  /** p->sched_class */
  protected sched_class(p: TaskStruct): SchedClass {
    return rt_policy(p.policy) ? this.rt_class : this.fair_class;
  }

  protected enqueue_task(rq: CpuExec, p: TaskStruct, wakeup: boolean): void {
    this.sched_class(p).enqueue_task(rq, p, wakeup);
    this.fair_class.nr_running_changed(rq.cpu);
  }

  protected dequeue_task(rq: CpuExec, p: TaskStruct): void {
    this.sched_class(p).dequeue_task(rq, p);
    this.fair_class.nr_running_changed(rq.cpu);
  }

  /** pick_next_task(): each class in turn, highest first. */
  protected pick_next_task(rq: CpuExec): TaskStruct | null {
    if (!this.cpu_online_mask().test_cpu(rq.cpu)) return null;
    return this.rt_class.pick_next_task(rq) ?? this.fair_class.pick_next_task(rq);
  }

  protected put_prev_task(rq: CpuExec, p: TaskStruct): void {
    p.se.exec_start = this.engine.now;
    this.sched_class(p).put_prev_task(rq, p);
  }

  protected yield_task(rq: CpuExec, p: TaskStruct): void {
    this.sched_class(p).yield_task(rq, p);
  }

  /** check_preempt_curr(): curr's class decides; the idle class always yields. */
  protected check_preempt_curr(rq: CpuExec, p: TaskStruct): void {
    const curr = rq.curr;
    if (curr === rq.idle) return this.resched_curr(rq);
    this.sched_class(curr).check_preempt_curr(rq, p);
  }

  check_preempt(rq: CpuExec, p: TaskStruct): void {
    this.check_preempt_curr(rq, p);
  }

  /** schedule(): prev's class pre_schedule (RT pull), then idle_balance if nothing is left. */
  protected override pre_schedule(rq: CpuExec, prev: TaskStruct): void {
    const pull = prev !== rq.idle && rt_policy(prev.policy);
    const idle = this.rq_sd[rq.cpu] !== null && this.nr_running(rq.cpu) === 0;
    if (pull || idle) this.do_pre_schedule(rq, prev, pull);
  }

  /** pre_schedule()'s work, apart so that the usual case (nothing to do) inlines into schedule() small. */
  private do_pre_schedule(rq: CpuExec, prev: TaskStruct, pull: boolean): void {
    const ctx = this.engine.ctx;
    const saved_cpu = ctx.cpu;
    const saved_task = ctx.task;
    // schedule() runs on its CPU, in the context of prev.
    ctx.cpu = rq.cpu;
    ctx.task = prev;
    try {
      if (pull) this.rt_class.pre_schedule(rq, prev);
      if (this.nr_running(rq.cpu) === 0 && this.rq_sd[rq.cpu]) this.fair_class.idle_balance(rq.cpu);
    } finally {
      ctx.cpu = saved_cpu;
      ctx.task = saved_task;
    }
  }

  protected override post_schedule(rq: CpuExec): void {
    if (!this.rt_class.post_schedule_pending(rq.cpu)) return;
    const ctx = this.engine.ctx;
    const saved_cpu = ctx.cpu;
    const saved_task = ctx.task;
    ctx.cpu = rq.cpu;
    ctx.task = rq.curr;
    try {
      this.rt_class.post_schedule(rq);
    } finally {
      ctx.cpu = saved_cpu;
      ctx.task = saved_task;
    }
  }

  protected override task_woken(rq: CpuExec, p: TaskStruct): void {
    this.fair_class.task_woken(rq);
    if (rt_policy(p.policy)) this.rt_class.task_woken(rq, p);
  }

  protected override set_cpus_allowed(p: TaskStruct, mask: CpuMask): void {
    this.sched_class(p).set_cpus_allowed(p, mask);
  }

  /** deactivate_task, set_task_cpu, activate_task: how push, pull and the balancer move a queued task. */
  move_task(p: TaskStruct, dest_cpu: number): void {
    if (p.on_cpu) BUG(`move_task(${p.name}): it is running`);
    this.deactivate_task(this.rq(p.cpu), p, false);
    this.set_task_cpu(p, dest_cpu);
    this.activate_task(this.rq(dest_cpu), p, false);
  }

  jiffies(): number {
    // The balancer reads jiffies several times per CPU it looks at, all in
    // one instant: one division per instant, not per read.
    const now = this.engine.now;
    if (now !== this.jiffies_at) {
      this.jiffies_at = now;
      this.jiffies_val = Math.floor(now / this.tick_ns);
    }
    return this.jiffies_val;
  }

  /** jiffies() as of engine time jiffies_at. */
  private jiffies_at = -1;
  private jiffies_val = 0;

  /** The hotplug service, looked up once it exists (the kernel record resolves it at each use). */
  private hp: Kernel["hotplug"] | null = null;

  cpu_online_mask(): CpuMask {
    return (this.hp ??= this.k.hotplug).cpu_online_mask;
  }

  cpu_active_mask(): CpuMask {
    return (this.hp ??= this.k.hotplug).cpu_active_mask;
  }

  /** active_load_balance(): the migration thread's part of active balancing. */
  active_load_balance(cpu: number): void {
    if (this.fair_class.active_balance[cpu]) this.fair_class.active_load_balance(cpu);
  }

  /**
   * select_task_rq(): the class chooses; a CPU the task may not use or that
   * is offline sends it to select_fallback_rq(). Online, not necessarily
   * active: a bound kstop thread must still run on a CPU that cpu_down has
   * already made inactive.
   */
  protected select_task_rq(p: TaskStruct, this_cpu: number, sd_flag: SelectTaskRqReason = "wake"): number {
    const cpu = this.sched_class(p).select_task_rq(p, this_cpu, sd_flag);
    if (!p.cpus_allowed.test_cpu(cpu) || !this.cpu_online_mask().test_cpu(cpu)) return this.select_fallback_rq(p.cpu, p);
    return cpu;
  }

  /**
   * set_task_cpu(): a fair task's vruntime is relative to its cfs_rq, so it
   * carries over as the distance from min_vruntime (2.6.34 does the same).
   */
  override set_task_cpu(p: TaskStruct, cpu: number): void {
    const old = p.cpu;
    if (old !== cpu && !rt_policy(p.policy) && p.policy !== "IDLE") {
      p.se.vruntime += this.cfs_rqs[cpu]!.min_vruntime - this.cfs_rqs[old]!.min_vruntime;
    }
    super.set_task_cpu(p, cpu);
  }

  /** rq->nr_running */
  nr_running(cpu: number): number {
    return this.rt_rqs[cpu]!.rt_nr_running + this.cfs_rqs[cpu]!.nr_running;
  }

  /**
   * select_fallback_rq(): an allowed active CPU, else widen the affinity to
   * every CPU (cpuset_cpus_allowed_locked without cpusets) and take the
   * first active one.
   */
  select_fallback_rq(cpu: number, p: TaskStruct): number {
    const active = this.cpu_active_mask();
    const dest = p.cpus_allowed.first_and(active);
    if (dest >= 0) return dest;
    p.cpus_allowed = CpuMask.first_n(this.nr_cpu_ids);
    const any = p.cpus_allowed.first_and(active);
    if (any < 0) BUG(`select_fallback_rq(${p.name}): no active CPU`);
    // "Don't tell them about moving exiting tasks or kernel threads (both mm NULL)."
    if ((p.flags & PF_KTHREAD) === 0 && this.printk_ratelimit("select_fallback_rq")) {
      this.k.printk(`process ${p.pid} (${p.comm}) no longer affine to cpu${cpu}`);
    }
    return any;
  }

  /**
   * printk_ratelimit() (lib/ratelimit.c ___ratelimit over
   * printk_ratelimit_state: 10 messages per 5 * HZ jiffies); a window that
   * ends with messages suppressed says how many.
   */
  private printk_ratelimit(func: string): boolean {
    const rs = this.printk_ratelimit_state;
    const jiffies = Math.floor(this.engine.now / this.tick_ns);
    if (rs.begin === null) rs.begin = jiffies;
    if (rs.begin + 5 * this.k.config.hz < jiffies) {
      if (rs.missed) this.k.printk(`${func}: ${rs.missed} callbacks suppressed`);
      rs.begin = null;
      rs.printed = 0;
      rs.missed = 0;
    }
    if (rs.printed < 10) {
      rs.printed++;
      return true;
    }
    rs.missed++;
    return false;
  }

  protected override update_curr_class(rq: CpuExec, p: TaskStruct, delta: number): void {
    p.se.exec_start = this.engine.now;
    if (rt_policy(p.policy)) {
      this.update_curr_rt(rq, p, delta);
    } else {
      // calc_delta_fair(): a nice-0 task's vruntime advances by delta itself.
      const weight = p.se.weight;
      p.se.vruntime += weight === NICE_0_LOAD ? delta : (delta * NICE_0_LOAD) / weight;
      this.cfs_rqs[rq.cpu]!.update_min_vruntime(p);
    }
  }

  /** update_curr_rt(), apart so that update_curr() of a fair task, the hot case, inlines small. */
  private update_curr_rt(rq: CpuExec, p: TaskStruct, delta: number): void {
    if (p.policy === "RR") p.rt.time_slice -= delta;
    if (!this.rt_bandwidth_enabled) return;
    const rt_rq = this.rt_rqs[rq.cpu]!;
    if (rt_rq.rt_runtime === RUNTIME_INF) return;
    rt_rq.rt_time += delta;
    if (!this.remote && this.sched_rt_runtime_exceeded(rq.cpu)) this.resched_curr(rq);
  }

  /** Charge another CPU's running task up to now, without deciding anything for it. */
  private sync_remote(cpu: number): void {
    const rq = this.rqs[cpu]!;
    if (rq.stepping) return;
    this.remote = true;
    try {
      this.update_curr(rq);
    } finally {
      this.remote = false;
    }
  }

  protected override set_curr_task(rq: CpuExec, p: TaskStruct): void {
    p.se.prev_sum_exec_runtime = p.se.sum_exec_runtime;
    p.se.exec_start = this.engine.now;
    this.hrtick_start(rq);
    this.fair_class.curr_changed(rq);
  }

  /** task_tick(): the tick that matters came (budget, RR slice, CFS slice). */
  protected override task_tick(rq: CpuExec): void {
    const p = rq.curr;
    if (p === rq.idle) return;
    if (p.policy === "RR" && p.rt.time_slice <= 0) {
      this.task_tick_rr(rq, p);
    } else if (!rt_policy(p.policy)) {
      // check_preempt_tick()
      const cfs = this.cfs_rqs[rq.cpu]!;
      if (cfs.nr_running > 1 && p.se.sum_exec_runtime - p.se.prev_sum_exec_runtime > this.sched_slice(cfs, p)) {
        this.resched_curr(rq);
      }
    }
    if (!rq.need_resched) this.hrtick_start(rq);
  }

  /** task_tick_rt() at the end of an RR slice: a new slice; rotate among equals. Apart, so that task_tick() inlines small. */
  private task_tick_rr(rq: CpuExec, p: TaskStruct): void {
    p.rt.time_slice = RR_TIMESLICE;
    const q = this.rt_rqs[rq.cpu]!.queue[p.prio]!;
    if (q.length > 1) {
      this.rt_rqs[rq.cpu]!.requeue(p);
      this.resched_curr(rq);
    }
  }

  /** sched_slice(): this task's share of the latency period. */
  private sched_slice(cfs: CfsRq, p: TaskStruct): number {
    const nr = cfs.nr_running;
    const period = nr > this.sched_nr_latency ? nr * this.sched_min_granularity : this.sched_latency;
    return (period * p.se.weight) / Math.max(cfs.load_weight, p.se.weight);
  }

  /**
   * Arms the next tick at which the kernel would act for curr: the RT budget
   * running out, the end of an RR slice, the end of a CFS slice. No other
   * tick is simulated.
   */
  hrtick_start(rq: CpuExec): void {
    const p = rq.curr;
    let at = Number.POSITIVE_INFINITY;
    if (p !== rq.idle) {
      if (rt_policy(p.policy)) {
        this.hrtick_rt_at(rq, p);
        at = this.hrtick_rt_tick;
      } else {
        const cfs = this.cfs_rqs[rq.cpu]!;
        if (cfs.nr_running > 1) {
          const ran = p.se.sum_exec_runtime - p.se.prev_sum_exec_runtime;
          // The first tick boundary strictly after the slice's end, computed
          // here: where V8 inlined hrtick_start into schedule() but had no
          // budget left for a call in it, a time passed to or returned from
          // that call was boxed, an allocation per hrtick.
          const end = this.engine.now + Math.max(0, this.sched_slice(cfs, p) - ran);
          at = (Math.floor(end / this.tick_ns) + 1) * this.tick_ns;
        }
      }
    }
    if (at === Number.POSITIVE_INFINITY) {
      if (rq.hrtick_ev.queued) this.engine.cancel(rq.hrtick_ev);
    } else if (!rq.hrtick_ev.queued || rq.hrtick_ev.time !== at) {
      rq.hrtick_ev.time = at;
      this.engine.enqueue(rq.hrtick_ev);
    }
  }

  /**
   * hrtick_start()'s tick for an RT curr: its budget running out, the end of
   * an RR slice. Apart, so that the fair path, taken at every CFS slice end,
   * is small enough for V8 to inline whole into schedule() (a call it could
   * not inline boxes each time it passes). The tick goes to a field, not
   * the return value: where this is not inlined a returned time is boxed.
   */
  private hrtick_rt_at(rq: CpuExec, p: TaskStruct): void {
    const now = this.engine.now;
    let at = Number.POSITIVE_INFINITY;
    const rt_rq = this.rt_rqs[rq.cpu]!;
    if (this.rt_bandwidth_enabled && rt_rq.rt_runtime !== RUNTIME_INF && rt_rq.rt_runtime < this.rt_period) {
      // The first tick boundary strictly after the budget runs out (see hrtick_start).
      const end = now + Math.max(0, rt_rq.rt_runtime - rt_rq.rt_time);
      at = (Math.floor(end / this.tick_ns) + 1) * this.tick_ns;
    }
    if (p.policy === "RR") {
      const slice_end = now + Math.max(0, p.rt.time_slice);
      at = Math.min(at, Math.ceil(slice_end / this.tick_ns) * this.tick_ns);
    }
    this.hrtick_rt_tick = at;
  }

  /** hrtick_rt_at()'s answer. */
  private hrtick_rt_tick = Number.POSITIVE_INFINITY;

  // ---- RT bandwidth (sched_rt.c) -------------------------------------------

  /** start_rt_bandwidth(): arm the period timer on this CPU if it is not active. */
  start_rt_bandwidth(): void {
    if (!this.rt_bandwidth_enabled || this.rt_runtime === RUNTIME_INF) return;
    const hr = this.k.hrtimer;
    const t = this.rt_period_timer;
    if (hr.hrtimer_active(t)) return;
    const now = hr.hrtimer_cb_get_time(t);
    hr.hrtimer_forward(t, now, this.rt_period);
    hr.hrtimer_start(t, t.expires, "ABS_PINNED");
  }

  /** sched_rt_period_timer(): replenish until the timer is current. */
  private static sched_rt_period_timer(this: void, timer: HrTimer): HrtimerRestart {
    const rt_b = timer.data as Scheduler;
    const hr = rt_b.k.hrtimer;
    let idle = false;
    for (;;) {
      const now = hr.hrtimer_cb_get_time(timer);
      const overrun = hr.hrtimer_forward(timer, now, rt_b.rt_period);
      if (!overrun) break;
      idle = rt_b.do_sched_rt_period_timer(overrun);
    }
    return idle ? HRTIMER_NORESTART : HRTIMER_RESTART;
  }

  /**
   * do_sched_rt_period_timer(): for each CPU of the span (online CPUs),
   * subtract overrun periods of runtime and unthrottle; idle only when no
   * rt_rq has time charged or RT tasks queued.
   */
  private do_sched_rt_period_timer(overrun: number): boolean {
    if (!this.rt_bandwidth_enabled || this.rt_runtime === RUNTIME_INF) return true;
    let idle = true;
    const online = this.cpu_online_mask();
    for (let i = online.first(); i >= 0; i = online.next(i + 1)) {
      const rt_rq = this.rt_rqs[i]!;
      this.sync_remote(i);
      let enqueue = false;
      if (rt_rq.rt_time) {
        if (rt_rq.rt_throttled) this.balance_runtime(i);
        const runtime = rt_rq.rt_runtime;
        rt_rq.rt_time -= Math.min(rt_rq.rt_time, overrun * runtime);
        if (rt_rq.rt_time < 0) BUG(`rt_rq ${i} has negative rt_time`);
        if (rt_rq.rt_throttled && rt_rq.rt_time < runtime) {
          rt_rq.rt_throttled = false;
          enqueue = true;
          if (this.trace.enabled) {
            this.trace.emit("sched_rt_unthrottle", i, { rt_time: rt_rq.rt_time, rt_runtime: trace_rt_runtime(runtime) });
          }
        }
        if (rt_rq.rt_time || rt_rq.rt_nr_running) idle = false;
      } else if (rt_rq.rt_nr_running) {
        idle = false;
      }
      const rq = this.rqs[i]!;
      // sched_rt_rq_enqueue(): the RT class may run again.
      if (enqueue && rt_rq.rt_nr_running) this.resched_curr(rq);
      else if (rt_policy(rq.curr.policy)) this.hrtick_start(rq);
    }
    return idle;
  }

  /**
   * sched_rt_runtime_exceeded(): charge over budget -> borrow -> throttle.
   * True when the rt_rq is (now) throttled.
   */
  sched_rt_runtime_exceeded(cpu: number): boolean {
    const rt_rq = this.rt_rqs[cpu]!;
    if (rt_rq.rt_throttled) return true;
    if (rt_rq.rt_runtime >= this.rt_period) return false;
    this.balance_runtime(cpu);
    const runtime = rt_rq.rt_runtime;
    if (runtime === RUNTIME_INF) return false;
    if (rt_rq.rt_time > runtime) {
      rt_rq.rt_throttled = true;
      this.stats.rt_throttles++;
      if (this.trace.enabled) this.trace.emit("sched_rt_throttle", cpu, { rt_time: rt_rq.rt_time, rt_runtime: trace_rt_runtime(runtime) });
      return true;
    }
    return false;
  }

  /** balance_runtime(): only when over budget. */
  private balance_runtime(cpu: number): void {
    const rt_rq = this.rt_rqs[cpu]!;
    if (this.params.rt_runtime_share && rt_rq.rt_time > rt_rq.rt_runtime) this.do_balance_runtime(cpu);
  }

  /**
   * do_balance_runtime(): borrow 1/weight of each peer's unused runtime,
   * never past a whole period, within the root domain of the CPU running
   * the code (the period timer's CPU when the timer calls it).
   */
  private do_balance_runtime(cpu: number): void {
    const rt_rq = this.rt_rqs[cpu]!;
    const here = this.engine.ctx.cpu >= 0 ? this.engine.ctx.cpu : cpu;
    const span = this.rq_rd[here]!.span;
    const weight = span.weight();
    const period = this.rt_period;
    for (let i = span.first(); i >= 0; i = span.next(i + 1)) {
      if (i === cpu) continue;
      const iter = this.rt_rqs[i]!;
      if (iter.rt_runtime === RUNTIME_INF) continue;
      this.sync_remote(i);
      let diff = iter.rt_runtime - iter.rt_time;
      if (diff > 0) {
        diff = Math.floor(diff / weight);
        if (rt_rq.rt_runtime + diff > period) diff = period - rt_rq.rt_runtime;
        iter.rt_runtime -= diff;
        rt_rq.rt_runtime += diff;
        // The lender's budget shrank: its throttle tick moves earlier.
        const lender = this.rqs[i]!;
        if (!lender.stepping && rt_policy(lender.curr.policy)) this.hrtick_start(lender);
        if (rt_rq.rt_runtime === period) break;
      }
    }
  }

  /**
   * __disable_runtime(): take back what this rt_rq lent (or give back what
   * it borrowed) and make it RUNTIME_INF, so an offline CPU lends nothing.
   */
  __disable_runtime(cpu: number): void {
    const rt_rq = this.rt_rqs[cpu]!;
    const rt_b_runtime = this.rt_runtime;
    if (rt_rq.rt_runtime !== RUNTIME_INF && rt_rq.rt_runtime !== rt_b_runtime) {
      let want = rt_b_runtime - rt_rq.rt_runtime;
      const span = this.rq_rd[cpu]!.span;
      for (let i = span.first(); i >= 0 && want !== 0; i = span.next(i + 1)) {
        const iter = this.rt_rqs[i]!;
        if (i === cpu || iter.rt_runtime === RUNTIME_INF) continue;
        if (want > 0) {
          const diff = Math.min(iter.rt_runtime, want);
          iter.rt_runtime -= diff;
          want -= diff;
        } else {
          iter.rt_runtime -= want;
          want = 0;
        }
        const peer = this.rqs[i]!;
        if (!peer.stepping && rt_policy(peer.curr.policy)) {
          this.sync_remote(i);
          this.hrtick_start(peer);
        }
      }
      if (want !== 0) BUG(`__disable_runtime(${cpu}): ${want} ns of RT runtime leaked out of the system`);
    }
    rt_rq.rt_runtime = RUNTIME_INF;
  }

  /** __enable_runtime(): a fresh budget, nothing charged, not throttled. */
  __enable_runtime(cpu: number): void {
    const rt_rq = this.rt_rqs[cpu]!;
    const was_throttled = rt_rq.rt_throttled;
    rt_rq.rt_runtime = this.rt_runtime;
    rt_rq.rt_time = 0;
    rt_rq.rt_throttled = false;
    if (was_throttled) {
      if (this.trace.enabled) this.trace.emit("sched_rt_unthrottle", cpu, { rt_time: 0, rt_runtime: trace_rt_runtime(rt_rq.rt_runtime) });
      // The RT class may run again at once (a domain rebuild does this mid-hotplug).
      if (rt_rq.rt_nr_running) this.resched_curr(this.rqs[cpu]!);
    }
  }

  /** set_rq_online(): into rd->online; rq_online_rt (__enable_runtime, cpupri). */
  set_rq_online(cpu: number): void {
    if (this.rq_online[cpu]) return;
    this.rq_rd[cpu]!.online.set_cpu(cpu);
    this.rq_online[cpu] = true;
    this.__enable_runtime(cpu);
    this.rt_class.rq_online(cpu);
    this.fair_class.rq_online();
    this.fair_class.nr_running_changed(cpu);
  }

  /** set_rq_offline(): rq_offline_rt (__disable_runtime, cpupri), out of rd->online. */
  set_rq_offline(cpu: number): void {
    if (!this.rq_online[cpu]) return;
    this.rt_class.rq_offline(cpu);
    this.__disable_runtime(cpu);
    this.fair_class.rq_offline();
    this.rq_rd[cpu]!.online.clear_cpu(cpu);
    this.rq_online[cpu] = false;
    this.fair_class.nr_running_changed(cpu);
  }

  // ---- root domains and sched domains (kernel/sched.c) ------------------------

  /**
   * rq_attach_root(): leave the old root domain (set_rq_offline if online
   * there), join `rd`, and set_rq_online if the CPU is active. On every
   * active CPU that is __disable_runtime then __enable_runtime: a fresh
   * budget, rt_time 0, unthrottled.
   */
  rq_attach_root(cpu: number, rd: RootDomain): void {
    const old = this.rq_rd[cpu]!;
    if (old.online.test_cpu(cpu)) this.set_rq_offline(cpu);
    old.span.clear_cpu(cpu);
    this.rq_rd[cpu] = rd;
    rd.span.set_cpu(cpu);
    if (this.k.hotplug.cpu_active(cpu)) this.set_rq_online(cpu);
  }

  /** cpu_attach_domain(): rq->rd and rq->sd (degenerate levels already dropped). */
  private cpu_attach_domain(sd: SchedDomain | null, rd: RootDomain, cpu: number): void {
    this.rq_attach_root(cpu, rd);
    this.rq_sd[cpu] = sd;
  }

  /** Root domains left with no CPU (free_rootdomain), kept for reuse: a hotplug-heavy run builds one per operation. */
  private readonly free_rds: RootDomain[] = [];

  /** __build_sched_domains(): one new root domain, and each CPU's domains, for `cpu_map`. */
  private build_sched_domains(cpu_map: CpuMask): void {
    const rd = this.free_rds.pop() ?? new RootDomain(this.nr_cpu_ids);
    BUG_ON(!rd.span.is_empty() || rd.rto_count !== 0, "a reused root domain still has CPUs");
    const sds = build_sched_domains(this.params.topology, cpu_map, this.nr_cpu_ids, this.jiffies());
    for (let i = cpu_map.first(); i >= 0; i = cpu_map.next(i + 1)) this.cpu_attach_domain(sds[i] ?? null, rd, i);
  }

  /** detach_destroy_domains(): every CPU of the old partition to the NULL domain of def_root_domain. */
  private detach_destroy_domains(cpu_map: CpuMask): void {
    const old = this.rq_rd[cpu_map.first()];
    for (let i = cpu_map.first(); i >= 0; i = cpu_map.next(i + 1)) this.cpu_attach_domain(null, this.def_root_domain, i);
    if (old && old !== this.def_root_domain && old.span.is_empty()) this.free_rds.push(old);
  }

  /** arch_init_sched_domains(cpu_active_mask), from sched_init_smp(). */
  arch_init_sched_domains(): void {
    const map = this.k.hotplug.cpu_active_mask.clone();
    this.doms_cur = map;
    this.build_sched_domains(map);
  }

  /**
   * partition_sched_domains(1, doms, NULL): a partition unlike the current
   * one is destroyed (its CPUs detached) and the new one built. ksim has one
   * partition: the top cpuset's, which tracks cpu_active_mask.
   */
  partition_sched_domains(doms_new: CpuMask): void {
    const cur = this.doms_cur;
    if (cur?.equals(doms_new)) return;
    if (cur) this.detach_destroy_domains(cur);
    // The old partition's mask is free once detached: it takes the new one's CPUs.
    const map = cur ? cur.copy(doms_new) : doms_new.clone();
    this.build_sched_domains(map);
    this.doms_cur = map;
  }

  // ---- hotplug helpers used by migration_call --------------------------------

  /**
   * migrate_live_tasks() + migrate_dead_tasks(): every task whose CPU is the
   * dead one moves to select_fallback_rq(); queued ones are enqueued there.
   */
  migrate_live_tasks(dead_cpu: number): void {
    for (const p of this.tasks) {
      if (p.cpu !== dead_cpu || p.state === "X") continue;
      const dest = this.select_fallback_rq(dead_cpu, p);
      if (p.on_rq) {
        if (p.on_cpu) BUG(`${p.name} still running on dead CPU ${dead_cpu}`);
        this.move_queued_task(p, dest);
      } else {
        this.set_task_cpu(p, dest);
      }
    }
  }

  /**
   * A debug check of one CPU's runqueues, as the BUG_ONs of sched.c and
   * CONFIG_SCHED_DEBUG would catch: the rt_rq's and cfs_rq's counts and
   * weights agree with the tasks on them, every queued task is on_rq with
   * task_cpu() this CPU and in the class of its policy, every task marked
   * on_rq for this CPU is on one of its lists, rt_time is not negative, and
   * curr is marked running here. O(tasks); run at CPU_DEAD and by tests,
   * never per event.
   */
  check_rq(cpu: number): void {
    const rq = this.rq(cpu);
    const rt = this.rt_rqs[cpu]!;
    const bad = rt.check();
    if (bad !== null) BUG(`check_rq(${cpu}): rt_rq: ${bad}`);
    // Indexed loops: run once per CPU_DEAD, this stays unoptimised, where
    // each step of a for-of allocates an iterator result.
    for (let prio = 0; prio < rt.queue.length; prio++) {
      const list = rt.queue[prio]!;
      for (let k = 0; k < list.length; k++) {
        const p = list[k]!;
        if (!p.on_rq || p.cpu !== cpu || !rt_policy(p.policy)) BUG(`check_rq(${cpu}): ${p.name} on the rt_rq with on_rq ${p.on_rq}, task_cpu ${p.cpu}, policy ${p.policy}`);
      }
    }
    const cfs = this.cfs_rqs[cpu]!;
    let weight = 0;
    for (let k = 0; k < cfs.tasks.length; k++) {
      const p = cfs.tasks[k]!;
      weight += p.se.weight;
      if (!p.on_rq || p.cpu !== cpu || rt_policy(p.policy)) BUG(`check_rq(${cpu}): ${p.name} on the cfs_rq with on_rq ${p.on_rq}, task_cpu ${p.cpu}, policy ${p.policy}`);
    }
    if (weight !== cfs.load_weight) BUG(`check_rq(${cpu}): cfs_rq load_weight ${cfs.load_weight} but its tasks weigh ${weight}`);
    let queued = 0;
    const tasks = this.tasks;
    for (let k = 0; k < tasks.length; k++) {
      const p = tasks[k]!;
      if (p.on_rq && p.cpu === cpu) queued++;
    }
    if (queued !== this.nr_running(cpu)) BUG(`check_rq(${cpu}): ${queued} tasks are on_rq for CPU ${cpu} but its runqueues hold ${this.nr_running(cpu)}`);
    const curr = rq.curr;
    if (!curr.on_cpu || curr.cpu !== cpu) BUG(`check_rq(${cpu}): curr ${curr.name} has on_cpu ${curr.on_cpu}, task_cpu ${curr.cpu}`);
  }

  /** Runnable tasks left on a CPU's runqueues. */
  rq_nr_running(cpu: number): number {
    return this.nr_running(cpu);
  }

  // ---- SLEEP as hrtimer_nanosleep ---------------------------------------------

  protected override start_sleep_timer(p: TaskStruct, ns: number): void {
    let t = p.sleep_timer;
    if (t === null) {
      t = new HrTimer("hrtimer_wakeup");
      this.k.hrtimer.hrtimer_init(t, "CLOCK_MONOTONIC", "REL");
      // The hrtimer_sleeper's task, as the timer's data: one shared callback
      // instead of a closure per task (see sched_init).
      t.data = p;
      t.function = hrtimer_wakeup;
      p.sleep_timer = t;
    }
    this.k.hrtimer.hrtimer_start(t, ns, "REL");
  }

  protected override cancel_sleep_timer(p: TaskStruct): void {
    const t = p.sleep_timer;
    // A wake-up from the timer itself finds it already dequeued.
    if (t !== null && this.k.hrtimer.hrtimer_is_queued(t)) this.k.hrtimer.hrtimer_try_to_cancel(t);
  }

}
