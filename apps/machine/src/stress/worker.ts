/** The piscina worker: one seed per task. */
import { run_seed } from "./run_seed.js";
import type { SeedJob, SeedResult } from "./types.js";

export default function (job: SeedJob): SeedResult {
  return run_seed(job);
}
