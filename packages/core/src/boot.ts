/**
 * The boot contract, after init/main.c: start_kernel() runs each
 * subsystem's early setup on the boot CPU, rest_init() creates init and
 * kthreadd, and kernel_init() runs the initcalls in init's process context:
 * early_initcall (do_pre_smp_initcalls), smp_init, then core .. late. Each
 * subsystem declares its initcalls and what they come after; the machine
 * only assembles and boots, knowing no subsystem's internals.
 */
import { BUG } from "./bug.js";
import { in_irq } from "./irq.js";
import type { KernelCall } from "./effects.js";
import type { Engine } from "./engine.js";
import {
  CPU_HOTPLUG,
  HRTIMER,
  KTHREAD,
  SCHED,
  STOP_MACHINE,
  type Kernel,
  type KernelConfig,
  type ServiceKey,
} from "./kernel.js";
import type { Prng } from "./prng.js";
import type { TaskStruct } from "./task.js";
import type { TraceBus } from "./trace.js";
import { WaitForGraph } from "./waitfor.js";

/** The levels, in boot order. */
export const INIT_LEVELS = [
  /** start_kernel(): the boot CPU, no task yet; plain calls. */
  "start_kernel",
  /** rest_init(): init (pid 1) exists; kthreadd is created here. Plain calls. */
  "rest_init",
  /** do_pre_smp_initcalls(): early_initcall, in init's process context. */
  "early",
  /** smp_init() and what must follow it at once (sched_init_smp). */
  "smp",
  "core",
  "postcore",
  "arch",
  "subsys",
  "fs",
  "device",
  "late",
] as const;

export type InitLevel = (typeof INIT_LEVELS)[number];

/** Levels that run in init's process context, where an initcall may block. */
export function init_level_may_block(level: InitLevel): boolean {
  return INIT_LEVELS.indexOf(level) >= INIT_LEVELS.indexOf("early");
}

export interface Initcall {
  /** The kernel function's name: "sched_init", "migration_init", "smp_init". */
  readonly name: string;
  readonly level: InitLevel;
  /** Initcalls (by name) that must run first; at an earlier level they already have. */
  readonly after?: readonly string[];
  /**
   * Initcalls that run first when the machine has them, and are no error
   * when it has not: two calls made in a fixed order by one kernel function
   * (do_basic_setup's init_workqueues, then cpuset_init_smp) but declared by
   * different subsystems, either of which a machine may leave out.
   */
  readonly after_if_present?: readonly string[];
  /** A plain call before "early"; from "early" on it may be a generator that blocks. */
  readonly fn: () => void | KernelCall<unknown>;
}

/** One subsystem of a machine: the service it provides and its initcalls. */
export interface Subsystem<T = unknown> {
  /** "sched", "hrtimer", "cpu_hotplug", ... */
  readonly name: string;
  /** Which implementation: "kernel/sched.c 2.6.34 (migration threads)". Shown in reports. */
  readonly implementation: string;
  readonly provides?: ServiceKey<T>;
  readonly ops?: T;
  readonly initcalls: readonly Initcall[];
}

/** Builds a subsystem for the kernel it will serve (which is not frozen yet). */
export type SubsystemFactory = (k: Kernel) => Subsystem<unknown>;

export interface AssemblyOptions {
  readonly engine: Engine;
  readonly trace: TraceBus;
  readonly config: KernelConfig;
  prng(name: string): Prng;
  printk(text: string): void;
  /** In boot order within a level: an earlier subsystem's initcalls run first. */
  readonly subsystems: readonly SubsystemFactory[];
}

export interface Assembly {
  readonly k: Kernel;
  readonly subsystems: readonly Subsystem[];
  /** Every initcall, in the order boot runs them. */
  readonly initcalls: readonly Initcall[];
}

/** A machine that cannot be assembled: a missing service, a duplicate, an initcall order that cannot hold. */
export class AssemblyError extends Error {
  override readonly name = "AssemblyError";
}

