/**
 * @ksim/machine: the ksim machine as a library. Load a scenario (a file, a
 * built-in name, plus overrides), run it, and format the result:
 *
 *   const { spec } = load_scenario("seed-hang", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"] });
 *   const result = run_scenario(spec);
 *   process.stdout.write(format_text_report(result, { expected: spec.expect?.outcome ?? null }));
 */
export {
  load_scenario,
  builtin_names,
  builtin_scenarios,
  parse_scenario,
  scenario_json_schema,
  ScenarioError,
  MAX_SCENARIO_BYTES,
  MAX_CPUS,
  MAX_TASKS,
  MAX_SCRIPT_OPS,
  BUILTIN_NOTIFIERS,
} from "@ksim/scenario";
export type {
  LoadOptions,
  LoadedScenario,
  BuiltinScenario,
  ScenarioSpec,
  KernelParams,
  WorkloadTask,
  WorkloadPolicy,
  Behavior,
  NotifierAction,
  ExtraNotifier,
  ScriptOp,
  StressHotplug,
  Outcome,
  MigrationThreadStop,
} from "@ksim/scenario";
export { build_machine, Machine } from "./machine.js";
export type { RunOptions, MachineOptions } from "./machine.js";
export { run_scenario, machine_runner } from "./runner.js";
export { replay_ties, state_digest, tie_labels } from "./ties.js";
export { run_campaign, run_explore, shrink, run_queued_campaign, run_queue_worker } from "./campaigns.js";
export type { CampaignOptions, ExploreOptions, ShrinkOptions, QueuedCampaignOptions, QueueWorkerOptions } from "./campaigns.js";
export { parse_seed_range, read_results, campaign_passed, NothingToShrink, collect_campaign, campaign_status, remove_campaign } from "@ksim/campaign";
export type { CampaignSummary, SeedResult, ShrinkResult } from "@ksim/campaign";
export { run_exit_code, format_text_report, format_json_report, json_report, format_campaign_text } from "@ksim/report";
export type { RunResult, HungTask, CycleEdge, TextReportOptions } from "@ksim/report";
export { open_outputs, OutputError, PerfettoSink, FtraceSink, TraceCollector, render_html_report, render_campaign_html } from "@ksim/report";
export type { OutputPaths, OutputOptions, Outputs } from "@ksim/report";
export { VERSION } from "./version.js";
