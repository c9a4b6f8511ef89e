/**
 * The piscina worker of `ksim stress`, `ksim explore` and `ksim worker`, on
 * this machine: the default export runs one seed, `explore` one combination.
 */
import { explore_combination, run_seed, type ComboResult, type ExploreJob, type SeedJob, type SeedResult } from "@ksim/campaign";
import { machine_runner } from "../runner.js";

export default function (job: SeedJob): SeedResult {
  return run_seed(machine_runner, job);
}

export function explore(job: ExploreJob): ComboResult {
  return explore_combination(machine_runner, job);
}
