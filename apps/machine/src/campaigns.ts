/**
 * The campaigns of @ksim/campaign bound to this machine: its runner, its
 * piscina worker file and its version. These keep the library API of
 * @ksim/machine as it was (`run_campaign(opts)`, `shrink(spec, seed)`, ...);
 * each of the three may still be given, e.g. to run another machine.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  run_explore as run_explore_with,
  run_campaign as run_campaign_with,
  run_queue_worker as run_queue_worker_with,
  run_queued_campaign as run_queued_campaign_with,
  shrink as shrink_with,
  type CampaignOptions as CampaignRunOptions,
  type CampaignSummary,
  type ExploreOptions as ExploreRunOptions,
  type QueuedCampaign,
  type QueuedCampaignOptions as QueuedRunOptions,
  type QueueWorkerOptions as QueueWorkerRunOptions,
  type ShrinkOptions as ShrinkRunOptions,
  type ShrinkResult,
} from "@ksim/campaign";
import type { ExploreReport } from "@ksim/report";
import type { ScenarioSpec } from "@ksim/scenario";
import { machine_runner } from "./runner.js";
import { VERSION } from "./version.js";

/** Makes the named keys of T optional. */
type Defaulted<T, K extends keyof T> = Omit<T, K> & Partial<Pick<T, K>>;

export type CampaignOptions = Defaulted<CampaignRunOptions, "runner" | "worker" | "version">;
export type ExploreOptions = Defaulted<ExploreRunOptions, "runner" | "worker" | "version">;
export type ShrinkOptions = Defaulted<ShrinkRunOptions, "runner">;
export type QueuedCampaignOptions = Defaulted<QueuedRunOptions, "version">;
export type QueueWorkerOptions = Defaulted<QueueWorkerRunOptions, "worker" | "version">;

/** The built piscina worker (stress/worker.ts) that runs one seed per task. */
export function stress_worker_file(): string {
  const here = new URL("./stress/worker.js", import.meta.url);
  if (existsSync(fileURLToPath(here))) return fileURLToPath(here);
  // Running from the TypeScript sources (tests): use the built worker.
  return fileURLToPath(new URL("../dist/stress/worker.js", import.meta.url));
}

export function run_campaign(opts: CampaignOptions): Promise<CampaignSummary> {
  return run_campaign_with({ runner: machine_runner, worker: stress_worker_file(), version: VERSION, ...opts });
}

export function run_explore(opts: ExploreOptions): Promise<ExploreReport> {
  return run_explore_with({ runner: machine_runner, worker: stress_worker_file(), version: VERSION, ...opts });
}

export function shrink(original: ScenarioSpec, seed: number, opts: ShrinkOptions = {}): ShrinkResult {
  return shrink_with(original, seed, { runner: machine_runner, ...opts });
}

export function run_queued_campaign(opts: QueuedCampaignOptions): Promise<QueuedCampaign> {
  return run_queued_campaign_with({ version: VERSION, ...opts });
}

export function run_queue_worker(opts: QueueWorkerOptions): Promise<void> {
  return run_queue_worker_with({ worker: stress_worker_file(), version: VERSION, ...opts });
}
