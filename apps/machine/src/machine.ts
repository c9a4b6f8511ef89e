// Placeholder until the machine assembly lands (owned by the lead, not the CLI helper).
import type { RunResult } from "./result.js";
import type { ScenarioSpec } from "./scenario/types.js";

export interface RunOptions {
  /** Stop after this many engine events (a safety bound). */
  max_events?: number;
}

export function run_scenario(_s: ScenarioSpec, _opts: RunOptions = {}): RunResult {
  throw new Error("the machine is not assembled yet");
}
