/**
 * Validation of an rt-app file into an RtAppWorkload, following
 * src/rt-app_parse_config.c: parse_global, parse_tasks, parse_task_data,
 * parse_task_phase_data, parse_sched_data and parse_task_event_data. What
 * Linux 2.6.34 lacks, or ksim does not model, is refused with one line
 * naming the field and why.
 */
import { get, is_object, JsonSyntaxError, parse_json, type JsonObject, type JsonValue } from "./json.js";
import type { RtAppEvent, RtAppIgnoredKey, RtAppPhase, RtAppPolicy, RtAppSched, RtAppThread, RtAppWorkload } from "./types.js";

/** A bad or refused rt-app file: `<source>: <path>: <detail>`. */
export class RtAppError extends Error {
  override readonly name = "RtAppError";
  constructor(
    readonly source: string,
    readonly path: string,
    readonly detail: string,
  ) {
    super(path ? `${source}: ${path}: ${detail}` : `${source}: ${detail}`);
  }
}

/** How many threads (instances summed) one workload may create. */
export const MAX_THREADS = 1024;
/** How many events one phase may hold. */
export const MAX_EVENTS = 4096;
/** Highest CPU number an rt-app file may name (ksim's machine has at most 256). */
export const MAX_CPU = 255;
/** ksim's cost of `mem` and `iorun`: ns of CPU work per byte written. */
export const MEM_NS_PER_BYTE = 1;
/** With a calibration CPU ("CPU0"), ksim's CPUs run one calibration loop per microsecond. */
export const CALIBRATED_NS_PER_LOOP = 1000;

const DEFAULT_THREAD_PRIORITY = 10;
const DEFAULT_THREAD_NICE = 0;

/** Event keys are matched by prefix, in this order, as obj_is_event() does. */
const EVENT_PREFIXES = [
  "lock", "unlock", "wait", "signal", "broad", "sync", "sleep", "runtime", "run", "timer",
  "suspend", "resume", "memrun", "mem", "iorun", "yield", "barrier", "fork", "sem_post", "sem_wait",
] as const;

const DEADLINE = "SCHED_DEADLINE is not in Linux 2.6.34 (it came with 3.14)";
/** Keys of thread and phase objects that 2.6.34 (or ksim) cannot honour, and why. */
const REFUSED_KEYS: Readonly<Record<string, string>> = {
  "dl-runtime": DEADLINE,
  "dl-period": DEADLINE,
  "dl-deadline": DEADLINE,
  util_min: "utilization clamping is not in Linux 2.6.34 (it came with 5.3)",
  util_max: "utilization clamping is not in Linux 2.6.34 (it came with 5.3)",
  taskgroup: "rt-app's taskgroups are cgroup v2 cpu groups, not in Linux 2.6.34 (and ksim models no group scheduling)",
  nodes_membind: "NUMA memory binding: ksim's machine has no NUMA nodes",
  membind_nodes: "NUMA memory binding: ksim's machine has no NUMA nodes",
};

const GLOBAL_KEYS = new Set([
  "duration", "calibration", "default_policy", "pi_enabled", "lock_pages", "logdir", "log_basename",
  "log_size", "ftrace", "gnuplot", "io_device", "mem_buffer_size", "cumulative_slack",
]);

