/**
 * Property tests over random machines for the patched kernel
 * (migration_thread_stop: CPU_POST_DEAD): random CPUs, tasks and hotplug
 * scripts. Each run must end without a BUG or a hang, with every hotplug
 * operation finished, the runqueues consistent (check_rq) throughout, and
 * CPU time conserved. A failure shrinks to a small scenario, printed as a
 * scenario file that `ksim run` replays.
 */
import type { Kernel, TaskStruct } from "@ksim/core";
import { Scheduler, sched_subsystem, type SchedParams } from "@ksim/sched";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify as to_yaml } from "yaml";
import { Machine } from "../src/machine.js";
import { sched_params } from "../src/kernels.js";
import type { RunResult } from "@ksim/report";
import { parse_scenario } from "@ksim/scenario";

// ---- a scheduler that remembers every task and where time went -------------

/**
 * The real scheduler, watched: every task ever created (exited threads
 * too, whose runtime would otherwise leave with them), and CPU time charged
 * to a task while its CPU was offline.
 */
class WatchedScheduler extends Scheduler {
  readonly all_tasks: TaskStruct[] = [];
  readonly offline_busy_ns: number[];

  constructor(k: Kernel, params: SchedParams) {
    super(k, params);
    this.offline_busy_ns = new Array<number>(params.nr_cpus).fill(0);
  }

  private readonly seen = new Set<TaskStruct>();

  protected override task_created(p: TaskStruct): void {
    super.task_created(p);
    // policy_changed() re-runs task_created() (sched_setscheduler): count a task once.
    if (this.seen.has(p)) return;
    this.seen.add(p);
    this.all_tasks.push(p);
  }

  protected override update_curr_class(rq: Parameters<Scheduler["update_curr"]>[0], p: TaskStruct, delta: number): void {
    if (!this.k.hotplug.cpu_online(rq.cpu)) this.offline_busy_ns[rq.cpu]! += delta;
    super.update_curr_class(rq, p, delta);
  }
}

// ---- random scenario documents ------------------------------------------------

const ms = (n: number) => `${n}ms`;

/**
 * A random machine as a scenario document. With rt_runtime_share on (as in
 * 2.6.34), a busy RT task borrows its peers' runtime up to the whole period
 * and starves SCHED_NORMAL on its CPU for good, kthreadd and cpuhp-stress
 * included: a real hang of the real kernel, not of the hotplug code. So
 * with sharing, RT tasks get a duty cycle of at most about a third; without
 * it, RT throttling (always on here) leaves SCHED_NORMAL its share and RT
 * tasks may be busy.
 */
