/**
 * start_kernel for ksim: constructs the subsystems through their
 * interfaces, boots CPU 0, brings the others up with cpu_up, starts the
 * workload and the hotplug task, runs the engine, and reports.
 */
import {
  CPU_TASKS_FROZEN,
  cpu_event_name,
  Engine,
  format_trace_ts,
  HrTimer,
  HRTIMER_NORESTART,
  NOTIFY_BAD,
  NOTIFY_OK,
  NSEC_PER_SEC,
  Prng,
  SCHEDULE,
  TraceBus,
  current,
  in_irq,
  rt_policy,
  wait_node_name,
  WaitForGraph,
  PRIO_TO_NICE,
  type CpuHotplugOps,
  type HrtimerOps,
  type Kernel,
  type KernelCall,
  type KthreadOps,
  type NotifierBlock,
  type SchedOps,
  type StopMachineOps,
  type TaskSpec,
  type TaskStruct,
  type TraceSink,
} from "@ksim/core";
import { CpuHotplug } from "@ksim/cpu-hotplug";
import { Hrtimers } from "@ksim/hrtimer";
import { Kthreads } from "@ksim/kthread";
import { rt_app_deadlock, start_rt_app, type RtAppLog, type RtAppRun } from "@ksim/rt-app";
import { migration_init, sched_init_smp, Scheduler, type SchedParams } from "@ksim/sched";
import { CpuhpStress } from "./kernel/cpuhp_stress.js";
import { HungTaskDetector } from "./kernel/hung_task.js";
import { KstopMachine } from "./kernel/stop_machine.js";
import { create_workload_task } from "./kernel/workload.js";
import { VERSION } from "./report/version.js";
import type { CycleEdge, HungTask, RunResult } from "./result.js";
import type { ExtraNotifier, Outcome, ScenarioSpec } from "./scenario/types.js";

/** A subsystem the machine may be given instead of its own. */
type Factory<T> = (k: Kernel, spec: ScenarioSpec) => T;

export interface MachineOptions {
  /** Replace any subsystem with another implementation of its interface. */
  sched?: Factory<SchedOps & { init?(): void }>;
  hrtimer?: Factory<HrtimerOps & { init?(): void }>;
  hotplug?: Factory<CpuHotplugOps & { init?(): void }>;
  kthread?: Factory<KthreadOps & { init?(): TaskStruct | null }>;
  stop_machine?: Factory<StopMachineOps & { init?(): void }>;
  /** Extra notifiers on the CPU chain, registered after boot (as a module would). */
  notifiers?: NotifierBlock[];
  /** Extra tasks, created and woken right after boot. */
  tasks?: TaskSpec[];
  /** Trace sinks attached before boot. */
  trace?: TraceSink[];
  /** How many of cpuhp-stress's operations to remember (default 4096; shrink wants them all). */
  cpuhp_records?: number;
}

export interface RunOptions {
  /** Stop after this many engine events (a safety bound; the outcome stays as found). */
  max_events?: number;
  /** Stop once this much wall time has passed (checked between slices of simulated time). */
  max_wall_ms?: number;
  /** Called now and then on long runs with the simulated time reached. */
  on_progress?: (simulated_ns: number) => void;
}

interface HangInfo {
  detected_at_ns: number;
  hung: TaskStruct[];
}

/** The scheduler's parameters of a scenario's kernel section. */
export function sched_params(spec: ScenarioSpec): SchedParams {
  const kp = spec.kernel;
  const prio = kp.notifier_priority;
  return {
    nr_cpus: kp.cpus,
    sched_rt_runtime_us: kp.sched_rt_runtime_us,
    sched_rt_period_us: kp.sched_rt_period_us,
    rt_runtime_share: kp.rt_runtime_share,
    migration_thread_stop: kp.migration_thread_stop,
    ...(prio.migration_call !== undefined ? { migration_call_priority: prio.migration_call } : {}),
    ...(prio.update_runtime !== undefined ? { update_runtime_priority: prio.update_runtime } : {}),
  };
}

/** printk: the kernel log, with dmesg's timestamps. */
function dmesg_line(ns: number, text: string): string {
  return `[${format_trace_ts(ns)}] ${text}`;
}

export class Machine {
  readonly k: Kernel;
  readonly dmesg: string[] = [];
  /** The hotplug task, once kernel_init has started user space (null without script or stress). */
  cpuhp: CpuhpStress | null = null;
  readonly hung_task: HungTaskDetector;
  /** The scenario's rt-app workloads, once kernel_init has started them. */
  readonly rt_app: RtAppRun[] = [];
  private hang: HangInfo | null = null;

