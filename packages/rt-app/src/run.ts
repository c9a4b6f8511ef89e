/**
 * An rt-app workload running in a ksim kernel: one task per thread
 * instance, each a KernelCall generator that steps through its phases the
 * way thread_body() and run_event() of src/rt-app.c do.
 */
import {
  CpuMask,
  current,
  in_irq,
  RUN,
  sched_yield,
  SimEvent,
  SLEEP,
  type Kernel,
  type KernelCall,
  type SchedPolicy,
  type TaskStruct,
  type WaitEdge,
  type WaitNode,
} from "@ksim/core";
import { format_log, new_measure, ns_to_us, TimingLog, type PhaseMeasure, type TimingPoint } from "./log.js";
import {
  user_barrier,
  user_cond_broadcast,
  user_cond_signal,
  user_cond_wait,
  user_mutex_lock,
  user_mutex_unlock,
  user_sem_post,
  user_sem_wait,
  UserBarrier,
  UserCond,
  UserMutex,
  UserSem,
} from "./sync.js";
import type { RtAppEvent, RtAppPhase, RtAppPolicy, RtAppThread, RtAppWorkload } from "./types.js";

export interface RtAppOptions {
  /** When the use case starts (rt-app's t_zero); default: now. */
  time_base_ns?: number;
  /** Rows kept per thread log, the oldest dropped beyond (default 100000; 0: no logs). */
  log_rows?: number;
  /** Called once, when the last thread has ended. */
  on_done?: () => void;
}

/** One thread instance: `thread0-0`, `thread1-3`, `thread2-5-0000` (forked). */
export interface RtAppInstance {
  readonly name: string;
  readonly ind: number;
  readonly thread: RtAppThread;
  readonly task: TaskStruct;
  readonly log: TimingLog;
}

export interface RtAppLog {
  /** The file name rt-app gives it: `<log_basename>-<instance>.log`. */
  readonly name: string;
  readonly text: string;
}

export interface RtAppRun {
  readonly workload: RtAppWorkload;
  readonly instances: readonly RtAppInstance[];
  /** True once every thread has ended. */
  readonly done: boolean;
  /** One log per thread instance, in creation order. */
  logs(): RtAppLog[];
}

/** Forks of one thread rt-app allows (FORKS_LIMIT). */
export const FORKS_LIMIT = 1024;
/** TASK_COMM_LEN - 1: the kernel keeps this much of a thread's name. */
const COMM_MAX = 15;

interface TimerRes {
  init: boolean;
  t_next: number;
  absolute: boolean;
}

/** Everything one running workload shares between its threads. */
class Runtime implements RtAppRun {
  readonly instances: RtAppInstance[] = [];
  readonly mutexes = new Map<string, UserMutex>();
  readonly conds = new Map<string, UserCond>();
  readonly sems = new Map<string, UserSem>();
  readonly barriers = new Map<string, UserBarrier>();
  readonly timers = new Map<string, TimerRes>();
  readonly forks = new Map<string, number>();
  readonly timer_modes: Map<string, boolean>;
  live = 0;
  done = false;
  /** rt-app's shutdown at global.duration; null: none. */
  deadline: number | null = null;
  next_ind = 0;

  constructor(
    readonly k: Kernel,
    readonly workload: RtAppWorkload,
    readonly t_zero: number,
    readonly log_rows: number,
    readonly on_done: (() => void) | undefined,
  ) {
    this.timer_modes = new Map(workload.timer_modes);
    for (const [name, users] of workload.barriers) this.barriers.set(name, new UserBarrier(name, users - 1));
  }

  /**
   * Past global.duration, threads stop at their next event (continue_running
   * is cleared). Strictly past: a machine run that ends at the duration
   * still reports the threads alive, as rt-app's last moment sees them.
   */
  get stopped(): boolean {
    return this.deadline !== null && this.k.engine.now > this.deadline;
  }

  mutex(name: string): UserMutex {
    let m = this.mutexes.get(name);
    if (!m) this.mutexes.set(name, (m = new UserMutex(name)));
    return m;
  }

  cond(name: string): UserCond {
    let c = this.conds.get(name);
    if (!c) this.conds.set(name, (c = new UserCond(name)));
    return c;
  }

  sem(name: string): UserSem {
    let s = this.sems.get(name);
    if (!s) this.sems.set(name, (s = new UserSem(name)));
    return s;
  }

  timer(key: string): TimerRes {
    let t = this.timers.get(key);
    if (!t) this.timers.set(key, (t = { init: false, t_next: 0, absolute: this.timer_modes.get(key) ?? false }));
    return t;
  }

