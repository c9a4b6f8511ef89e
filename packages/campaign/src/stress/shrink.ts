/**
 * `ksim shrink`: turn a failing random run into a scripted scenario a person
 * can read, then make it smaller (fewer operations, tasks and CPUs, a
 * shorter run) for as long as it still fails the same way: the same outcome
 * and, for a hang, the same wait-for cycle.
 */
import { format_duration, NSEC_PER_SEC } from "@ksim/core";
import type { RunResult } from "@ksim/report";
import type { Behavior, KernelParams, ScenarioSpec, ScriptOp, WorkloadTask } from "@ksim/scenario";
import { cycle_shape } from "./run_seed.js";
import type { ScenarioRunner } from "./types.js";

export interface ShrinkOptions {
  /** Runs each candidate (the ksim app gives its machine). */
  runner: ScenarioRunner;
  /** Give up making it smaller after this many trial runs (default 1000). */
  max_runs?: number;
  /** Told about each step that made it smaller. */
  log?: (line: string) => void;
}

export interface ShrinkResult {
  /** The scenario, as a scenario file would hold it. */
  scenario: Record<string, unknown>;
  /** The failure it reproduces: outcome and cycle (or bug message). */
  signature: string;
  runs: number;
  before: { ops: number; tasks: number; cpus: number; duration_ns: number };
  after: { ops: number; tasks: number; cpus: number; duration_ns: number };
}

function signature(r: RunResult): string | null {
  if (r.outcome === "hang") return `hang: ${cycle_shape(r.hang?.cycle.map((e) => e.node) ?? []).join(" -> ")}`;
  if (r.outcome === "bug") return `bug: ${(r.bug?.message ?? "").replace(/\/\d+/g, "")}`;
  return null;
}

function max_cpu_used(s: ScenarioSpec): number {
  let m = 0;
  for (const t of s.tasks) for (const c of t.cpus ?? []) m = Math.max(m, c);
  for (const op of s.script) m = Math.max(m, op.cpu, op.on);
  return m;
}

export class NothingToShrink extends Error {}

export function shrink(original: ScenarioSpec, seed: number, opts: ShrinkOptions): ShrinkResult {
  const runner = opts.runner;
  const log = opts.log ?? (() => {});
  const max_runs = opts.max_runs ?? 1000;
  let runs = 0;
  const timeout_ns = Math.max(1, original.kernel.hung_task_timeout_secs) * NSEC_PER_SEC;

  const first = runner.run_recorded({ ...original, seed });
  const r0 = first.result;
  runs++;
  const target = signature(r0);
  if (target === null) throw new NothingToShrink(`seed ${seed} of ${original.name} ends ${r0.outcome}: there is no failure to shrink`);
  log(`seed ${seed} fails: ${target}`);

  // The random hotplug loop, written down as the script it performed.
  // cpuhp-stress records script and stress operations alike.
  const script = [...first.performed].sort((a, b) => a.at_ns - b.at_ns);
  const end_of = (ops: readonly ScriptOp[]) => (ops.length ? ops[ops.length - 1]!.at_ns : 0) + 2 * timeout_ns + 10 * NSEC_PER_SEC;
  let best: ScenarioSpec = { ...original, seed, stress: null, script, duration_ns: Math.min(original.duration_ns, end_of(script)) };

  const fails = (cand: ScenarioSpec): boolean => {
    if (runs >= max_runs) return false;
    runs++;
    try {
      return signature(runner.run(cand)) === target;
    } catch {
      return false;
    }
  };
  if (!fails(best)) {
    throw new NothingToShrink(`the scripted replay of seed ${seed} does not fail the same way; keep the seed: ksim run ${original.name} --seed ${seed}`);
  }
  const with_ops = (s: ScenarioSpec, ops: ScriptOp[]): ScenarioSpec => ({ ...s, script: ops, duration_ns: Math.min(original.duration_ns, end_of(ops)) });
  const before = { ops: script.length, tasks: original.tasks.length, cpus: original.kernel.cpus, duration_ns: best.duration_ns };

  // 1. Operations after the one that hung never ran; then the shortest suffix that still fails.
  const last_started = r0.hotplug.filter((h) => h.result === "incomplete").length > 0 ? script.findIndex((o) => o.at_ns >= (r0.hang?.hung_tasks[0]?.blocked_since_ns ?? Infinity)) : -1;
  if (last_started > 0 && fails(with_ops(best, script.slice(0, last_started)))) {
    best = with_ops(best, script.slice(0, last_started));
    log(`dropped the operations after the hang: ${best.script.length} left`);
  }
  for (let k = 1; k < best.script.length; k *= 2) {
    const cand = with_ops(best, best.script.slice(best.script.length - k));
    if (fails(cand)) {
      best = cand;
      log(`kept the last ${k} operations`);
      break;
    }
  }
  // 2. Tasks, one at a time; then jitter off.
  for (const t of [...best.tasks]) {
    const cand = { ...best, tasks: best.tasks.filter((x) => x !== t) };
    if (fails(cand)) {
      best = cand;
      log(`removed task ${t.comm}`);
    }
  }
  for (const t of [...best.tasks]) {
    if (t.jitter === 0) continue;
    const cand = { ...best, tasks: best.tasks.map((x): WorkloadTask => (x === t ? { ...x, jitter: 0 } : x)) };
    if (fails(cand)) {
      best = cand;
      log(`no jitter for ${t.comm}`);
    }
  }
  // 3 and 4, repeated while either makes progress.
  for (let before_pass = Infinity; best.script.length < before_pass && runs < max_runs; ) {
    before_pass = best.script.length;
    // 3. Whole down/up round trips first: removing one keeps every later
    // operation meeting the CPUs in the state it met them in.
    for (let i = 0; i < best.script.length - 1 && runs < max_runs; ) {
      const ops = best.script;
      const a = ops[i]!;
      const j = a.op === "cpu_down" ? ops.findIndex((o, k) => k > i && o.cpu === a.cpu) : -1;
      if (j < 0 || ops[j]!.op !== "cpu_up" || j === ops.length - 1) {
        i++;
        continue;
      }
      const cand = with_ops(best, ops.filter((_, k) => k !== i && k !== j));
      if (fails(cand)) {
        best = cand;
        log(`removed cpu_down/cpu_up(${a.cpu}) at ${(a.at_ns / NSEC_PER_SEC).toFixed(1)} s: ${best.script.length} left`);
      } else i++;
    }
    // 4. ddmin over the operations that are left.
    let n = 2;
    while (best.script.length >= 2 && runs < max_runs) {
      const ops = best.script;
      const size = Math.ceil(ops.length / n);
      let reduced = false;
      for (let i = 0; i < ops.length && !reduced; i += size) {
        const complement = [...ops.slice(0, i), ...ops.slice(i + size)];
        const cand = with_ops(best, complement);
        if (complement.length > 0 && fails(cand)) {
          best = cand;
          n = Math.max(n - 1, 2);
          reduced = true;
          log(`removed ${size} operation(s): ${best.script.length} left`);
        }
      }
      if (!reduced) {
        if (n >= ops.length) break;
        n = Math.min(ops.length, n * 2);
      }
    }
  }
  // 5. Fewer CPUs: just enough for every CPU still named.
  const cpus = max_cpu_used(best) + 1;
  if (cpus < best.kernel.cpus) {
    const cand = { ...best, kernel: { ...best.kernel, cpus } };
    if (fails(cand)) {
      best = cand;
      log(`${cpus} CPUs`);
    }
  }
  // 6. The run lasts until just after the report.
  const r = runner.run(best);
  runs++;
  if (r.hang) best = { ...best, duration_ns: Math.min(best.duration_ns, r.hang.detected_at_ns + NSEC_PER_SEC) };
  const after = { ops: best.script.length, tasks: best.tasks.length, cpus: best.kernel.cpus, duration_ns: best.duration_ns };
  return { scenario: to_file(best, original.name, seed, target, r0), signature: target, runs, before, after };
}