/** The well-known services, resolved once assembly is done: the hot path reads k.sched and k.hrtimer at nearly every event. */
interface WellKnownOps {
  sched?: Kernel["sched"] | undefined;
  hrtimer?: Kernel["hrtimer"] | undefined;
  hotplug?: Kernel["hotplug"] | undefined;
  kthread?: Kernel["kthread"] | undefined;
  stop_machine?: Kernel["stop_machine"] | undefined;
}

/**
 * The Kernel of one machine. Its getters live on the class, not on an
 * object literal: V8 keeps a literal's accessors in a pair allocated in the
 * old generation, which would hold every young machine (through the
 * getters' closures) alive across scavenges long after the machine is done.
 */
class AssembledKernel implements Kernel {
  readonly engine: Engine;
  readonly trace: TraceBus;
  readonly waitfor = new WaitForGraph();
  readonly config: KernelConfig;
  private readonly ops: WellKnownOps = {};

  constructor(
    private readonly opts: AssemblyOptions,
    private readonly services: Map<string, unknown>,
  ) {
    this.engine = opts.engine;
    this.trace = opts.trace;
    this.config = Object.freeze({ ...opts.config });
    Object.freeze(this);
  }

  resolve_well_known(): void {
    const { ops, services } = this;
    ops.sched = services.get(SCHED.name) as Kernel["sched"] | undefined;
    ops.hrtimer = services.get(HRTIMER.name) as Kernel["hrtimer"] | undefined;
    ops.hotplug = services.get(CPU_HOTPLUG.name) as Kernel["hotplug"] | undefined;
    ops.kthread = services.get(KTHREAD.name) as Kernel["kthread"] | undefined;
    ops.stop_machine = services.get(STOP_MACHINE.name) as Kernel["stop_machine"] | undefined;
  }

  prng(name: string): Prng {
    return this.opts.prng(name);
  }

  printk(text: string): void {
    this.opts.printk(text);
  }

  get sched(): Kernel["sched"] {
    return this.ops.sched ?? this.service(SCHED);
  }

  get hrtimer(): Kernel["hrtimer"] {
    return this.ops.hrtimer ?? this.service(HRTIMER);
  }

  get hotplug(): Kernel["hotplug"] {
    return this.ops.hotplug ?? this.service(CPU_HOTPLUG);
  }

  get kthread(): Kernel["kthread"] {
    return this.ops.kthread ?? this.service(KTHREAD);
  }

  get stop_machine(): Kernel["stop_machine"] {
    return this.ops.stop_machine ?? this.service(STOP_MACHINE);
  }

  service<T>(key: ServiceKey<T>): T {
    const ops = this.services.get(key.name);
    if (ops === undefined) BUG(`this machine has no ${key.name} subsystem`);
    return ops as T;
  }

  has_service(key: ServiceKey<unknown>): boolean {
    return this.services.has(key.name);
  }
}

/**
 * Builds the Kernel once from the subsystem factories and freezes it. A
 * service is looked up at use, so factories may run in any order; a
 * well-known service no subsystem provides is a BUG when first used.
 */
export function assemble_kernel(opts: AssemblyOptions): Assembly {
  const services = new Map<string, unknown>();
  const k = new AssembledKernel(opts, services);
  const subsystems: Subsystem[] = [];
  for (const make of opts.subsystems) {
    const s = make(k);
    if (s.provides) {
      if (services.has(s.provides.name)) throw new AssemblyError(`two subsystems provide ${s.provides.name}`);
      if (s.ops === undefined) throw new AssemblyError(`subsystem ${s.name} provides ${s.provides.name} but has no ops`);
      services.set(s.provides.name, s.ops);
    }
    subsystems.push(Object.freeze(s));
  }
  k.resolve_well_known();
  return Object.freeze({ k, subsystems: Object.freeze(subsystems), initcalls: Object.freeze(order_initcalls(subsystems)) });
}

/**
 * Every initcall in boot order: by level, then so that each runs after the
 * ones it names, otherwise in subsystem order and declaration order (the
 * kernel's link order).
 */