  /** A mutex node's edge to its owner, for the kernel's wait-for graph. */
  explain(n: WaitNode): WaitEdge | null {
    if (n.kind !== "other" || !n.name.startsWith("mutex ")) return null;
    const name = n.name.slice("mutex ".length);
    const m = this.mutexes.get(name) ?? (name.startsWith("barrier:") ? this.barriers.get(name.slice(8))?.mutex : undefined);
    return m?.explain_node() ?? null;
  }

  thread_ended(): void {
    this.live--;
    if (this.live === 0 && !this.done) {
      this.done = true;
      this.on_done?.();
    }
  }

  logs(): RtAppLog[] {
    return this.instances.map((i) => ({ name: `${this.workload.log_basename}-${i.name}.log`, text: format_log(i.log.all()) }));
  }
}

/**
 * Creates every thread instance of `w` asleep and wakes each at t_zero +
 * its delay from an interrupt on the first CPU of its affinity, as
 * create_workload_task's start_task_at does. Call it from process context
 * or before the engine runs.
 */
export function start_rt_app(k: Kernel, w: RtAppWorkload, opts: RtAppOptions = {}): RtAppRun {
  const rt = new Runtime(k, w, opts.time_base_ns ?? k.engine.now, opts.log_rows ?? 100_000, opts.on_done);
  k.waitfor.add_explainer((n) => rt.explain(n));
  for (const t of w.threads) for (let i = 0; i < t.instance; i++) spawn(rt, t, `${t.name}-${rt.next_ind}`, false);
  if (w.duration_s > 0) rt.deadline = rt.t_zero + w.duration_s * 1_000_000_000;
  if (rt.live === 0) {
    rt.done = true;
    opts.on_done?.();
  }
  return rt;
}

function all_cpus(k: Kernel): CpuMask {
  return CpuMask.first_n(k.sched.nr_cpu_ids);
}

function mask_of(k: Kernel, cpus: readonly number[] | null): CpuMask {
  if (cpus === null) return all_cpus(k);
  for (const c of cpus) if (c >= k.sched.nr_cpu_ids) throw new RangeError(`rt-app: CPU ${c} is not below nr_cpu_ids ${k.sched.nr_cpu_ids}`);
  return CpuMask.of(cpus);
}

/** create_thread(): the task, asleep, woken at t_zero + delay (a fork: at once). */
function spawn(rt: Runtime, t: RtAppThread, name: string, forked: boolean): RtAppInstance {
  const k = rt.k;
  const ind = rt.next_ind++;
  const first = t.phases[0]!;
  const cpus = mask_of(k, first.cpus ?? t.cpus);
  const sched = first.sched;
  const policy = sched?.policy ?? t.policy;
  const prio = sched?.priority ?? (sched?.policy ? default_priority(policy) : t.priority);
  let inst: RtAppInstance | null = null;
  const task = k.sched.create_task({
    comm: name.slice(0, COMM_MAX),
    policy: ksim_policy(policy),
    ...(is_rt(policy) ? { rt_priority: prio } : { nice: prio }),
    cpus_allowed: cpus,
    cpu: cpus.first(),
    // The body first runs when the task does, after `inst` is set below.
    threadfn: () => (function* () {
      return yield* thread_body(rt, inst!);
    })(),
  });
  inst = { name, ind, thread: t, task, log: new TimingLog(rt.log_rows) };
  rt.instances.push(inst);
  rt.live++;
  if (forked) k.sched.wake_up_new_task(task);
  else start_at(k, task, cpus.first(), rt.t_zero + t.delay_us * 1000);
  return inst;
}

/** The first wake-up at `at`, from an interrupt on `cpu` (or the first online CPU). */
function start_at(k: Kernel, p: TaskStruct, cpu: number, at: number): void {
  const ev = new SimEvent(`start/${p.comm}`, () => {
    const on = k.hotplug.cpu_online(cpu) ? cpu : k.hotplug.cpu_online_mask.first();
    in_irq(k.sched, on, () => k.sched.wake_up_new_task(p));
  });
  k.engine.schedule(ev, Math.max(at, k.engine.now));
}

function is_rt(p: RtAppPolicy): boolean {
  return p === "SCHED_FIFO" || p === "SCHED_RR";
}

function default_priority(p: RtAppPolicy): number {
  return is_rt(p) ? 10 : 0;
}

