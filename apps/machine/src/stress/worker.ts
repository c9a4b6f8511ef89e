/** The piscina worker of `ksim stress` and `ksim worker`: one seed per task, on this machine. */
import { run_seed, type SeedJob, type SeedResult } from "@ksim/campaign";
import { machine_runner } from "../runner.js";

export default function (job: SeedJob): SeedResult {
  return run_seed(machine_runner, job);
}