/** Seconds with up to nine decimals: exact, and easier to read than "6554552.283us". */
function secs(ns: number): string {
  return ns % 1_000_000 === 0 ? format_duration(ns) : `${(ns / NSEC_PER_SEC).toFixed(9).replace(/0+$/, "")}s`;
}

function behavior_out(b: Behavior): Record<string, unknown> {
  switch (b.kind) {
    case "busy":
      return { busy: true };
    case "cycle":
      return { cycle: { run: format_duration(b.run_ns), sleep: format_duration(b.sleep_ns) } };
    case "periodic":
      return { periodic: { period: format_duration(b.period_ns), run: format_duration(b.run_ns) } };
  }
}

/** The kernel section as a file gives it: 2.6.35 has no migration_thread_stop to give. */
function kernel_out(kp: KernelParams): Record<string, unknown> {
  if (kp.version === "2.6.34") return { ...kp };
  const { migration_thread_stop: _fixed, ...rest } = kp;
  return rest;
}

/** A ScenarioSpec back in the file format, every value spelled as a person would. */
export function to_file(s: ScenarioSpec, from: string, seed: number, sig: string, r0: RunResult): Record<string, unknown> {
  return {
    name: `${from}-seed${seed}-min`,
    description: `Shrunk from ${from} seed ${seed} (${r0.outcome} at ${((r0.hang?.detected_at_ns ?? r0.simulated_ns) / NSEC_PER_SEC).toFixed(1)} s): ${sig}`,
    seed: s.seed,
    duration: secs(s.duration_ns),
    kernel: kernel_out(s.kernel),
    ...(s.notifiers.length
      ? {
          notifiers: s.notifiers.map((n) => ({
            name: n.name,
            priority: n.priority,
            actions: Object.fromEntries(
              Object.entries(n.actions).map(([ev, a]) => [ev, a.kind === "block" ? { block: format_duration(a.ns) } : a.kind]),
            ),
          })),
        }
      : {}),
    tasks: s.tasks.map((t) => ({
      comm: t.comm,
      policy: t.policy,
      priority: t.priority,
      ...(t.cpus ? { cpus: [...t.cpus] } : {}),
      start: format_duration(t.start_ns),
      behavior: behavior_out(t.behavior),
      ...(t.jitter ? { jitter: t.jitter } : {}),
    })),
    script: s.script.map((o) => ({ at: secs(o.at_ns), [o.op]: o.cpu, on: o.on })),
    expect: { outcome: r0.outcome },
  };
}
