/**
 * @ksim/core/testing: a small machine for testing one subsystem alone. The
 * reference executor schedules by priority only (no classes, no bandwidth),
 * and the fakes stand in for the hotplug and stop_machine subsystems.
 */
import { BUG } from "../bug.js";
import { LocalTimerIrqs, type LocalTimerDevice } from "../clockchips.js";
import { exec_context } from "../context.js";
import { CpuMask } from "../cpumask.js";
import type { KernelCall } from "../effects.js";
import { run_atomic } from "../context.js";
import { Engine } from "../engine.js";
import type { CpuExec} from "../executor.js";
import { ProcessExecutor } from "../executor.js";
import type { HrtimerOps } from "../hrtimer.js";
import type { CpuHotplugOps, HotplugOpRecord } from "../cpu.js";
import type { Kernel, ServiceKey } from "../kernel.js";
import type { KthreadOps } from "../kthread.js";
import { NOTIFY_STOP_MASK, type NotifierBlock } from "../notifier.js";
import type { StopMachineOps } from "../stop_machine.js";
import { Prng } from "../prng.js";
import type { TaskSpec, TaskStruct } from "../task.js";
import { TraceBus, type TraceRecord } from "../trace.js";
import { WaitForGraph } from "../waitfor.js";

/**
 * Strict priority, FIFO among equals, preemption by a strictly higher
 * priority; every class alike. Enough to drive blocking, waking and
 * sleeping the way the real scheduler does, in tests of other subsystems.
 */
export class ReferenceExecutor extends ProcessExecutor {
  private readonly queues: TaskStruct[][] = [];

  constructor(
    engine: Engine,
    trace: TraceBus,
    nr_cpus: number,
    private readonly online: (cpu: number) => boolean = () => true,
  ) {
    super(engine, trace, nr_cpus);
    for (let i = 0; i < nr_cpus; i++) this.queues.push([]);
  }

  protected cpu_online(cpu: number): boolean {
    return this.online(cpu);
  }

  private q(rq: CpuExec): TaskStruct[] {
    return this.queues[rq.cpu]!;
  }

  protected enqueue_task(rq: CpuExec, p: TaskStruct): void {
    const q = this.q(rq);
    let i = q.length;
    while (i > 0 && q[i - 1]!.prio > p.prio) i--;
    q.splice(i, 0, p);
  }

  protected dequeue_task(rq: CpuExec, p: TaskStruct): void {
    const q = this.q(rq);
    const i = q.indexOf(p);
    if (i < 0) BUG(`dequeue of ${p.name}: not on CPU ${rq.cpu}'s queue`);
    q.splice(i, 1);
  }

  protected pick_next_task(rq: CpuExec): TaskStruct | null {
    if (!this.online(rq.cpu)) return null;
    return this.q(rq)[0] ?? null;
  }

  protected put_prev_task(): void {}

  protected yield_task(rq: CpuExec, p: TaskStruct): void {
    this.dequeue_task(rq, p);
    const q = this.q(rq);
    let i = q.length;
    while (i > 0 && q[i - 1]!.prio > p.prio) i--;
    q.splice(i, 0, p);
  }

  protected check_preempt_curr(rq: CpuExec, p: TaskStruct): void {
    if (rq.curr === rq.idle || p.prio < rq.curr.prio) this.resched_curr(rq);
  }

  protected select_task_rq(p: TaskStruct): number {
    if (p.cpus_allowed.test_cpu(p.cpu) && this.online(p.cpu)) return p.cpu;
    for (let c = p.cpus_allowed.first(); c >= 0; c = p.cpus_allowed.next(c + 1)) if (this.online(c)) return c;
    for (let c = 0; c < this.nr_cpu_ids; c++) {
      if (this.online(c)) {
        p.cpus_allowed = CpuMask.first_n(this.nr_cpu_ids);
        return c;
      }
    }
    return p.cpu;
  }

  /** Tasks queued on `cpu`, curr included, best first. */
  queued(cpu: number): readonly TaskStruct[] {
    return this.queues[cpu]!;
  }
}

/**
 * A stand-in for @ksim/cpu-hotplug: the masks, a notifier chain in priority
 * order, and a call_chain() that runs it as notifier_call_chain does.
 * cpu_up/cpu_down only flip the masks around the chain, without the
 * kernel's full sequence.
 */
