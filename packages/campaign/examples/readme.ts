import { campaign_passed, run_campaign, type ScenarioRunner } from "@ksim/campaign";
import type { RunResult } from "@ksim/report";
import { load_scenario, type ScenarioSpec } from "@ksim/scenario";

/**
 * A stand-in machine: every third seed hangs. A real caller passes the
 * machine's runner (`machine_runner` of @ksim/machine).
 */
function run(spec: ScenarioSpec): RunResult {
  const hang = spec.seed % 3 === 0;
  return {
    ksim: "0.1.0",
    scenario: spec.name,
    seed: spec.seed,
    outcome: hang ? "hang" : "ok",
    simulated_ns: spec.duration_ns,
    events: 1000,
    wall_ms: 1,
    kernel: { version: "2.6.34", subsystems: [] },
    ...(hang ? { hang: { detected_at_ns: spec.duration_ns, hung_tasks: [], cycle: [], detected_by: "khungtaskd" as const } } : {}),
    cpus: [],
    tasks: [],
    hotplug: [],
    stats: { context_switches: 0, rt_throttles: 0, timer_migrations: 0, hotplug_ops: 0 },
    stopped_early: null,
    dmesg: [],
  };
}

const runner: ScenarioRunner = {
  run,
  run_recorded: (spec) => ({ result: run(spec), performed: [] }),
};

/** Seeds 1..6 of seed-stress, run one by one in this thread (jobs: 0). */
export async function readme_example(): Promise<{ runs: number; ok: number; hang: number; passed: boolean; hung_seeds: number[] }> {
  const { spec } = load_scenario("seed-stress");
  const summary = await run_campaign({
    version: "0.1.0",
    spec,
    seeds: [1, 2, 3, 4, 5, 6],
    expected: "ok",
    jobs: 0,
    runner,
  });
  return {
    runs: summary.runs,
    ok: summary.ok,
    hang: summary.hang,
    passed: campaign_passed(summary),
    hung_seeds: summary.results.filter((r) => r.outcome === "hang").map((r) => r.seed),
  };
}
