/**
 * A ksim machine: assembles a kernel from subsystem factories (each with
 * its initcalls), boots it through core's start_kernel, starts the
 * scenario's user space, runs the engine, and reports. It knows no
 * subsystem's internals: only the interfaces of @ksim/core.
 */
import {
  assemble_kernel,
  CPU_HOTPLUG,
  Engine,
  format_trace_ts,
  HRTIMER,
  KTHREAD,
  NSEC_PER_SEC,
  Prng,
  PRIO_TO_NICE,
  rt_policy,
  SCHED,
  SCHEDULE,
  start_kernel,
  STOP_MACHINE,
  TraceBus,
  current,
  wait_node_info,
  wait_node_name,
  type Assembly,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type ServiceKey,
  type Subsystem,
  type SubsystemFactory,
  type TaskSpec,
  type TaskStruct,
  type TiePolicy,
  type TraceSink,
  type WaitEdge,
} from "@ksim/core";
import { HUNG_TASK } from "@ksim/hung-task";
import type { CycleEdge, HangDetector, HungTask, RunResult } from "@ksim/report";
import type { Outcome, ScenarioSpec } from "@ksim/scenario";
import { rt_app_deadlock, start_rt_app, type RtAppLog, type RtAppRun } from "@ksim/rt-app";
import { CpuhpStress, create_workload_task, scenario_notifier } from "@ksim/workload";
import { kernel_assembly, kernel_version, type SubsystemName } from "./kernels.js";
import { replay_ties } from "./ties.js";
import { VERSION } from "./version.js";

/** An implementation of one service alone, with no initcalls of its own. */
type OpsFactory<T> = (k: Kernel, spec: ScenarioSpec) => T;

export interface MachineOptions {
  /**
   * Replace any subsystem, by name, with another factory: its ops, its
   * initcalls and its implementation name all come from the replacement.
   */
  subsystems?: Partial<Record<SubsystemName, SubsystemFactory>>;
  /** Subsystems the kernel's assembly does not have (a workqueue, softirqs, ...), booted after it. */
  extra_subsystems?: SubsystemFactory[];
  /**
   * Wrap any subsystem of the assembly (to trace, instrument or interpose
   * on it): called once per subsystem with its factory, returns the one to use.
   */
  decorate?: (name: SubsystemName, factory: SubsystemFactory) => SubsystemFactory;
  /**
   * Replace only a service's ops (no initcalls run for it). Use
   * `subsystems` to keep boot steps, e.g. the scheduler's migration_init.
   */
  sched?: OpsFactory<Kernel["sched"]>;
  hrtimer?: OpsFactory<Kernel["hrtimer"]>;
  hotplug?: OpsFactory<Kernel["hotplug"]>;
  kthread?: OpsFactory<Kernel["kthread"]>;
  stop_machine?: OpsFactory<Kernel["stop_machine"]>;
  /** Extra notifiers on the CPU chain, registered after boot (as a module would). */
  notifiers?: NotifierBlock[];
  /** Extra tasks, created and woken right after boot. */
  tasks?: TaskSpec[];
  /** Trace sinks attached before boot. */
  trace?: TraceSink[];
  /** How many of cpuhp-stress's operations to remember (default 4096; shrink wants them all). */
  cpuhp_records?: number;
  /**
   * Orders the events due at the same instant once the machine has booted
   * (ksim explore's); default: the scenario's `tie_order`, then sequence order.
   */
  tie_policy?: TiePolicy;
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
  detected_by: HangDetector;
  hung: TaskStruct[];
}

/**
 * Wall-clock milliseconds, for the report and --max-wall. process.hrtime, not
 * performance.now(): the first use of `performance` loads perf_hooks, about
 * 10 ms of a cold `ksim run`.
 */
