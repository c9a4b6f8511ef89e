import { format_campaign_text, format_json_report, format_text_report, run_exit_code, type RunResult } from "@ksim/report";

/** The reports of a (tiny, hand-made) run that ended ok, and of a two-seed campaign. */
export function readme_example(): { first_line: string; json_keys: string[]; exit: number; campaign: string } {
  const result: RunResult = {
    ksim: "0.1.0",
    scenario: "quiet",
    seed: 1,
    outcome: "ok",
    simulated_ns: 2_000_000_000,
    events: 10,
    wall_ms: 1,
    kernel: { version: "2.6.34", subsystems: [] },
    cpus: [{ cpu: 0, online: true, rt_throttled: false, rt_time_ns: 0 }],
    tasks: [],
    hotplug: [],
    stats: { context_switches: 0, rt_throttles: 0, timer_migrations: 0, hotplug_ops: 0 },
    stopped_early: null,
    dmesg: [],
  };
  const text = format_text_report(result);
  const doc = JSON.parse(format_json_report(result)) as Record<string, unknown>;
  const campaign = format_campaign_text(
    {
      scenario: "quiet",
      runs: 2,
      ok: 1,
      hang: 1,
      bug: 0,
      simulated_ns: 7.2e12,
      events: 20,
      wall_ms: 1000,
      expected: "ok",
      results: [
        { seed: 1, outcome: "ok", detected_at_ns: null, simulated_ns: 3.6e12, events: 10, wall_ms: 500 },
        { seed: 2, outcome: "hang", detected_at_ns: 3.6e12, simulated_ns: 3.6e12, events: 10, wall_ms: 500, cycle: ["task a", "task b"] },
      ],
    },
    (seed) => `ksim run quiet --seed ${seed}`,
  );
  return { first_line: text.split("\n")[0] ?? "", json_keys: Object.keys(doc), exit: run_exit_code(result, null), campaign };
}