export class FakeHotplug implements CpuHotplugOps {
  readonly cpu_online_mask: CpuMask;
  readonly cpu_active_mask: CpuMask;
  readonly cpu_present_mask: CpuMask;
  readonly chain: NotifierBlock[] = [];
  readonly log: HotplugOpRecord[] = [];
  nr_ops = 0;
  /** Every notifier call made through call_chain: [name, action, cpu, ret]. */
  readonly calls: [string, number, number, number][] = [];

  /** Masked while a CPU is offline: set_online() masks and unmasks it. */
  readonly local_timers: LocalTimerIrqs;

  constructor(nr_cpus: number) {
    this.cpu_online_mask = CpuMask.first_n(nr_cpus);
    this.cpu_active_mask = CpuMask.first_n(nr_cpus);
    this.cpu_present_mask = CpuMask.first_n(nr_cpus);
    this.local_timers = new LocalTimerIrqs(nr_cpus, () => true);
  }

  /** No lock: the fake's operations do not overlap. */
  *cpu_maps_update_begin(): KernelCall {}

  cpu_maps_update_done(): void {}

  local_timer_masked(cpu: number): boolean {
    return this.local_timers.is_masked(cpu);
  }

  register_local_timer_device(dev: LocalTimerDevice): void {
    this.local_timers.register(dev);
  }

  register_cpu_notifier(nb: NotifierBlock): number {
    let i = 0;
    while (i < this.chain.length && this.chain[i]!.priority >= nb.priority) i++;
    this.chain.splice(i, 0, nb);
    return 0;
  }

  unregister_cpu_notifier(nb: NotifierBlock): void {
    const i = this.chain.indexOf(nb);
    if (i >= 0) this.chain.splice(i, 1);
  }

  cpu_online(cpu: number): boolean {
    return this.cpu_online_mask.test_cpu(cpu);
  }

  cpu_active(cpu: number): boolean {
    return this.cpu_active_mask.test_cpu(cpu);
  }

  num_online_cpus(): number {
    return this.cpu_online_mask.weight();
  }

  set_online(cpu: number, online: boolean): void {
    if (online) {
      this.local_timers.set_masked(cpu, false);
      this.cpu_online_mask.set_cpu(cpu);
      this.cpu_active_mask.set_cpu(cpu);
    } else {
      this.local_timers.set_masked(cpu, true);
      this.cpu_online_mask.clear_cpu(cpu);
      this.cpu_active_mask.clear_cpu(cpu);
    }
  }

  /** Runs the chain for `action` in the caller's context; the last return value. */
  *call_chain(action: number, cpu: number): KernelCall<number> {
    let ret = 0;
    for (const nb of [...this.chain]) {
      ret = yield* nb.notifier_call(nb, action, cpu);
      this.calls.push([nb.name, action, cpu, ret]);
      if (ret & NOTIFY_STOP_MASK) break;
    }
    return ret;
  }

  /** Runs the chain with interrupts off (CPU_DYING, CPU_STARTING). */
  call_chain_atomic(action: number, cpu: number): number {
    return run_atomic(this.call_chain(action, cpu), "cpu notifier chain");
  }

  *smp_init(): KernelCall<number> {
    let up = 0;
    for (let cpu = 0; cpu < this.cpu_present_mask.weight(); cpu++) {
      if (!this.cpu_online(cpu) && (yield* this.cpu_up(cpu)) === 0) up++;
    }
    return up;
  }

  *cpu_up(cpu: number): KernelCall<number> {
    this.nr_ops++;
    yield* this.call_chain(0x3, cpu);
    this.set_online(cpu, true);
    yield* this.call_chain(0x2, cpu);
    return 0;
  }

  *cpu_down(cpu: number): KernelCall<number> {
    this.nr_ops++;
    yield* this.call_chain(0x5, cpu);
    this.set_online(cpu, false);
    yield* this.call_chain(0x7, cpu);
    yield* this.call_chain(0x9, cpu);
    return 0;
  }
}

/** stop_machine that runs fn at once, with interrupts off, on the target CPU. */
export class FakeStopMachine implements StopMachineOps {
  *stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number> {
    const ctx = exec_context();
    const saved = ctx.cpu;
    ctx.cpu = cpus.first();
    ctx.atomic++;
    try {
      return fn();
    } finally {
      ctx.atomic--;
      ctx.cpu = saved;
    }
  }
}

