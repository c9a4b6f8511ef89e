import type { RecordedRun, RunLimits, ScenarioRunner } from "@ksim/campaign";
import type { RunResult } from "@ksim/report";
import type { ScenarioSpec, ScriptOp } from "@ksim/scenario";

/** A result with nothing in it but what a campaign reads. */
export function fake_result(spec: ScenarioSpec, over: Partial<RunResult> = {}): RunResult {
  return {
    ksim: "0.0.0-test",
    scenario: spec.name,
    seed: spec.seed,
    outcome: "ok",
    simulated_ns: spec.duration_ns,
    events: 100,
    wall_ms: 1,
    kernel: { version: "2.6.34", subsystems: [] },
    cpus: [],
    tasks: [],
    hotplug: [],
    stats: { context_switches: 0, rt_throttles: 0, timer_migrations: 0, hotplug_ops: 0 },
    stopped_early: null,
    dmesg: [],
    ...over,
  };
}

/** A hang found by `detected_by` at `at_ns`, with a two-task cycle. */
export function hang_of(spec: ScenarioSpec, at_ns: number, detected_by: "khungtaskd" | "watchdog"): RunResult {
  return fake_result(spec, {
    outcome: "hang",
    simulated_ns: at_ns,
    hang: {
      detected_at_ns: at_ns,
      hung_tasks: [{ pid: 7, comm: "cpuhp-stress", state: "D", blocked_since_ns: at_ns - 1, in: "kthread_stop" }],
      cycle: [
        { node: "task cpuhp-stress/7", waits_for: "task migration/1/3", because: "kthread_stop", from: { kind: "task", name: "task cpuhp-stress/7", pid: 7 }, to: { kind: "task", name: "task migration/1/3", pid: 3 } },
        { node: "task migration/1/3", waits_for: "task cpuhp-stress/7", because: "rt_rq", from: { kind: "task", name: "task migration/1/3", pid: 3 }, to: { kind: "task", name: "task cpuhp-stress/7", pid: 7 } },
      ],
      detected_by,
    },
  });
}

/**
 * A machine stand-in: `outcome(spec)` decides each run; run_recorded reports
 * `performed` as the operations of the random run. Counts its runs.
 */
export function fake_runner(outcome: (spec: ScenarioSpec, limits: RunLimits) => RunResult, performed: ScriptOp[] = []): ScenarioRunner & { runs: number } {
  const r = {
    runs: 0,
    run(spec: ScenarioSpec, limits: RunLimits = {}): RunResult {
      r.runs++;
      return outcome(spec, limits);
    },
    run_recorded(spec: ScenarioSpec): RecordedRun {
      return { result: r.run(spec), performed };
    },
  };
  return r;
}