  constructor(
    readonly spec: ScenarioSpec,
    readonly opts: MachineOptions = {},
  ) {
    const engine = new Engine();
    const trace = new TraceBus(() => engine.now);
    for (const s of opts.trace ?? []) trace.attach(s);
    const root = new Prng(spec.seed);
    const kp = spec.kernel;
    const k = {
      engine,
      trace,
      waitfor: new WaitForGraph(),
      config: { hz: kp.hz },
      prng: (name: string) => root.split(name),
    } as Kernel;
    this.k = k;
    const prio = kp.notifier_priority;
    k.sched =
      opts.sched?.(k, spec) ??
      new Scheduler(k, sched_params(spec));
    k.hotplug = opts.hotplug?.(k, spec) ?? new CpuHotplug(k, { nr_cpus: kp.cpus, boot_cpu: 0, log_limit: 10_000 });
    k.hrtimer =
      opts.hrtimer?.(k, spec) ??
      new Hrtimers(k, prio.hrtimer_cpu_notify !== undefined ? { priority: prio.hrtimer_cpu_notify } : {});
    k.kthread = opts.kthread?.(k, spec) ?? new Kthreads(k);
    k.stop_machine = opts.stop_machine?.(k, spec) ?? new KstopMachine(k);
    this.hung_task = new HungTaskDetector(k, {
      hung_task_timeout_secs: kp.hung_task_timeout_secs,
      printk: (line) => this.printk(line),
      on_hung: (tasks, now) => this.on_hung(tasks, now),
    });
    this.start_kernel();
  }

  printk(text: string): void {
    this.dmesg.push(dmesg_line(this.k.engine.now, text));
  }

  /**
   * start_kernel() .. rest_init(): init (pid 1) and kthreadd (pid 2), then
   * kernel_init: migration_init for the boot CPU, the kstop threads,
   * smp_init (cpu_up of the others), sched_init_smp, khungtaskd, and then
   * the scenario's user space.
   */
  private start_kernel(): void {
    const k = this.k;
    const sched = k.sched;
    // sched_init, hrtimers_init: hrtimers_nb registers before update_runtime.
    const init_of = (x: unknown): void => (x as { init?: () => void }).init?.call(x);
    if (k.hotplug instanceof CpuHotplug) k.hotplug.init();
    else init_of(k.hotplug);
    init_of(k.hrtimer);
    if (sched instanceof Scheduler) {
      sched.init();
      sched.set_rq_online(0);
    } else init_of(sched);
    const init = sched.create_task({ comm: "init", cpu: 0, threadfn: () => this.kernel_init() });
    (k.kthread as { init?: () => unknown }).init?.call(k.kthread);
    in_irq(sched, 0, () => sched.wake_up_new_task(init));
    // Boot takes no simulated time: every step of it runs at t = 0.
    k.engine.run(0);
    if (k.engine.bug) return;
  }

  private *kernel_init(): KernelCall<number> {
    const k = this.k;
    const sched = k.sched;
    if (sched instanceof Scheduler) yield* migration_init(sched, 0);
    (k.stop_machine as { init?: () => void }).init?.call(k.stop_machine);
    for (let cpu = 1; cpu < k.sched.nr_cpu_ids; cpu++) {
      const err = yield* k.hotplug.cpu_up(cpu);
      if (err) this.printk(`Failed to bring up CPU ${cpu}: ${err}`);
    }
    if (sched instanceof Scheduler) sched_init_smp(sched);
    this.hung_task.init();
    // User space: drivers' notifiers, the workload, and the hotplug task.
    for (const n of this.spec.notifiers) k.hotplug.register_cpu_notifier(this.scenario_notifier(n));
    for (const nb of this.opts.notifiers ?? []) k.hotplug.register_cpu_notifier(nb);
    for (const t of this.spec.tasks) create_workload_task(k, t, k.prng(`task/${t.comm}`), { time_base_ns: 0 });
    for (const spec of this.opts.tasks ?? []) k.sched.wake_up_new_task(k.sched.create_task(spec));
    const rt_app_done = this.spec.rt_app_until_done ? { on_done: () => k.engine.stop("every rt-app thread has ended") } : {};
    for (const f of this.spec.rt_app ?? []) this.rt_app.push(start_rt_app(k, f.workload, { time_base_ns: 0, ...rt_app_done }));
    if (this.spec.script.length > 0 || this.spec.stress) {
      this.cpuhp = new CpuhpStress(k, {
        script: this.spec.script,
        stress: this.spec.stress?.hotplug ?? null,
        prng: k.prng("stress"),
        time_base_ns: 0,
        ...(this.opts.cpuhp_records !== undefined ? { max_records: this.opts.cpuhp_records } : {}),
      });
    }
    // /sbin/init waits for its children forever.
    current().state = "S";
    current().wchan = "do_wait";
    yield SCHEDULE;
    return 0;
  }