function ksim_policy(p: RtAppPolicy): SchedPolicy {
  switch (p) {
    case "SCHED_OTHER":
      return "NORMAL";
    case "SCHED_FIFO":
      return "FIFO";
    case "SCHED_RR":
      return "RR";
    case "SCHED_IDLE":
      return "IDLE";
  }
}

/** Per-instance state of thread_body(). */
interface ThreadState {
  readonly rt: Runtime;
  readonly inst: RtAppInstance;
  readonly t_first: number;
  policy: RtAppPolicy;
  cpus: readonly number[] | null;
}

/** thread_body(): phases in turn, `loop` times, one log row per phase iteration. */
function* thread_body(rt: Runtime, inst: RtAppInstance): KernelCall<number> {
  const k = rt.k;
  const t = inst.thread;
  const st: ThreadState = { rt, inst, t_first: rt.t_zero + t.delay_us * 1000, policy: t.policy, cpus: t.phases[0]!.cpus ?? t.cpus };
  if (st.t_first > k.engine.now) yield SLEEP(st.t_first - k.engine.now);
  let phase = 0;
  let phase_loop = 0;
  let thread_loop = 0;
  while (!rt.stopped && thread_loop !== t.loop) {
    const pd = t.phases[phase]!;
    apply_phase(st, pd);
    const ld = new_measure();
    const t_start = k.engine.now;
    const completed = yield* run_phase(st, pd, ld);
    if (!completed) break;
    log_row(st, ld, t_start, k.engine.now);
    phase_loop++;
    if (phase_loop === pd.loop) {
      phase_loop = 0;
      phase++;
      if (phase === t.phases.length) {
        phase = 0;
        thread_loop++;
      }
    }
  }
  rt.thread_ended();
  return 0;
}

/** set_thread_affinity() and set_thread_param() at a phase's start, when they change. */
function apply_phase(st: ThreadState, pd: RtAppPhase): void {
  const k = st.rt.k;
  const p = current();
  const cpus = pd.cpus ?? st.inst.thread.cpus;
  if (cpus !== st.cpus) {
    st.cpus = cpus;
    // A CPU that is offline now makes sched_setaffinity fail (EINVAL); the thread keeps its mask.
    k.sched.set_cpus_allowed_ptr(p, mask_of(k, cpus));
  }
  if (pd.sched) {
    const policy = pd.sched.policy ?? st.policy;
    const prio = pd.sched.priority ?? default_priority(policy);
    st.policy = policy;
    k.sched.sched_setscheduler(p, ksim_policy(policy), prio);
  }
}

function log_row(st: ThreadState, ld: PhaseMeasure, t_start: number, t_end: number): void {
  const row: TimingPoint = {
    ind: st.inst.ind,
    perf: ld.perf,
    run: ld.duration,
    period: ns_to_us(t_end - t_start),
    start: ns_to_us(t_start),
    end: ns_to_us(t_end),
    rel_st: ns_to_us(t_start - st.rt.t_zero),
    slack: ld.slack,
    c_duration: ld.c_duration,
    c_period: ld.c_period,
    wu_lat: ld.wu_latency,
  };
  st.inst.log.push(row);
}

/** run(): the phase's events in order; false when the use case stopped in the middle. */
function* run_phase(st: ThreadState, pd: RtAppPhase, ld: PhaseMeasure): KernelCall<boolean> {
  for (const ev of pd.events) {
    if (st.rt.stopped) return false;
    const ok = yield* run_event(st, ev, ld);
    if (!ok) return false;
  }
  return true;
}

/** run_event(); false ends the thread (fork over its limit). */
function* run_event(st: ThreadState, ev: RtAppEvent, ld: PhaseMeasure): KernelCall<boolean> {
  const rt = st.rt;
  const k = rt.k;
  switch (ev.kind) {
    case "run": {
      const t0 = k.engine.now;
      ld.c_duration += ev.c_us;
      ld.perf += ev.loops;
      if (ev.ns > 0) yield RUN(ev.ns);
      ld.duration += ns_to_us(k.engine.now - t0);
      return true;
    }
    case "sleep":
      if (ev.us > 0) yield SLEEP(ev.us * 1000);
      return true;
    case "timer":
      yield* timer_event(st, ev.unique ? `${st.inst.thread.name}/${ev.ref}` : ev.ref, ev.unique ? st.inst.ind : -1, ev.period_us, ld);
      return true;
    case "lock":
      yield* user_mutex_lock(rt.mutex(ev.mutex));
      return true;
    case "unlock":
      user_mutex_unlock(rt.mutex(ev.mutex));
      return true;
    case "wait":
      yield* user_cond_wait(rt.cond(ev.cond), rt.mutex(ev.mutex));
      return true;
    case "sync":
      user_cond_signal(rt.cond(ev.cond));
      yield* user_cond_wait(rt.cond(ev.cond), rt.mutex(ev.mutex));
      return true;
    case "signal":
      user_cond_signal(rt.cond(ev.cond));
      return true;
    case "broadcast":
      user_cond_broadcast(rt.cond(ev.cond));
      return true;
    default:
      return yield* run_other_event(st, ev);
  }
}

