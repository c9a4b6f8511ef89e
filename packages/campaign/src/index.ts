/**
 * @ksim/campaign: many runs of one scenario. `run_campaign` runs a seed range
 * on worker threads (or in this thread), appends each result to a JSONL file
 * and resumes from it; `shrink` turns a failing random run into a small
 * scripted scenario; the queue functions spread a campaign over machines
 * through a BullMQ (Redis) queue named after the ksim version;
 * `compare_campaigns` sets two campaigns' times to hang side by side
 * (Kaplan–Meier curves, medians, the log-rank test).
 *
 * A campaign never imports a machine: the caller gives a ScenarioRunner, the
 * piscina worker file that runs a seed, and the ksim version.
 */
export { run_campaign, parse_seed_range, read_results, campaign_passed, worker_exec_argv } from "./stress/campaign.js";
export type { CampaignBase, CampaignOptions, RunSetOptions } from "./stress/campaign.js";
export { run_seed, cycle_shape } from "./stress/run_seed.js";
export { shrink, NothingToShrink } from "./stress/shrink.js";
export type { ShrinkOptions, ShrinkResult } from "./stress/shrink.js";
export { compare_campaigns, read_results_file, observation, ResultsFileError } from "./compare/compare.js";
export type { CampaignResults } from "./compare/compare.js";
export { kaplan_meier, km_median, log_rank, chi2_survival } from "./compare/survival.js";
export type { Observation } from "./compare/survival.js";
export type { CampaignSummary, SeedResult, SeedJob, ScenarioRunner, RunLimits, RecordedRun, TieExplorer, ExploredRun } from "./stress/types.js";
export { run_explore, explore_passed, DEFAULT_MAX_RUNS } from "./explore.js";
export type { ExploreOptions } from "./explore.js";
export { explore_combination, outcome_key } from "./explore/dfs.js";
export type { ExploreJob, ComboResult, ComboOutcome } from "./explore/dfs.js";
export {
  parse_vary,
  parse_sweep,
  sweep_values,
  section_dimensions,
  merge_dimensions,
  space_size,
  combination,
  combination_sets,
  SpaceError,
  MAX_COMBINATIONS,
} from "./explore/space.js";
export type { Dimension } from "./explore/space.js";
export {
  run_queued_campaign,
  collect_campaign,
  campaign_status,
  remove_campaign,
  campaign_blocks,
  format_seed_ranges,
  MAX_JOBS,
} from "./queue/campaign.js";
export type { QueuedCampaignOptions, QueuedCampaign, CollectOptions, CampaignStatus, CampaignMeta, ReplayInfo, QueueJobData } from "./queue/campaign.js";
export type { ExploreJobData } from "./queue/explore.js";
export { run_queue_worker, DEFAULT_LOCK_DURATION_MS, DEFAULT_STALLED_INTERVAL_MS, DEFAULT_MAX_STALLED } from "./queue/worker.js";
export type { QueueWorkerOptions } from "./queue/worker.js";
export { queue_name, open_link, QueueUnreachable } from "./queue/connection.js";
export type { QueueLink } from "./queue/connection.js";
export { parse_queue_url, mask_url, masker, QueueUsageError } from "./queue/url.js";
export type { QueueTarget } from "./queue/url.js";
