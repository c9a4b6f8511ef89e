import type { RunResult } from "@ksim/report";
import type { Outcome, ScenarioSpec, ScriptOp } from "@ksim/scenario";

/** Bounds on one run, besides the scenario's own duration. */
export interface RunLimits {
  /** Stop after this many events (the result says so in `stopped_early`). */
  max_events?: number;
  /** Stop after this much wall time. */
  max_wall_ms?: number;
}

/** One run, and the hotplug operations its cpuhp-stress task performed. */
export interface RecordedRun {
  result: RunResult;
  /**
   * Every operation cpuhp-stress performed, script and random stress alike,
   * as the script that would repeat it (`at_ns` is when it was due).
   */
  performed: ScriptOp[];
}

/**
 * What a campaign needs of a machine: it never imports one. The caller (the
 * ksim app) gives a runner that assembles a machine for each spec and runs it
 * until its duration or its first hang or bug.
 */
export interface ScenarioRunner {
  run(spec: ScenarioSpec, limits?: RunLimits): RunResult;
  /** The same run, keeping every hotplug operation (shrink replays a random run as a script). */
  run_recorded(spec: ScenarioSpec): RecordedRun;
  /** The same run, with `ex` ordering the events due at the same instant (ksim explore). */
  run_explored?(spec: ScenarioSpec, ex: TieExplorer, limits?: RunLimits): ExploredRun;
}

/** What ksim explore asks of a run: the order of simultaneous events, and whether to go on. */
export interface TieExplorer {
  /** Several events are due at `now` (`due`: their names, first scheduled first): the index of the one to fire first. */
  choose(now: number, due: readonly string[]): number;
  /**
   * An instant with a choice has ended; `digest` is the machine's state.
   * False abandons the run (that state's futures are covered elsewhere).
   */
  instant_end(now: number, digest: string): boolean;
}

/** One explored run: its result, and the digest of its final state. */
export interface ExploredRun {
  result: RunResult;
  digest: string;
  /** The explorer abandoned it at an instant_end. */
  abandoned: boolean;
}

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

/** What a worker is asked to run (sent to a worker thread: plain data only). */
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
