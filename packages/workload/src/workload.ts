/**
 * The scenario's workload tasks: user processes that burn CPU (busy), run and
 * sleep in turn (cycle), or are released on a fixed grid (periodic). Each is
 * created asleep and woken at its start time from an interrupt on the first
 * CPU of its affinity, as a timer there would do.
 */
import {
  CpuMask,
  in_irq,
  EFFECT_RUN,
  EFFECT_SLEEP,
  SimEvent,
  type Kernel,
  type KernelCall,
  type Prng,
  type TaskStruct,
} from "@ksim/core";
import type { Behavior, WorkloadTask } from "@ksim/scenario";

/** A RUN / SLEEP effect owned by one task and rewritten before each yield. */
interface LenEffect<Op> {
  readonly op: Op;
  ns: number;
}

/** Length `ns` scaled by (1 + j·u), u uniform in [-1, 1): whole ns, at least 1. */
export function jitter_ns(ns: number, jitter: number, prng: Prng): number {
  if (jitter === 0) return ns;
  const u = prng.float() * 2 - 1;
  const v = Math.round(ns * (1 + jitter * u));
  return v < 1 ? 1 : v;
}

export interface WorkloadOptions {
  /** Where `spec.start_ns` counts from (default: now, i.e. the end of boot). */
  time_base_ns?: number;
}

/**
 * The first wake-up of a new task at `at`, from an interrupt on `cpu` (or
 * on the first online CPU if that one is down then), as a timer there would.
 * The task starts on that CPU: see wake_up_new_task_on().
 */
export function start_task_at(k: Kernel, p: TaskStruct, cpu: number, at: number): void {
  const ev = new SimEvent(`start/${p.comm}`, () => {
    const on = k.hotplug.cpu_online(cpu) ? cpu : k.hotplug.cpu_online_mask.first();
    in_irq(k.sched, on, () => wake_up_new_task_on(k, p, on));
  });
  k.engine.schedule(ev, at);
}

/**
 * wake_up_new_task() of a task forked by a launcher pinned to `cpu`
 * (`taskset -c cpu`), which then sets its own affinity: the child inherits
 * the launcher's one-CPU mask, so fork balancing keeps it on `cpu`, and
 * sched_setaffinity() to a mask holding that CPU moves nothing. Without
 * this, SD_BALANCE_FORK could start a task allowed on several CPUs on any
 * of them, and a scenario's task would not start where its `cpus` says.
 * When `cpu` is not in the task's mask (its first CPU was down), the fork
 * places it as the kernel does.
 */
function wake_up_new_task_on(k: Kernel, p: TaskStruct, cpu: number): void {
  const allowed = p.cpus_allowed;
  const pin = allowed.weight() > 1 && allowed.test_cpu(cpu) && k.sched.set_cpus_allowed_ptr(p, CpuMask.cpumask_of(cpu)) === 0;
  k.sched.wake_up_new_task(p);
  if (pin) k.sched.set_cpus_allowed_ptr(p, allowed);
}

/**
 * Creates the task of a workload entry, asleep, and arms its first wake-up.
 * `prng` is the task's own stream; nothing else draws from it.
 */
export function create_workload_task(k: Kernel, spec: WorkloadTask, prng: Prng, opts: WorkloadOptions = {}): TaskStruct {
  const nr = k.sched.nr_cpu_ids;
  const cpus = spec.cpus === null ? CpuMask.first_n(nr) : CpuMask.of(spec.cpus);
  // The first CPU listed, not the lowest: `cpus: [1, 2, 3, 0]` starts on CPU 1.
  const first = spec.cpus === null ? cpus.first() : (spec.cpus[0] ?? -1);
  if (first < 0 || first >= nr) throw new RangeError(`workload ${spec.comm}: no usable CPU in its affinity`);
  const rt = spec.policy === "FIFO" || spec.policy === "RR";
  const release_at = (opts.time_base_ns ?? k.engine.now) + spec.start_ns;
  const b = spec.behavior;
  const p = k.sched.create_task({
    comm: spec.comm,
    policy: spec.policy,
    ...(rt ? { rt_priority: spec.priority } : { nice: spec.priority }),
    cpus_allowed: cpus,
    cpu: first,
    threadfn: () => workload_body(k, b, spec.jitter, prng, release_at),
  });
  start_task_at(k, p, first, release_at);
  return p;
}

function workload_body(k: Kernel, b: Behavior, jitter: number, prng: Prng, start: number): KernelCall<number> {
  switch (b.kind) {
    case "busy":
      return busy_body();
    case "cycle":
      return cycle_body(b.run_ns, b.sleep_ns, jitter, prng);
    case "periodic":
      return periodic_body(k, b.period_ns, b.run_ns, jitter, prng, start);
  }
}

const RUN_FOREVER: LenEffect<typeof EFFECT_RUN> = Object.freeze({ op: EFFECT_RUN, ns: Number.POSITIVE_INFINITY });

/** while (1); */
function* busy_body(): KernelCall<number> {
  for (;;) yield RUN_FOREVER;
}

/** Run, then sleep, forever. */
function* cycle_body(run_ns: number, sleep_ns: number, jitter: number, prng: Prng): KernelCall<number> {
  const run: LenEffect<typeof EFFECT_RUN> = { op: EFFECT_RUN, ns: 0 };
  const sleep: LenEffect<typeof EFFECT_SLEEP> = { op: EFFECT_SLEEP, ns: 0 };
  for (;;) {
    run.ns = jitter_ns(run_ns, jitter, prng);
    yield run;
    sleep.ns = jitter_ns(sleep_ns, jitter, prng);
    yield sleep;
  }
}

/**
 * Released at start + n·period: runs, then sleeps until the next release
 * still ahead (releases it overran are skipped, as clock_nanosleep with
 * TIMER_ABSTIME on a grid does). Jitter varies the run length only, so the
 * grid stays fixed.
 */
function* periodic_body(
  k: Kernel,
  period_ns: number,
  run_ns: number,
  jitter: number,
  prng: Prng,
  start: number,
): KernelCall<number> {
  const run: LenEffect<typeof EFFECT_RUN> = { op: EFFECT_RUN, ns: 0 };
  const sleep: LenEffect<typeof EFFECT_SLEEP> = { op: EFFECT_SLEEP, ns: 0 };
  let next = start;
  for (;;) {
    run.ns = jitter_ns(run_ns, jitter, prng);
    yield run;
    const now = k.engine.now;
    next += period_ns;
    if (next < now) next = start + Math.ceil((now - start) / period_ns) * period_ns;
    if (next > now) {
      sleep.ns = next - now;
      yield sleep;
    }
  }
}