  /** A driver's CPU notifier from the scenario: ok, NOTIFY_BAD, or msleep(). */
  private scenario_notifier(n: ExtraNotifier): NotifierBlock {
    const k = this.k;
    const timer = new HrTimer(`${n.name} msleep`);
    let sleeper: TaskStruct | null = null;
    k.hrtimer.hrtimer_init(timer, "CLOCK_MONOTONIC", "REL");
    timer.function = () => {
      if (sleeper) k.sched.wake_up_process(sleeper);
      return HRTIMER_NORESTART;
    };
    return {
      name: n.name,
      priority: n.priority,
      *notifier_call(_nb, action): KernelCall<number> {
        const what = n.actions[cpu_event_name(action)] ?? n.actions[cpu_event_name(action & ~CPU_TASKS_FROZEN)];
        if (!what || what.kind === "ok") return NOTIFY_OK;
        if (what.kind === "bad") return NOTIFY_BAD;
        // msleep(): TASK_UNINTERRUPTIBLE until the timer fires.
        const p = current();
        sleeper = p;
        k.hrtimer.hrtimer_start(timer, what.ns, "REL");
        p.state = "D";
        p.wchan = "msleep";
        yield SCHEDULE;
        sleeper = null;
        return NOTIFY_OK;
      },
    };
  }

  private on_hung(tasks: readonly TaskStruct[], now: number): void {
    if (this.hang) return;
    this.hang = { detected_at_ns: now, hung: [...tasks] };
    this.k.engine.stop("hang");
  }

  /** Run to the scenario's duration, or to its first hang or bug. */
  run(opts: RunOptions = {}): RunResult {
    const t0 = performance.now();
    const engine = this.k.engine;
    const end = this.spec.duration_ns;
    const max_events = opts.max_events ?? Number.POSITIVE_INFINITY;
    // Slices of simulated time let long runs report progress and honour a wall-time bound.
    const slice = Math.max(NSEC_PER_SEC, Math.floor(end / 200));
    let limited: string | null = null;
    // Event chunks bound how long a dense stretch can go without a wall-time check.
    const CHUNK = 200_000;
    while (!engine.bug && !this.hang && engine.stop_reason === null) {
      const until = Math.min(end, engine.now + slice);
      const r = engine.run(until, Math.min(max_events, engine.events + CHUNK));
      opts.on_progress?.(engine.now);
      if (r === "until" && !engine.bug && !this.hang) this.watchdog();
      if (r === "event_limit" && engine.events >= max_events) {
        limited = `event limit ${max_events} reached`;
        break;
      }
      if ((r !== "until" && r !== "event_limit") || engine.now >= end) break;
      if (opts.max_wall_ms !== undefined && performance.now() - t0 > opts.max_wall_ms) {
        limited = `wall-time limit ${opts.max_wall_ms} ms reached`;
        break;
      }
    }
    if (limited) this.printk(`ksim: run stopped early: ${limited}`);
    return this.report(performance.now() - t0);
  }

  /**
   * ksim's own watchdog, outside the model (it changes nothing in it): the
   * person at the console who sees the machine stuck although khungtaskd
   * said nothing. khungtaskd can itself be stranded: its sleep is an hrtimer
   * on some CPU's base, and if that CPU died in the very cpu_down that hangs,
   * its timer waits for the same hrtimer_cpu_notify(CPU_DEAD). A task in D
   * for more than twice the hung-task timeout, without a context switch,
   * whose wait-for chain closes a cycle, is a hang.
   */
  private watchdog(): void {
    if (this.rt_app_watchdog()) return;
    const timeout = this.spec.kernel.hung_task_timeout_secs * NSEC_PER_SEC;
    if (timeout <= 0) return;
    const now = this.k.engine.now;
    for (const p of this.k.sched.for_each_process()) {
      if (p.state !== "D" || now - p.blocked_since <= 2 * timeout) continue;
      const chain = this.k.waitfor.follow({ kind: "task", task: p });
      if (chain.cycle.length === 0) continue;
      const why = this.hung_task.task ? this.k.waitfor.follow({ kind: "task", task: this.hung_task.task }) : null;
      const stuck = why?.path.map((e) => wait_node_name(e.to)).join(" -> ");
      this.printk(
        `ksim watchdog: ${p.comm}:${p.pid} blocked in D for more than ${2 * this.spec.kernel.hung_task_timeout_secs} seconds in a wait-for cycle; ` +
          (stuck ? `khungtaskd could not report it: it waits for ${stuck}` : "khungtaskd did not report it"),
      );
      this.hang = { detected_at_ns: now, hung: [p] };
      return;
    }
  }