export function order_initcalls(subsystems: readonly Subsystem[]): Initcall[] {
  const all = subsystems.flatMap((s) => s.initcalls);
  // Every machine of a kernel version declares the same initcalls: reuse
  // the order found for the same names, levels and dependencies.
  const key = all.map((c) => `${c.name}@${c.level}<${(c.after ?? []).join(",")}<?${(c.after_if_present ?? []).join(",")}`).join(";");
  const known = initcall_orders.get(key);
  if (known) return known.map((i) => all[i]!);
  const out = solve_initcall_order(all);
  if (initcall_orders.size >= INITCALL_ORDERS_MAX) initcall_orders.clear();
  initcall_orders.set(key, out.map((c) => all.indexOf(c)));
  return out;
}

/** Boot orders already solved (positions into the declared list), by their declarations; bounded. */
const initcall_orders = new Map<string, readonly number[]>();
const INITCALL_ORDERS_MAX = 64;

function solve_initcall_order(all: readonly Initcall[]): Initcall[] {
  const level_of = new Map<string, number>();
  for (const c of all) {
    if (level_of.has(c.name)) throw new AssemblyError(`initcall ${c.name} is declared twice`);
    level_of.set(c.name, INIT_LEVELS.indexOf(c.level));
  }
  const out: Initcall[] = [];
  for (let lvl = 0; lvl < INIT_LEVELS.length; lvl++) {
    const pending = all.filter((c) => level_of.get(c.name) === lvl);
    const done = new Set<string>();
    while (pending.length > 0) {
      const i = pending.findIndex(
        (c) => (c.after ?? []).every((a) => ready(a, c, lvl, level_of, done)) && (c.after_if_present ?? []).every((a) => !level_of.has(a) || ready(a, c, lvl, level_of, done)),
      );
      if (i < 0) throw new AssemblyError(`initcalls ${pending.map((c) => c.name).join(", ")} wait for each other`);
      const [c] = pending.splice(i, 1);
      done.add(c!.name);
      out.push(c!);
    }
  }
  return out;
}

function ready(after: string, c: Initcall, lvl: number, level_of: ReadonlyMap<string, number>, done: ReadonlySet<string>): boolean {
  const at = level_of.get(after);
  if (at === undefined) throw new AssemblyError(`initcall ${c.name} comes after ${after}, which no subsystem declares`);
  if (at > lvl) throw new AssemblyError(`initcall ${c.name} (${c.level}) comes after ${after} (${INIT_LEVELS[at]}), a later level`);
  return at < lvl || done.has(after);
}

/** Runs one plain level's initcalls (start_kernel, rest_init). */
export function do_initcall_level(a: Assembly, level: InitLevel): void {
  if (init_level_may_block(level)) BUG(`do_initcall_level(${level}): a process-context level; use do_initcalls`);
  for (const c of a.initcalls) {
    if (c.level !== level) continue;
    const r = c.fn();
    if (r !== undefined) BUG(`initcall ${c.name} at ${level} returned a generator: it may not block there`);
  }
}

/** kernel_init()'s part: every level from "early" to "late", in init's process context. */
export function* do_initcalls(a: Assembly): KernelCall {
  for (const c of a.initcalls) {
    if (!init_level_may_block(c.level)) continue;
    const r = c.fn();
    if (r !== undefined) yield* r;
  }
}

/**
 * kernel_init(): init's body. Declared once here, not as a generator function
 * made per boot: V8 gives each generator function object its own map, in the
 * old generation, which would hold that machine alive through every scavenge.
 */
function* kernel_init(a: Assembly, user_space: () => KernelCall<number>): KernelCall<number> {
  yield* do_initcalls(a);
  return yield* user_space();
}

/**
 * start_kernel() .. rest_init(): runs the boot CPU's setup, creates init
 * (pid 1), runs rest_init (kthreadd), and wakes init, whose body runs the
 * initcalls and then `user_space` (what /sbin/init would start). Boot
 * takes no simulated time of its own; the caller runs the engine.
 */
export function start_kernel(a: Assembly, user_space: () => KernelCall<number>): TaskStruct {
  const k = a.k;
  do_initcall_level(a, "start_kernel");
  const init = k.sched.create_task({
    comm: "init",
    cpu: 0,
    threadfn: () => kernel_init(a, user_space),
  });
  do_initcall_level(a, "rest_init");
  in_irq(k.sched, 0, () => k.sched.wake_up_new_task(init));
  return init;
}