function missing(name: string): never {
  return BUG(`this test kernel has no ${name}; give one to make_test_kernel`);
}

/** A Kernel whose unset services fail loudly when used. */
export interface TestKernel extends Kernel {
  sched: ReferenceExecutor | Kernel["sched"];
  hotplug: Kernel["hotplug"];
  hrtimer: Kernel["hrtimer"];
  kthread: Kernel["kthread"];
  stop_machine: Kernel["stop_machine"];
  /** Every trace record, when make_test_kernel({ trace: true }). */
  readonly records: TraceRecord[];
  /** Every printk line. */
  readonly dmesg: string[];
  /** Services beyond the well-known five, by key name. */
  readonly services: Map<string, unknown>;
  /** Create a task and wake it at once. */
  spawn(spec: TaskSpec): TaskStruct;
  /** Run the engine until `until` ns (default: until nothing is left). */
  run(until?: number): void;
}

/** A service, or a function that builds it from the kernel it will serve. */
export type ServiceOption<T> = T | ((k: Kernel) => T);

export interface TestKernelOptions {
  cpus?: number;
  seed?: number;
  hz?: number;
  trace?: boolean;
  hotplug?: ServiceOption<CpuHotplugOps>;
  hrtimer?: ServiceOption<HrtimerOps>;
  kthread?: ServiceOption<KthreadOps>;
  stop_machine?: ServiceOption<StopMachineOps>;
  /** Build the scheduler; default a ReferenceExecutor over the hotplug's online mask. */
  sched?: (k: Kernel) => Kernel["sched"];
}

/**
 * A kernel for unit tests: an engine, a trace bus, the wait-for graph, the
 * reference executor and a FakeHotplug, with any service replaced.
 */
export function make_test_kernel(opts: TestKernelOptions = {}): TestKernel {
  const cpus = opts.cpus ?? 2;
  const engine = new Engine();
  const trace = new TraceBus(() => engine.now);
  const records: TraceRecord[] = [];
  const dmesg: string[] = [];
  const services = new Map<string, unknown>();
  if (opts.trace) trace.attach({ write: (r) => records.push(r) });
  const seed = opts.seed ?? 1;
  const k: TestKernel = {
    engine,
    trace,
    waitfor: new WaitForGraph(),
    config: { hz: opts.hz ?? 1000 },
    prng: (name) => new Prng(seed, name),
    sched: undefined as unknown as ReferenceExecutor,
    hotplug: undefined as unknown as CpuHotplugOps,
    hrtimer: new Proxy({} as HrtimerOps, { get: () => missing("hrtimer") }),
    kthread: new Proxy({} as KthreadOps, { get: () => missing("kthread") }),
    stop_machine: new FakeStopMachine(),
    records,
    dmesg,
    services,
    printk: (text) => dmesg.push(text),
    service<T>(key: ServiceKey<T>): T {
      const well_known = (k as unknown as Record<string, unknown>)[key.name === "cpu_hotplug" ? "hotplug" : key.name];
      if (well_known !== undefined) return well_known as T;
      if (!services.has(key.name)) BUG(`this test kernel has no ${key.name}`);
      return services.get(key.name) as T;
    },
    has_service: (key) => services.has(key.name) || key.name in k,
    spawn(spec) {
      const p = k.sched.create_task(spec);
      k.sched.wake_up_new_task(p);
      return p;
    },
    run(until = Number.MAX_SAFE_INTEGER) {
      engine.run(until);
      if (engine.bug) BUG(engine.bug.message);
    },
  };
  const build = <T extends object>(o: ServiceOption<T> | undefined): T | undefined =>
    typeof o === "function" ? (o)(k) : o;
  k.hotplug = build(opts.hotplug) ?? new FakeHotplug(cpus);
  k.hrtimer = build(opts.hrtimer) ?? k.hrtimer;
  k.kthread = build(opts.kthread) ?? k.kthread;
  k.stop_machine = build(opts.stop_machine) ?? k.stop_machine;
  k.sched = opts.sched ? opts.sched(k) : new ReferenceExecutor(engine, trace, cpus, (c) => k.hotplug.cpu_online(c));
  return k;
}

export { SimpleHrtimers, SimpleKthreads } from "./simple.js";
