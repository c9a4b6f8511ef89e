/**
 * An rt-app workload running in a ksim kernel: one task per thread
 * instance, each a KernelCall generator that steps through its phases the
 * way thread_body() and run_event() of src/rt-app.c do.
 */
import {
  CpuMask,
  current,
  in_irq,
  PRIO_TO_NICE,
  RUN,
  SCHEDULE,
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
  pthread_barrier_wait,
  PthreadBarrier,
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
import type { RtAppEvent, RtAppPhase, RtAppPolicy, RtAppSched, RtAppThread, RtAppWorkload } from "./types.js";

export interface RtAppOptions {
  /** When the use case starts (rt-app's t_zero); default: now. */
  time_base_ns?: number;
  /**
   * The CPU rt-app's main thread runs on when it creates the threads, at
   * t_zero (the first online CPU if that one is down then); default: the
   * CPU of the caller, or CPU 0 outside any CPU context.
   */
  launcher_cpu?: number;
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
  /** main()'s threads_barrier: every thread created at start waits there for the others. */
  readonly threads_barrier: PthreadBarrier;
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
    this.threads_barrier = new PthreadBarrier("threads_barrier", workload.threads.reduce((n, t) => n + t.instance, 0));
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
 * rt-app's main(): creates every thread instance of `w` (pthread_create,
 * in file order) at t_zero from the launcher, a SCHED_OTHER nice 0 process
 * allowed on every CPU, running on `launcher_cpu`. A thread is a fork of
 * it: it inherits that policy and mask and starts where fork balancing
 * (SD_BALANCE_FORK) places it; thread_body() then sets its own policy and
 * affinity. Call it from process context or before the engine runs.
 */
export function start_rt_app(k: Kernel, w: RtAppWorkload, opts: RtAppOptions = {}): RtAppRun {
  const rt = new Runtime(k, w, opts.time_base_ns ?? k.engine.now, opts.log_rows ?? 100_000, opts.on_done);
  k.waitfor.add_explainer((n) => rt.explain(n));
  // rt-app checks its cpus against the machine when it parses the file, before any thread exists.
  for (const t of w.threads) for (const cpus of [t.cpus, ...t.phases.map((p) => p.cpus)]) mask_of(k, cpus);
  const here = k.engine.ctx.cpu;
  const launcher_cpu = opts.launcher_cpu ?? (here >= 0 ? here : 0);
  if (launcher_cpu < 0 || launcher_cpu >= k.sched.nr_cpu_ids) throw new RangeError(`rt-app: launcher CPU ${launcher_cpu} is not below nr_cpu_ids ${k.sched.nr_cpu_ids}`);
  const launcher: Launcher = { policy: "NORMAL", nice: 0, rt_priority: 0, cpus: all_cpus(k), cpu: launcher_cpu };
  const created: TaskStruct[] = [];
  for (const t of w.threads) for (let i = 0; i < t.instance; i++) created.push(spawn(rt, t, `${t.name}-${rt.next_ind}`, false, launcher).task);
  if (created.length > 0) launch_at(k, created, launcher_cpu, rt.t_zero);
  if (w.duration_s > 0) rt.deadline = rt.t_zero + w.duration_s * 1_000_000_000;
  if (rt.live === 0) {
    rt.done = true;
    opts.on_done?.();
  }
  return rt;
}

/** The task a thread is forked from: what copy_process() and sched_fork() give the child. */
interface Launcher {
  readonly policy: SchedPolicy;
  readonly nice: number;
  readonly rt_priority: number;
  readonly cpus: CpuMask;
  readonly cpu: number;
}

/** A running task as the parent of a fork: its policy, normal priority and mask. */
function parent_of(p: TaskStruct): Launcher {
  return { policy: p.policy, nice: PRIO_TO_NICE(p.static_prio), rt_priority: p.rt_priority, cpus: p.cpus_allowed.clone(), cpu: p.cpu };
}

function all_cpus(k: Kernel): CpuMask {
  return CpuMask.first_n(k.sched.nr_cpu_ids);
}

function mask_of(k: Kernel, cpus: readonly number[] | null): CpuMask | null {
  if (cpus === null) return null;
  for (const c of cpus) if (c >= k.sched.nr_cpu_ids) throw new RangeError(`rt-app: CPU ${c} is not below nr_cpu_ids ${k.sched.nr_cpu_ids}`);
  return CpuMask.of(cpus);
}

/** Where spawn() puts the instance once its task exists. */
interface InstanceSlot {
  inst: RtAppInstance | null;
}

/**
 * The thread's body, which reads its instance when it first runs (after
 * spawn() filled the slot). One module-level generator, not one made per
 * thread: V8 keeps a generator function's map in the old generation, which
 * would keep a finished machine alive.
 */
function* run_instance(rt: Runtime, slot: InstanceSlot, forked: boolean): KernelCall<number> {
  return yield* thread_body(rt, slot.inst!, forked);
}

/** create_thread(): a fork of `parent`, asleep until it is woken (a fork event wakes it at once). */
function spawn(rt: Runtime, t: RtAppThread, name: string, forked: boolean, parent: Launcher): RtAppInstance {
  const k = rt.k;
  const ind = rt.next_ind++;
  const slot: InstanceSlot = { inst: null };
  const task = k.sched.create_task({
    comm: name.slice(0, COMM_MAX),
    policy: parent.policy,
    ...(parent.policy === "FIFO" || parent.policy === "RR" ? { rt_priority: parent.rt_priority } : { nice: parent.nice }),
    cpus_allowed: parent.cpus,
    // sched_fork(): the child starts on its parent's CPU; wake_up_new_task() may move it.
    cpu: parent.cpu,
    threadfn: () => run_instance(rt, slot, forked),
  });
  const inst: RtAppInstance = { name, ind, thread: t, task, log: new TimingLog(rt.log_rows) };
  slot.inst = inst;
  rt.instances.push(inst);
  rt.live++;
  if (forked) k.sched.wake_up_new_task(task);
  return inst;
}

/** main()'s pthread_create() loop at `at`: each new thread woken, in order, from the launcher's CPU. */
function launch_at(k: Kernel, tasks: readonly TaskStruct[], cpu: number, at: number): void {
  const ev = new SimEvent("start/rt-app", () => {
    const on = k.hotplug.cpu_online(cpu) ? cpu : k.hotplug.cpu_online_mask.first();
    in_irq(k.sched, on, () => {
      for (const p of tasks) k.sched.wake_up_new_task(p);
    });
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
  /** data->curr_sched_data: the thread's or a phase's (by index) scheduling last set; null: none yet. */
  curr_sched: RtAppSched | null;
  /** Its policy, `same` resolved. */
  curr_policy: RtAppPolicy | null;
  /** def_cpu_data: the mask the thread had when it first looked (its parent's). */
  def_mask: CpuMask | null;
  /** curr_cpu_data: the mask last asked for. */
  curr_mask: CpuMask | null;
}

/**
 * thread_body(): a thread created at start waits on main()'s barrier for
 * the others, then (forked or not) sleeps until t_zero + delay, still with
 * its parent's policy and mask; sets its policy (set_thread_param); runs
 * the phases in turn, `loop` times, each iteration after setting the
 * phase's affinity and then its policy, one log row per iteration; and
 * goes back to SCHED_OTHER before it exits.
 */
function* thread_body(rt: Runtime, inst: RtAppInstance, forked: boolean): KernelCall<number> {
  const k = rt.k;
  const t = inst.thread;
  const st: ThreadState = {
    rt,
    inst,
    t_first: rt.t_zero + t.delay_us * 1000,
    curr_sched: null,
    curr_policy: null,
    def_mask: null,
    curr_mask: null,
  };
  if (!forked) yield* pthread_barrier_wait(rt.threads_barrier);
  // clock_nanosleep(TIMER_ABSTIME): a time already past returns at once.
  if (t.delay_us > 0 && st.t_first > k.engine.now) yield SLEEP(st.t_first - k.engine.now);
  set_thread_param(st, { policy: t.policy, priority: t.priority });
  let phase = 0;
  let phase_loop = 0;
  let thread_loop = 0;
  while (!rt.stopped && thread_loop !== t.loop) {
    const pd = t.phases[phase]!;
    yield* set_thread_affinity(st, pd.cpus ?? t.cpus);
    if (pd.sched) set_thread_param(st, pd.sched);
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
  // pthread_setschedparam(SCHED_OTHER, 0): the nice value stays.
  const p = current();
  k.sched.sched_setscheduler(p, "NORMAL", PRIO_TO_NICE(p.static_prio));
  rt.thread_ended();
  return 0;
}

/**
 * set_thread_affinity(): the phase's mask, else the thread's, else the one
 * the thread first had; sched_setaffinity only when it differs from the
 * last one asked for. A CPU that is offline now makes it fail (EINVAL):
 * the thread keeps its mask and goes on.
 */
function* set_thread_affinity(st: ThreadState, cpus: readonly number[] | null): KernelCall {
  const k = st.rt.k;
  const p = current();
  st.def_mask ??= p.cpus_allowed.clone();
  st.curr_mask ??= st.def_mask;
  const want = mask_of(k, cpus) ?? st.def_mask;
  if (want.equals(st.curr_mask)) return;
  st.curr_mask = want;
  // set_cpus_allowed_ptr() moves a running caller off a CPU the mask leaves
  // out and waits for it (wait_for_completion): the call returns on the new CPU.
  if (k.sched.set_cpus_allowed_ptr(p, want) === 0 && !want.test_cpu(p.cpu)) yield SCHEDULE;
}

/**
 * set_thread_param(): nothing when `sd` is already the current one (a phase
 * repeated, or phases without scheduling). RT policies: one
 * sched_setscheduler. SCHED_OTHER and SCHED_IDLE (_set_thread_cfs):
 * sched_setscheduler(policy, 0), which keeps the nice value, only when the
 * policy changes; then, for SCHED_OTHER, the nice value (rt-app's
 * sched_setattr; ksim's sched_setscheduler takes it as the priority).
 */
function set_thread_param(st: ThreadState, sd: RtAppSched): void {
  if (st.curr_sched === sd) return;
  const k = st.rt.k;
  const p = current();
  const policy = sd.policy ?? st.curr_policy ?? "SCHED_OTHER";
  const prio = sd.priority ?? default_priority(policy);
  if (is_rt(policy)) {
    k.sched.sched_setscheduler(p, ksim_policy(policy), prio);
  } else {
    if (policy !== st.curr_policy) k.sched.sched_setscheduler(p, ksim_policy(policy), PRIO_TO_NICE(p.static_prio));
    if (policy === "SCHED_OTHER") k.sched.sched_setscheduler(p, "NORMAL", prio);
  }
  st.curr_sched = sd;
  st.curr_policy = policy;
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
  spawn(rt, t, `${name}-${rt.next_ind}-${String(n).padStart(4, "0")}`, true, parent_of(current()));
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