  /**
   * A cycle of pthread mutex waits among rt-app threads never resolves, but
   * its threads sleep in S (futexes), which khungtaskd ignores.
   */
  private rt_app_watchdog(): boolean {
    for (const run of this.rt_app) {
      const d = rt_app_deadlock(run, this.k);
      if (!d) continue;
      const nodes = d.cycle.map((e) => wait_node_name(e.from)).join(" -> ");
      this.printk(`ksim watchdog: rt-app threads deadlocked on their mutexes: ${nodes}`);
      this.hang = { detected_at_ns: this.k.engine.now, hung: [d.task] };
      return true;
    }
    return false;
  }

  /** rt-app's per-thread logs of every workload, in start order. */
  rt_app_logs(): RtAppLog[] {
    return this.rt_app.flatMap((r) => r.logs());
  }

  get outcome(): Outcome {
    if (this.k.engine.bug) return "bug";
    if (this.hang) return "hang";
    return "ok";
  }

  /** The wait-for cycle of the first hung task that has one. */
  private cycle(): CycleEdge[] {
    for (const t of this.hang?.hung ?? []) {
      const chain = this.k.waitfor.follow({ kind: "task", task: t });
      if (chain.cycle.length > 0) {
        return chain.cycle.map((e) => ({ node: wait_node_name(e.from), waits_for: wait_node_name(e.to), because: e.because }));
      }
    }
    return [];
  }

  report(wall_ms: number): RunResult {
    const k = this.k;
    const sched = k.sched;
    // Charge what runs now up to the end, so runtime_ns is current.
    if (sched instanceof Scheduler) for (const rq of sched.rqs) sched.update_curr(rq);
    const engine = k.engine;
    const tasks = [...sched.for_each_process()];
    const r: RunResult = {
      ksim: VERSION,
      scenario: this.spec.name,
      seed: this.spec.seed,
      outcome: this.outcome,
      simulated_ns: engine.now,
      events: engine.events,
      wall_ms: Math.round(wall_ms * 1000) / 1000,
      cpus: [],
      tasks: tasks.map((p) => ({
        pid: p.pid,
        comm: p.comm,
        policy: p.policy,
        priority: rt_policy(p.policy) ? p.rt_priority : PRIO_TO_NICE(p.static_prio),
        cpu: p.cpu,
        state: p.state,
        runtime_ns: p.se.sum_exec_runtime,
      })),
      hotplug: k.hotplug.log.map(({ pid: _pid, ...op }) => ({ ...op, notifications: [...op.notifications] })),
      stats: {
        context_switches: sched.stats.context_switches,
        rt_throttles: sched.stats.rt_throttles,
        timer_migrations: k.hrtimer.stats.migrated,
        hotplug_ops: (k.hotplug as { nr_ops?: number }).nr_ops ?? k.hotplug.log.length,
      },
      dmesg: [...this.dmesg],
    };
    for (let cpu = 0; cpu < sched.nr_cpu_ids; cpu++) {
      const rt = sched instanceof Scheduler ? sched.rt_rq(cpu) : null;
      r.cpus.push({
        cpu,
        online: k.hotplug.cpu_online(cpu),
        rt_throttled: rt?.rt_throttled ?? false,
        rt_time_ns: rt?.rt_time ?? 0,
      });
    }
    if (this.hang) {
      const hung_tasks: HungTask[] = this.hang.hung.map((p) => ({
        pid: p.pid,
        comm: p.comm,
        state: p.state,
        blocked_since_ns: p.blocked_since,
        in: p.wchan ?? "schedule",
      }));
      r.hang = { detected_at_ns: this.hang.detected_at_ns, hung_tasks, cycle: this.cycle() };
    }
    if (engine.bug) {
      r.bug = { at_ns: engine.bug.at_ns, message: engine.bug.message };
      r.dmesg.push(dmesg_line(engine.bug.at_ns, `${engine.bug.kind === "BUG" ? "kernel BUG" : "WARNING"}: ${engine.bug.message}`));
    }
    return r;
  }
}

/** Assemble a machine for a scenario (boots it; does not run it). */
export function build_machine(spec: ScenarioSpec, opts: MachineOptions = {}): Machine {
  return new Machine(spec, opts);
}

/** Build and run: the library form of `ksim run`. */
export function run_scenario(spec: ScenarioSpec, opts: RunOptions & MachineOptions = {}): RunResult {
  return new Machine(spec, opts).run(opts);
}