function scenario_doc(): fc.Arbitrary<Record<string, unknown>> {
  return fc
    .record({
      cpus: fc.integer({ min: 1, max: 6 }),
      share: fc.boolean(),
      seed: fc.integer({ min: 0, max: 1_000_000 }),
      duration_s: fc.integer({ min: 30, max: 60 }),
      hz: fc.constantFrom(100, 250, 300, 1000),
      runtime_us: fc.constantFrom(950_000, 800_000, 500_000, 200_000),
    })
    .chain(({ cpus, share, seed, duration_s, hz, runtime_us }) => {
      const cpu = fc.integer({ min: 0, max: cpus - 1 });
      const affinity = fc.option(fc.uniqueArray(cpu, { minLength: 1, maxLength: cpus }), { nil: undefined });
      const rt_behavior = share
        ? fc.oneof(
            fc.record({ run: fc.integer({ min: 1, max: 200 }), k: fc.integer({ min: 3, max: 10 }) }).map(({ run, k }) => ({ cycle: { run: ms(run), sleep: ms(run * k) } })),
            fc.record({ period: fc.integer({ min: 8, max: 1000 }), div: fc.integer({ min: 4, max: 20 }) }).map(({ period, div }) => ({ periodic: { period: ms(period), run: ms(Math.max(1, Math.floor(period / div))) } })),
          )
        : fc.oneof(
            fc.constant({ busy: true }),
            fc.record({ run: fc.integer({ min: 1, max: 900 }), sleep: fc.integer({ min: 1, max: 900 }) }).map(({ run, sleep }) => ({ cycle: { run: ms(run), sleep: ms(sleep) } })),
          );
      const normal_behavior = fc.oneof(
        fc.constant({ busy: true }),
        fc.record({ run: fc.integer({ min: 1, max: 500 }), sleep: fc.integer({ min: 1, max: 500 }) }).map(({ run, sleep }) => ({ cycle: { run: ms(run), sleep: ms(sleep) } })),
        fc.record({ period: fc.integer({ min: 5, max: 1000 }), pct: fc.integer({ min: 1, max: 100 }) }).map(({ period, pct }) => ({ periodic: { period: ms(period), run: ms(Math.max(1, Math.floor((period * pct) / 100))) } })),
      );
      const rt_task = fc.record(
        {
          policy: fc.constantFrom("FIFO", "RR"),
          // Below the kernel's FIFO 99 threads: a busy user FIFO 99 task
          // keeps kstop/N (same priority, queued behind it) off its CPU for
          // good, which stalls stop_machine in the real kernel too.
          priority: fc.integer({ min: 1, max: 98 }),
          cpus: affinity,
          start: fc.integer({ min: 0, max: 3000 }).map(ms),
          behavior: rt_behavior,
          jitter: share ? fc.constantFrom(0, 0.1, 0.3) : fc.constantFrom(0, 0.2, 0.5, 1),
        },
        { requiredKeys: ["policy", "priority", "start", "behavior", "jitter"] },
      );
      const normal_task = fc.record(
        {
          policy: fc.constant("NORMAL"),
          priority: fc.integer({ min: -20, max: 19 }),
          cpus: affinity,
          start: fc.integer({ min: 0, max: 3000 }).map(ms),
          behavior: normal_behavior,
          jitter: fc.constantFrom(0, 0.2, 0.5, 1),
        },
        { requiredKeys: ["policy", "priority", "start", "behavior", "jitter"] },
      );
      // Every operation is due at least 25 s before the end, so each can finish.
      const last_at = (duration_s - 25) * 1000;
      const op = fc.record({
        at: fc.integer({ min: 100, max: last_at }),
        op: fc.constantFrom("cpu_down", "cpu_up"),
        cpu,
        on: cpu,
      });
      return fc.record({
        share: fc.constant(share),
        seed: fc.constant(seed),
        cpus: fc.constant(cpus),
        duration_s: fc.constant(duration_s),
        hz: fc.constant(hz),
        runtime_us: fc.constant(runtime_us),
        rt: fc.array(rt_task, { maxLength: share ? 2 : 4 }),
        normal: fc.array(normal_task, { maxLength: 5 }),
        script: fc.array(op, { maxLength: 8 }),
      });
    })
    .map((g) => ({
      name: "random-machine",
      seed: g.seed,
      duration: `${g.duration_s}s`,
      kernel: {
        cpus: g.cpus,
        hz: g.hz,
        sched_rt_runtime_us: g.runtime_us,
        rt_runtime_share: g.share,
        // A hang must show within the run.
        hung_task_timeout_secs: 10,
        migration_thread_stop: "CPU_POST_DEAD",
      },
      tasks: [...g.rt, ...g.normal].map((t, i) => ({ comm: `t${i}`, ...t })),
      script: [...g.script]
        .sort((a, b) => a.at - b.at)
        .map((o) => ({ at: ms(o.at), [o.op]: o.cpu, on: o.on })),
    }));
}

// ---- the properties checked on one run ---------------------------------------------

interface Checked {
  result: RunResult;
  checks: number;
}

