import type { Outcome, ScenarioSpec } from "../scenario/types.js";

/** One seed of a campaign, as `--out FILE.jsonl` and `ksim stress --json` give it. */
export interface SeedResult {
  seed: number;
  /** "error": ksim itself failed on this seed (see `error`). */
  outcome: Outcome | "error";
  simulated_ns: number;
  /** When khungtaskd reported the hang; null unless the outcome is hang. */
  detected_at_ns: number | null;
  events: number;
  wall_ms: number;
  /** The hang's wait-for cycle, node names with pids removed. */
  cycle?: string[];
  /** Who reported the hang: khungtaskd, or ksim's watchdog when khungtaskd was itself stuck. */
  detected_by?: "khungtaskd" | "watchdog";
  /** The BUG message, for outcome bug. */
  bug?: string;
  /** The internal error, for outcome error. */
  error?: string;
}

/** What a worker is asked to run. */
export interface SeedJob {
  spec: ScenarioSpec;
  seed: number;
  max_events?: number;
  max_wall_ms?: number;
}

export interface CampaignSummary {
  ksim: string;
  scenario: string;
  runs: number;
  ok: number;
  hang: number;
  bug: number;
  error: number;
  simulated_ns: number;
  events: number;
  wall_ms: number;
  /** The outcome every seed was expected to have. */
  expected: Outcome;
  results: SeedResult[];
}
