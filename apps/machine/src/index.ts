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
} from "./scenario/index.js";
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
} from "./scenario/index.js";
export { run_scenario, build_machine, Machine } from "./machine.js";
export type { RunOptions, MachineOptions } from "./machine.js";
export { run_campaign, parse_seed_range, read_results, campaign_passed } from "./stress/campaign.js";
export type { CampaignOptions } from "./stress/campaign.js";
export type { CampaignSummary, SeedResult } from "./stress/types.js";
export { format_campaign_text } from "./stress/report.js";
export { shrink, NothingToShrink } from "./stress/shrink.js";
export type { ShrinkOptions, ShrinkResult } from "./stress/shrink.js";
export { run_exit_code } from "./result.js";
export type { RunResult, HungTask, CycleEdge } from "./result.js";
export { format_text_report, format_json_report, json_report, VERSION } from "./report/index.js";
export type { TextReportOptions } from "./report/index.js";
export { open_outputs, OutputError, PerfettoSink, FtraceSink, TraceCollector } from "./trace/index.js";
export type { OutputPaths, OutputOptions, Outputs } from "./trace/index.js";
export { render_html_report } from "./report/html.js";
export { render_campaign_html } from "./report/campaign-html.js";
export { run_queued_campaign, collect_campaign, campaign_status, remove_campaign } from "./queue/campaign.js";
export { run_queue_worker } from "./queue/worker.js";