function* run_other_event(st: ThreadState, ev: RtAppEvent): KernelCall<boolean> {
  const rt = st.rt;
  switch (ev.kind) {
    case "suspend": {
      const m = rt.mutex(ev.cond);
      yield* user_mutex_lock(m);
      yield* user_cond_wait(rt.cond(ev.cond), m);
      user_mutex_unlock(m);
      return true;
    }
    case "resume": {
      const m = rt.mutex(ev.cond);
      yield* user_mutex_lock(m);
      user_cond_broadcast(rt.cond(ev.cond));
      user_mutex_unlock(m);
      return true;
    }
    case "barrier":
      yield* user_barrier(rt.barriers.get(ev.barrier)!);
      return true;
    case "yield":
      yield* sched_yield();
      return true;
    case "sem_post":
      user_sem_post(rt.sem(ev.sem));
      return true;
    case "sem_wait":
      yield* user_sem_wait(rt.sem(ev.sem));
      return true;
    case "fork":
      return fork_thread(rt, ev.thread);
    default:
      return true;
  }
}

/** The fork event: a new instance of `name`, started at once, named `<name>-<ind>-<nforks>`. */
function fork_thread(rt: Runtime, name: string): boolean {
  const t = rt.workload.threads.find((x) => x.name === name)!;
  const n = rt.forks.get(name) ?? 0;
  if (n >= FORKS_LIMIT) return false;
  rt.forks.set(name, n + 1);
  spawn(rt, t, `${name}-${rt.next_ind}-${String(n).padStart(4, "0")}`, true);
  return true;
}

/**
 * The timer event: the next expiry is the last one plus the period (the
 * first counts from the thread's start). Ahead: sleep until it, absolute,
 * and count the wake-up latency. Behind: no sleep; a relative timer starts
 * again from now, an absolute one keeps its grid.
 */
function* timer_event(st: ThreadState, key: string, unique_ind: number, period_us: number, ld: PhaseMeasure): KernelCall {
  const k = st.rt.k;
  const tr = st.rt.timer(unique_ind >= 0 ? `${key}#${unique_ind}` : key);
  if (unique_ind >= 0 && !tr.init) tr.absolute = st.rt.timer_modes.get(key) ?? false;
  ld.c_period += period_us;
  if (!tr.init) {
    tr.init = true;
    tr.t_next = st.t_first;
  }
  tr.t_next += period_us * 1000;
  const now = k.engine.now;
  const slack = ns_to_us(tr.t_next - now);
  ld.slack = st.rt.workload.cumulative_slack ? ld.slack + slack : slack;
  if (now < tr.t_next) {
    yield SLEEP(tr.t_next - now);
    ld.wu_latency += ns_to_us(k.engine.now - tr.t_next);
  } else {
    if (!tr.absolute) tr.t_next = now;
    ld.wu_latency = 0;
  }
}

/** A lock-order deadlock: the thread it was found from and the cycle of waits. */
export interface RtAppDeadlock {
  readonly task: TaskStruct;
  readonly cycle: readonly WaitEdge[];
}

const is_mutex_node = (n: WaitNode): boolean => n.kind === "other" && n.name.startsWith("mutex ");

/**
 * A cycle of pthread mutex waits among the workload's threads, or null.
 * Such a cycle never resolves by itself, but its threads sleep in S (a
 * futex), so khungtaskd does not see them: the machine's watchdog asks here.
 */
export function rt_app_deadlock(run: RtAppRun, k: Kernel): RtAppDeadlock | null {
  for (const inst of run.instances) {
    const p = inst.task;
    if (p.state !== "S" || !(p.blocked_on instanceof UserMutex)) continue;
    const chain = k.waitfor.follow({ kind: "task", task: p });
    if (chain.cycle.length === 0) continue;
    const mutex_only = chain.cycle.every(
      (e) => (e.from.kind === "task" && is_mutex_node(e.to)) || (is_mutex_node(e.from) && e.to.kind === "task"),
    );
    if (mutex_only) return { task: p, cycle: chain.cycle };
  }
  return null;
}