/** Runs the scenario with check_rq on every CPU between slices of time; throws on any broken property. */
function run_and_check(doc: Record<string, unknown>): Checked {
  const spec = parse_scenario(doc, "random.yaml");
  let sched: WatchedScheduler | null = null;
  const m = new Machine(spec, {
    subsystems: { sched: sched_subsystem(sched_params(spec), { make: (k, params) => (sched = new WatchedScheduler(k, params)) }) },
  });
  const s = sched as WatchedScheduler | null;
  if (!s) throw new Error("the machine did not use the watched scheduler");
  let checks = 0;
  const result = m.run({
    on_progress: () => {
      if (m.k.engine.bug) return;
      for (let cpu = 0; cpu < spec.kernel.cpus; cpu++) s.check_rq(cpu);
      checks++;
    },
  });
  const fail = (what: string) => {
    throw new Error(what);
  };
  if (result.outcome === "bug") fail(`BUG at ${result.bug?.at_ns} ns: ${result.bug?.message}`);
  if (result.outcome === "hang") fail(`hang: ${result.hang?.cycle.map((e) => e.node).join(" -> ") || result.hang?.hung_tasks.map((t) => `${t.comm} in ${t.in}`).join(", ")}`);
  if (result.simulated_ns !== spec.duration_ns) fail(`stopped at ${result.simulated_ns} ns of ${spec.duration_ns}`);
  for (const op of result.hotplug) {
    if (op.result === "incomplete" || op.end_ns === null) fail(`${op.op}(${op.cpu}) from CPU ${op.from_cpu}, started at ${op.start_ns} ns, never finished`);
  }
  const stress = m.cpuhp;
  if (spec.script.length > 0) {
    if (!stress) fail("no cpuhp-stress task");
    else if (stress.nr_ops !== spec.script.length || stress.current_op !== null) fail(`cpuhp-stress did ${stress.nr_ops} of ${spec.script.length} operations`);
  }
  // Conservation of time: charge every CPU up to now, then each CPU's busy
  // plus idle time is the whole run, busy time is what tasks consumed, and
  // no task ran on a CPU while it was offline.
  const now = m.k.engine.now;
  let busy = 0;
  for (const rq of s.rqs) {
    s.update_curr(rq);
    if (rq.busy_ns + rq.idle_ns !== now) fail(`CPU ${rq.cpu}: busy ${rq.busy_ns} + idle ${rq.idle_ns} ns != ${now} ns elapsed`);
    if (s.offline_busy_ns[rq.cpu] !== 0) fail(`CPU ${rq.cpu}: ${s.offline_busy_ns[rq.cpu]} ns charged to tasks while offline`);
    busy += rq.busy_ns;
  }
  const runtime = s.all_tasks.reduce((sum, p) => sum + p.se.sum_exec_runtime, 0);
  if (runtime !== busy) fail(`tasks consumed ${runtime} ns but CPUs were busy ${busy} ns`);
  // With no operation in progress, every live task sits on an online CPU it may run on.
  for (const p of s.all_tasks) {
    if (p.state === "X") continue;
    if (!m.k.hotplug.cpu_online(p.cpu)) fail(`${p.name} (state ${p.state}) has task_cpu ${p.cpu}, which is offline`);
    if (!p.cpus_allowed.test_cpu(p.cpu)) fail(`${p.name} has task_cpu ${p.cpu} outside cpus_allowed ${p.cpus_allowed.toString()}`);
  }
  return { result, checks };
}

/** The property, with the scenario as YAML in the failure message. */
function holds(doc: Record<string, unknown>): void {
  try {
    run_and_check(doc);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`${why}\n--- scenario (save as a .yaml file and run: ksim run FILE) ---\n${to_yaml(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`);
  }
}

describe("random machines, patched kernel (CPU_POST_DEAD)", () => {
  it("no BUG, no hang, every hotplug operation done, runqueues consistent, CPU time conserved", () => {
    fc.assert(
      fc.property(scenario_doc(), (doc) => holds(doc)),
      { numRuns: 250, seed: 12 },
    );
  });

  it("the generator covers what it should: hotplug that succeeds, RT throttling, several CPUs, busy and sleeping tasks", () => {
    const docs = fc.sample(scenario_doc(), { numRuns: 40, seed: 34 });
    let ops_ok = 0;
    let throttles = 0;
    let multi = 0;
    for (const doc of docs) {
      const { result, checks } = run_and_check(doc);
      expect(checks).toBeGreaterThanOrEqual(20);
      ops_ok += result.hotplug.filter((h) => h.result === "ok" && h.op === "cpu_down").length;
      throttles += result.stats.rt_throttles;
      if (result.cpus.length > 1) multi++;
    }
    expect(ops_ok).toBeGreaterThan(20);
    expect(throttles).toBeGreaterThan(0);
    expect(multi).toBeGreaterThan(20);
  });

  it("the same checks catch the released kernel's hang (so they are not vacuous)", () => {
    const doc = {
      name: "released",
      duration: "40s",
      kernel: { cpus: 2, hung_task_timeout_secs: 10, migration_thread_stop: "CPU_DEAD" },
      tasks: [
        { comm: "rt-hog1", policy: "FIFO", priority: 50, cpus: [1], start: "1100ms", behavior: { busy: true } },
        { comm: "rt-hog0", policy: "FIFO", priority: 50, cpus: [0], start: "1200ms", behavior: { busy: true } },
      ],
      script: [{ at: "3s", cpu_down: 1, on: 0 }],
    };
    expect(() => holds(doc)).toThrow(/^hang: task cpuhp-stress\/\d+ -> task migration\/1\/\d+ -> .*\n--- scenario .*---\nname: released\n/);
    expect(() => holds({ ...doc, kernel: { ...doc.kernel, migration_thread_stop: "CPU_POST_DEAD" } })).not.toThrow();
  });
});