/** Parses and validates the text of an rt-app file. */
export function parse_rt_app(text: string, source: string): RtAppWorkload {
  let doc: JsonValue;
  try {
    doc = parse_json(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw new RtAppError(source, "", `${e.message} (rt-app JSON)`);
    throw e;
  }
  return validate_rt_app(doc, source);
}

/** True for a document that is an rt-app file: a top-level `tasks` object of thread objects. */
export function is_rt_app_document(doc: JsonValue): boolean {
  if (!is_object(doc)) return false;
  const tasks = get(doc, "tasks");
  return is_object(tasks) && tasks.entries.every(([, v]) => is_object(v));
}

/** The smallest machine that has every CPU the workload names (at least 1). */
export function min_cpus(w: RtAppWorkload): number {
  let max = 0;
  for (const t of w.threads) {
    for (const c of t.cpus ?? []) max = Math.max(max, c + 1);
    for (const p of t.phases) for (const c of p.cpus ?? []) max = Math.max(max, c + 1);
  }
  return Math.max(1, max);
}

export function validate_rt_app(doc: JsonValue, source: string): RtAppWorkload {
  const v: Validator = new Validator(source);
  if (!is_object(doc)) v.fail("", "expected an object at the top level with a `tasks` object");
  for (const [key] of doc.entries) {
    if (key !== "tasks" && key !== "global" && key !== "resources") v.ignore(key, "rt-app reads only tasks, global and resources");
  }
  const global = get(doc, "global") ?? { kind: "object", entries: [] };
  if (!is_object(global)) v.fail("global", "expected an object");
  const g = v.global(global);
  const tasks = get(doc, "tasks");
  if (tasks === undefined) v.fail("tasks", "required: the threads of the workload");
  if (!is_object(tasks) || tasks.entries.length === 0) return v.fail("tasks", "expected an object of at least one thread object");
  const threads = tasks.entries.map(([name, t]) => v.thread(name, t, g.default_policy));
  v.check_references(threads);
  return {
    source,
    duration_s: g.duration_s,
    ns_per_loop: g.ns_per_loop,
    cumulative_slack: g.cumulative_slack,
    log_basename: g.log_basename,
    threads,
    barriers: [...v.barriers],
    timer_modes: [...v.timer_modes],
    ignored: v.ignored,
  };
}

interface GlobalOptions {
  duration_s: number;
  ns_per_loop: number | null;
  cumulative_slack: boolean;
  log_basename: string;
  default_policy: RtAppPolicy;
}

class Validator {
  readonly barriers = new Map<string, number>();
  readonly timer_modes = new Map<string, boolean>();
  private ns_per_loop = CALIBRATED_NS_PER_LOOP;
  private nr_threads = 0;
  private readonly forks: [string, string][] = [];

  constructor(private readonly source: string) {}

  /** Keys rt-app does not read, which it passes over without a word: kept to warn of. */
  readonly ignored: RtAppIgnoredKey[] = [];

  fail(path: string, detail: string): never {
    throw new RtAppError(this.source, path, detail);
  }

  /** rt-app looks its keys up by name and skips the rest (a typo too): so does ksim, saying so. */
  ignore(path: string, why: string): void {
    this.ignored.push({ path, why });
  }

  int(path: string, v: JsonValue | undefined, min: number, max: number): number {
    if (typeof v !== "number" || !Number.isInteger(v)) this.fail(path, `expected an integer, got ${show(v)}`);
    if (v < min || v > max) this.fail(path, `expected ${min}..${max}, got ${v}`);
    return v;
  }

  str(path: string, v: JsonValue | undefined): string {
    if (typeof v !== "string") this.fail(path, `expected a string, got ${show(v)}`);
    return v;
  }

  bool(path: string, v: JsonValue | undefined): boolean {
    if (typeof v !== "boolean") this.fail(path, `expected true or false, got ${show(v)}`);
    return v;
  }

  global(g: JsonObject): GlobalOptions {
    for (const [key] of g.entries) if (!GLOBAL_KEYS.has(key)) this.ignore(`global.${key}`, "not a global option rt-app reads");
    const pi = get(g, "pi_enabled");
    if (pi !== undefined && this.bool("global.pi_enabled", pi)) {
      this.fail("global.pi_enabled", "priority-inheritance mutexes (PI futexes, rt_mutex) are not modelled by ksim");
    }
    const dur = get(g, "duration");
    const cal = get(g, "calibration");
    let ns_per_loop: number | null = null;
    if (typeof cal === "number") ns_per_loop = this.int("global.calibration", cal, 1, 1_000_000_000);
    else if (cal !== undefined && !/^CPU\d+$/.test(this.str("global.calibration", cal))) {
      this.fail("global.calibration", `expected ns per loop or "CPU<n>", got ${show(cal)}`);
    }
    this.ns_per_loop = ns_per_loop ?? CALIBRATED_NS_PER_LOOP;
    const slack = get(g, "cumulative_slack");
    const base = get(g, "log_basename");
    const policy = get(g, "default_policy");
    return {
      duration_s: dur === undefined ? -1 : dur === -1 ? -1 : this.int("global.duration", dur, 1, 100 * 86400),
      ns_per_loop,
      cumulative_slack: slack === undefined ? false : this.bool("global.cumulative_slack", slack),
      log_basename: base === undefined ? "rt-app" : this.str("global.log_basename", base),
      default_policy: policy === undefined ? "SCHED_OTHER" : this.policy("global.default_policy", policy),
    };
  }

  policy(path: string, v: JsonValue): RtAppPolicy {
    const s = this.str(path, v);
    switch (s) {
      case "SCHED_OTHER":
      case "SCHED_FIFO":
      case "SCHED_RR":
      case "SCHED_IDLE":
        return s;
      case "SCHED_DEADLINE":
        return this.fail(path, DEADLINE);
      case "SCHED_BATCH":
        return this.fail(path, "SCHED_BATCH is in Linux 2.6.34, but ksim's scheduler does not model it");
      default:
        return this.fail(path, `expected SCHED_OTHER, SCHED_FIFO, SCHED_RR or SCHED_IDLE, got ${show(v)}`);
    }
  }

  /** parse_sched_data(): policy and priority of a thread or phase. */
  sched(path: string, o: JsonObject, current: RtAppPolicy): RtAppSched | null {
    const pv = get(o, "policy");
    const prio = get(o, "priority");
    if (pv === undefined && prio === undefined) return null;
    const policy = pv === undefined ? null : this.policy(`${path}.policy`, pv);
    const eff = policy ?? current;
    const rt = eff === "SCHED_FIFO" || eff === "SCHED_RR";
    const priority = prio === undefined ? null : rt ? this.int(`${path}.priority`, prio, 1, 99) : this.int(`${path}.priority`, prio, -20, 19);
    return { policy, priority };
  }

  cpus(path: string, v: JsonValue | undefined): number[] | null {
    if (v === undefined) return null;
    if (!Array.isArray(v) || v.length === 0) this.fail(path, `expected a list of CPU numbers, got ${show(v)}`);
    return [...new Set(v.map((c, i) => this.int(`${path}[${i}]`, c, 0, MAX_CPU)))].sort((a, b) => a - b);
  }

  refuse_keys(path: string, o: JsonObject): void {
    for (const [key] of o.entries) {
      const why = REFUSED_KEYS[key];
      if (why) this.fail(`${path}.${key}`, why);
    }
  }

  thread(name: string, t: JsonValue, default_policy: RtAppPolicy): RtAppThread {
    const path = `tasks.${name}`;
    if (!is_object(t)) this.fail(path, `expected a thread object, got ${show(t)}`);
    this.refuse_keys(path, t);
    const phases_v = get(t, "phases");
    const allowed = new Set(["instance", "delay", "loop", "phases", "cpus", "policy", "priority"]);
    for (const [key] of t.entries) {
      if (allowed.has(key)) continue;
      if (phases_v === undefined && (event_prefix(key) !== null || key === "loop")) continue;
      if (key === "runtime" || key === "period" || key === "deadline") this.fail(`${path}.${key}`, `${DEADLINE} (rt-app's legacy thread-level grammar)`);
      // A thread without phases is its own phase, which passes over the rest.
      if (phases_v !== undefined) this.ignore(`${path}.${key}`, event_prefix(key) !== null ? "a thread with phases has its events in them" : "not a thread property");
    }
    const instance = get(t, "instance") === undefined ? 1 : this.int(`${path}.instance`, get(t, "instance"), 0, MAX_THREADS);
    this.nr_threads += instance;
    if (this.nr_threads > MAX_THREADS) this.fail(`${path}.instance`, `more than ${MAX_THREADS} threads in the workload`);
    const pv = get(t, "policy");
    const policy = pv === undefined ? default_policy : this.policy(`${path}.policy`, pv);
    const rt = policy === "SCHED_FIFO" || policy === "SCHED_RR";
    const sched = this.sched(path, t, policy);
    const priority = sched?.priority ?? (rt ? DEFAULT_THREAD_PRIORITY : DEFAULT_THREAD_NICE);
    const ctx = { thread: name, instance, policy };
    let phases: RtAppPhase[];
    let loop: number;
    if (phases_v !== undefined) {
      if (!is_object(phases_v) || phases_v.entries.length === 0) this.fail(`${path}.phases`, "expected an object of at least one phase object");
      phases = phases_v.entries.map(([pn, pv2]) => this.phase(`${path}.phases.${pn}`, pn, pv2, ctx));
      loop = get(t, "loop") === undefined ? -1 : this.loop(`${path}.loop`, get(t, "loop"));
    } else {
      // One phase made of the thread object itself; its scheduling is the thread's.
      const only = this.phase(path, "phase0", t, ctx, ["instance", "delay"]);
      phases = [{ ...only, cpus: null, sched: null }];
      loop = get(t, "loop") === undefined ? -1 : 1;
    }
    const delay = get(t, "delay");
    return {
      name,
      instance,
      delay_us: delay === undefined ? 0 : this.int(`${path}.delay`, delay, 0, 100 * 86400 * 1_000_000),
      loop,
      cpus: this.cpus(`${path}.cpus`, get(t, "cpus")),
      policy,
      priority,
      phases,
    };
  }

  loop(path: string, v: JsonValue | undefined): number {
    const n = this.int(path, v, -1, 1_000_000_000);
    if (n === 0) this.fail(path, "expected -1 (forever) or a positive count, got 0");
    return n;
  }

  /** parse_task_phase_data(); `extra` are the thread's keys when the thread is its own phase. */
  phase(path: string, name: string, o: JsonValue, ctx: EventContext, extra: readonly string[] = []): RtAppPhase {
    if (!is_object(o)) this.fail(path, `expected a phase object, got ${show(o)}`);
    this.refuse_keys(path, o);
    const phase_keys = new Set(["loop", "cpus", "policy", "priority"]);
    const events: RtAppEvent[] = [];
    for (const [key, v] of o.entries) {
      const prefix = event_prefix(key);
      if (prefix !== null) events.push(this.event(`${path}.${key}`, key, prefix, v, ctx));
      else if (!phase_keys.has(key) && !extra.includes(key)) this.ignore(`${path}.${key}`, extra.length > 0 ? "not a thread property or an event" : "not a phase property or an event");
      if (events.length > MAX_EVENTS) this.fail(path, `more than ${MAX_EVENTS} events in one phase`);
    }
    if (events.length === 0) this.fail(path, "no events: a phase must have at least one (run, sleep, timer, ...)");
    const loop = get(o, "loop");
    const sched = this.sched(path, o, ctx.policy);
    if (sched?.policy) ctx.policy = sched.policy;
    return { name, loop: loop === undefined ? 1 : this.loop(`${path}.loop`, loop), events, cpus: this.cpus(`${path}.cpus`, get(o, "cpus")), sched };
  }

  event(path: string, key: string, prefix: EventPrefix, v: JsonValue, ctx: EventContext): RtAppEvent {
    const us = () => this.int(path, v, 0, 100 * 86400 * 1_000_000);
    switch (prefix) {
      case "run": {
        const t = us();
        const loops = Math.floor((t * 1000) / this.ns_per_loop);
        return { kind: "run", key, ns: loops * this.ns_per_loop, c_us: t, loops };
      }
      case "runtime": {
        const t = us();
        return { kind: "run", key, ns: t * 1000, c_us: t, loops: Math.floor((t * 1000) / this.ns_per_loop) };
      }
      case "mem":
      case "iorun":
        return { kind: "run", key, ns: this.int(path, v, 0, 1 << 30) * MEM_NS_PER_BYTE, c_us: 0, loops: 0 };
      case "sleep":
        return { kind: "sleep", key, us: us() };
      case "timer":
        return this.timer(path, key, v, ctx);
      case "lock":
      case "unlock":
        return { kind: prefix, key, mutex: this.str(path, v) };
      case "signal":
        return { kind: "signal", key, cond: this.str(path, v) };
      case "broad":
        return { kind: "broadcast", key, cond: this.str(path, v) };
      case "wait":
      case "sync":
        return this.cond_wait(path, key, prefix, v);
      case "suspend":
        return { kind: "suspend", key, cond: ctx.thread };
      case "resume":
        return { kind: "resume", key, cond: this.str(path, v) };
      case "barrier":
        return this.barrier(path, key, v, ctx);
      case "yield":
        return { kind: "yield", key };
      case "fork":
        this.forks.push([path, this.str(path, v)]);
        return { kind: "fork", key, thread: this.str(path, v) };
      case "sem_post":
      case "sem_wait":
        return { kind: prefix, key, sem: this.str(path, v) };
      case "memrun":
        return this.fail(path, "memrun (cache-level memory access patterns) is not modelled by ksim; use mem or run");
    }
  }

  timer(path: string, key: string, v: JsonValue, ctx: EventContext): RtAppEvent {
    if (!is_object(v)) this.fail(path, `expected { "ref": ..., "period": ... }, got ${show(v)}`);
    for (const [k] of v.entries) if (k !== "ref" && k !== "period" && k !== "mode") this.ignore(`${path}.${k}`, "a timer has ref, period and mode");
    const ref = get(v, "ref") === undefined ? "unknown" : this.str(`${path}.ref`, get(v, "ref"));
    const period_us = get(v, "period") === undefined ? 0 : this.int(`${path}.period`, get(v, "period"), 0, 100 * 86400 * 1_000_000);
    const unique = ref.startsWith("unique");
    const mode = get(v, "mode");
    const m = mode === undefined ? "relative" : this.str(`${path}.mode`, mode);
    if (m !== "relative" && m !== "absolute") this.fail(`${path}.mode`, `expected "relative" or "absolute", got ${show(mode)}`);
    this.timer_modes.set(unique ? `${ctx.thread}/${ref}` : ref, m === "absolute");
    return { kind: "timer", key, ref, unique, period_us };
  }

  cond_wait(path: string, key: string, kind: "wait" | "sync", v: JsonValue): RtAppEvent {
    if (!is_object(v)) this.fail(path, `expected { "ref": <condition>, "mutex": <mutex> }, got ${show(v)}`);
    for (const [k] of v.entries) if (k !== "ref" && k !== "mutex") this.ignore(`${path}.${k}`, "a wait has ref and mutex");
    const cond = get(v, "ref") === undefined ? "unknown" : this.str(`${path}.ref`, get(v, "ref"));
    const mutex = get(v, "mutex") === undefined ? "unknown" : this.str(`${path}.mutex`, get(v, "mutex"));
    return { kind, key, cond, mutex };
  }

  barrier(path: string, key: string, v: JsonValue, ctx: EventContext): RtAppEvent {
    const name = this.str(path, v);
    // Every use counts the thread's instances, as parse_task_event_data does.
    this.barriers.set(name, (this.barriers.get(name) ?? 0) + ctx.instance);
    return { kind: "barrier", key, barrier: name };
  }

  check_references(threads: readonly RtAppThread[]): void {
    for (const [path, target] of this.forks) {
      if (!threads.some((t) => t.name === target)) this.fail(path, `fork of ${JSON.stringify(target)}: no such thread in tasks`);
    }
  }
}

interface EventContext {
  readonly thread: string;
  readonly instance: number;
  policy: RtAppPolicy;
}

type EventPrefix = (typeof EVENT_PREFIXES)[number];

function event_prefix(key: string): EventPrefix | null {
  for (const p of EVENT_PREFIXES) if (key.startsWith(p)) return p;
  return null;
}

function show(v: JsonValue | undefined): string {
  if (v === undefined) return "nothing";
  if (is_object(v)) return "an object";
  if (Array.isArray(v)) return "a list";
  return JSON.stringify(v);
}