function wall_ms(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** printk: the kernel log, with dmesg's timestamps. */
function dmesg_line(ns: number, text: string): string {
  return `[${format_trace_ts(ns)}] ${text}`;
}

const OPS_KEYS: Record<"sched" | "hrtimer" | "hotplug" | "kthread" | "stop_machine", [SubsystemName, ServiceKey<unknown>]> = {
  sched: ["sched", SCHED],
  hrtimer: ["hrtimer", HRTIMER],
  hotplug: ["cpu_hotplug", CPU_HOTPLUG],
  kthread: ["kthread", KTHREAD],
  stop_machine: ["stop_machine", STOP_MACHINE],
};

/** A factory for an ops-only replacement: the ops, and nothing to do at boot. */
function ops_only(name: SubsystemName, key: ServiceKey<unknown>, make: OpsFactory<unknown>, spec: ScenarioSpec): SubsystemFactory {
  return (k): Subsystem => ({ name, implementation: "replaced by the caller (ops only)", provides: key, ops: make(k, spec), initcalls: [] });
}

export class Machine {
  readonly k: Kernel;
  readonly assembly: Assembly;
  readonly dmesg: string[] = [];
  /** The hotplug task, once init has started user space (null without script or stress). */
  cpuhp: CpuhpStress | null = null;
  /** The scenario's rt-app workloads, once init has started them. */
  readonly rt_app: RtAppRun[] = [];
  private hang: HangInfo | null = null;
  private stopped_early: string | null = null;

  constructor(
    readonly spec: ScenarioSpec,
    readonly opts: MachineOptions = {},
  ) {
    const engine = new Engine();
    const trace = new TraceBus(() => engine.now);
    for (const s of opts.trace ?? []) trace.attach(s);
    const root = new Prng(spec.seed);
    this.assembly = assemble_kernel({
      engine,
      trace,
      config: { hz: spec.kernel.hz },
      prng: (name) => root.split(name),
      printk: (text) => this.printk(text),
      subsystems: this.factories(),
    });
    this.k = this.assembly.k;
    start_kernel(this.assembly, () => this.user_space());
    // Boot takes no simulated time: every step of it runs at t = 0. Boot is
    // sequential on the boot CPU, so its ties are not explored.
    engine.run(0);
    const order = spec.tie_order ?? [];
    engine.tie_policy = opts.tie_policy ?? (order.length > 0 ? replay_ties(spec, order) : null);
  }

  /** The kernel version's assembly, with the caller's replacements and additions. */
  private factories(): SubsystemFactory[] {
    const o = this.opts;
    const chosen = kernel_assembly(this.spec, {
      on_hung: (tasks, now) => this.on_hung(tasks, now, "khungtaskd"),
    });
    for (const [opt, [name, key]] of Object.entries(OPS_KEYS) as [keyof typeof OPS_KEYS, [SubsystemName, ServiceKey<unknown>]][]) {
      const make = o[opt] as OpsFactory<unknown> | undefined;
      if (make) chosen.set(name, ops_only(name, key, make, this.spec));
    }
    for (const [name, f] of Object.entries(o.subsystems ?? {}) as [SubsystemName, SubsystemFactory | undefined][]) {
      if (f) chosen.set(name, f);
    }
    if (o.decorate) for (const [name, f] of chosen) chosen.set(name, o.decorate(name, f));
    return [...chosen.values(), ...(o.extra_subsystems ?? [])];
  }

  printk(text: string): void {
    this.dmesg.push(dmesg_line(this.k.engine.now, text));
  }

  /** What init starts once the initcalls are done: drivers' notifiers, the workload, the hotplug task. */
  private *user_space(): KernelCall<number> {
    const k = this.k;
    for (const n of this.spec.notifiers) k.hotplug.register_cpu_notifier(scenario_notifier(k, n));
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

  private on_hung(tasks: readonly TaskStruct[], now: number, by: HangDetector): void {
    if (this.hang) return;
    this.hang = { detected_at_ns: now, detected_by: by, hung: [...tasks] };
    this.k.engine.stop("hang");
  }

  /** Run to the scenario's duration, or to its first hang or bug. */
  run(opts: RunOptions = {}): RunResult {
    const t0 = wall_ms();
    const engine = this.k.engine;
    const end = this.spec.duration_ns;
    const max_events = opts.max_events ?? Number.POSITIVE_INFINITY;
    // Slices of simulated time let long runs report progress and honour a wall-time bound.
    const slice = Math.max(NSEC_PER_SEC, Math.floor(end / 200));
    // Event chunks bound how long a dense stretch can go without a wall-time check.
    const CHUNK = 200_000;
    while (!engine.bug && !this.hang && engine.stop_reason === null) {
      const until = Math.min(end, engine.now + slice);
      const r = engine.run(until, Math.min(max_events, engine.events + CHUNK));
      opts.on_progress?.(engine.now);
      if (r === "until" && !engine.bug && !this.hang) this.watchdog();
      if (r === "event_limit" && engine.events >= max_events) {
        this.stopped_early = `event limit ${max_events} reached`;
        break;
      }
      if ((r !== "until" && r !== "event_limit") || engine.now >= end) break;
      if (opts.max_wall_ms !== undefined && wall_ms() - t0 > opts.max_wall_ms) {
        this.stopped_early = `wall-time limit ${opts.max_wall_ms} ms reached`;
        break;
      }
    }
    if (this.stopped_early) this.printk(`ksim: run stopped early: ${this.stopped_early}`);
    return this.report(wall_ms() - t0);
  }

  /**
   * ksim's own watchdog, outside the model (it changes nothing in it): the
   * person at the console who sees the machine stuck although khungtaskd
   * said nothing. khungtaskd can itself be stranded: its sleep is a timer
   * on the wheel of the CPU it last ran on, and if that CPU died in the very
   * cpu_down that hangs, its timer waits for timer_cpu_notify(CPU_DEAD),
   * which that hang keeps from running. A task in D
   * for more than twice the hung-task timeout, without a context switch,
   * whose wait-for chain closes a cycle, is a hang.
   */
  private watchdog(): void {
    if (this.rt_app_watchdog()) return;
    const secs = this.spec.kernel.hung_task_timeout_secs;
    const timeout = secs * NSEC_PER_SEC;
    if (timeout <= 0) return;
    const k = this.k;
    const now = k.engine.now;
    // No task can have been blocked that long yet: skip the walk.
    if (now <= 2 * timeout) return;
    for (const p of k.sched.for_each_process()) {
      if (p.state !== "D" || now - p.blocked_since <= 2 * timeout) continue;
      const chain = k.waitfor.follow({ kind: "task", task: p });
      if (chain.cycle.length === 0) continue;
      const khungtaskd = k.has_service(HUNG_TASK) ? k.service(HUNG_TASK).task : null;
      const why = khungtaskd ? k.waitfor.follow({ kind: "task", task: khungtaskd }) : null;
      const stuck = why?.path.map((e) => wait_node_name(e.to)).join(" -> ");
      this.printk(
        `ksim watchdog: ${p.comm}:${p.pid} blocked in D for more than ${2 * secs} seconds in a wait-for cycle; ` +
          (stuck ? `khungtaskd could not report it: it waits for ${stuck}` : "khungtaskd did not report it"),
      );
      this.hang = { detected_at_ns: now, detected_by: "watchdog", hung: [p] };
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
      this.hang = { detected_at_ns: this.k.engine.now, detected_by: "watchdog", hung: [d.task] };
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

  /** The first hung task's wait-for cycle; else the longest chain of waits from a hung task. */
  private cycle(): { cycle: CycleEdge[]; chain?: CycleEdge[] } {
    let longest: WaitEdge[] = [];
    for (const t of this.hang?.hung ?? []) {
      const chain = this.k.waitfor.follow({ kind: "task", task: t });
      if (chain.cycle.length > 0) return { cycle: chain.cycle.map(cycle_edge) };
      if (chain.path.length > longest.length) longest = chain.path;
    }
    return longest.length > 0 ? { cycle: [], chain: longest.map(cycle_edge) } : { cycle: [] };
  }

  report(wall_ms: number): RunResult {
    const k = this.k;
    const sched = k.sched;
    const engine = k.engine;
    const r: RunResult = {
      ksim: VERSION,
      scenario: this.spec.name,
      seed: this.spec.seed,
      outcome: this.outcome,
      simulated_ns: engine.now,
      events: engine.events,
      wall_ms: Math.round(wall_ms * 1000) / 1000,
      kernel: {
        version: kernel_version(this.spec),
        subsystems: this.assembly.subsystems.map((s) => ({ name: s.name, implementation: s.implementation })),
      },
      stopped_early: this.stopped_early,
      cpus: [],
      tasks: [...sched.for_each_process()].map((p) => ({
        pid: p.pid,
        comm: p.comm,
        policy: p.policy,
        priority: rt_policy(p.policy) ? p.rt_priority : PRIO_TO_NICE(p.static_prio),
        cpu: p.cpu,
        state: p.state,
        runtime_ns: sched.task_sched_runtime(p),
      })),
      hotplug: k.hotplug.log.map(({ pid: _pid, ...op }) => ({ ...op, notifications: [...op.notifications] })),
      stats: {
        context_switches: sched.stats.context_switches,
        rt_throttles: sched.stats.rt_throttles,
        timer_migrations: k.hrtimer.stats.migrated,
        hotplug_ops: k.hotplug.nr_ops,
      },
      dmesg: [...this.dmesg],
    };
    for (let cpu = 0; cpu < sched.nr_cpu_ids; cpu++) {
      const rt = sched.rt_rq_stats(cpu);
      r.cpus.push({ cpu, online: k.hotplug.cpu_online(cpu), rt_throttled: rt.rt_throttled, rt_time_ns: rt.rt_time });
    }
    if (this.hang) {
      const hung_tasks: HungTask[] = this.hang.hung.map((p) => ({
        pid: p.pid,
        comm: p.comm,
        state: p.state,
        blocked_since_ns: p.blocked_since,
        in: p.wchan ?? "schedule",
      }));
      r.hang = { detected_at_ns: this.hang.detected_at_ns, detected_by: this.hang.detected_by, hung_tasks, ...this.cycle() };
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

function cycle_edge(e: WaitEdge): CycleEdge {
  return { node: wait_node_name(e.from), waits_for: wait_node_name(e.to), because: e.because, from: wait_node_info(e.from), to: wait_node_info(e.to) };
}
