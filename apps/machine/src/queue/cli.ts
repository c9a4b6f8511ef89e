/**
 * The command line of distributed campaigns: `ksim worker`, `ksim campaign
 * status|collect|remove`, and what `ksim stress --queue` runs. Only the
 * options live here; what each command does is in ./commands.ts, imported when
 * one runs, so that `ksim run` never loads the queue client.
 */
import { InvalidArgumentError, type Command } from "commander";
import type { ScenarioSpec } from "@ksim/scenario";
import type { CliIo } from "../cli_io.js";
import { QUEUE_ENV, type CampaignFlags, type QueueStressFlags, type WorkerFlags } from "./flags.js";

export { QUEUE_ENV, type QueueStressFlags } from "./flags.js";

export function parse_block(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1_000_000) throw new InvalidArgumentError("expected seeds per job, 1..1000000");
  return Number(value);
}

function parse_threads(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 256) throw new InvalidArgumentError("expected a number of worker threads 1..256");
  return Number(value);
}

function parse_ms(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 100 || Number(value) > 3_600_000) throw new InvalidArgumentError("expected milliseconds, 100..3600000");
  return Number(value);
}

function parse_count(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 1000) throw new InvalidArgumentError("expected a count 0..1000");
  return Number(value);
}

/** `ksim stress <ref> --queue URL`: see ./commands.ts. */
export async function run_queued_stress(
  io: CliIo,
  ref: string,
  spec: ScenarioSpec,
  seeds: readonly number[],
  url: string,
  flags: QueueStressFlags,
): Promise<number> {
  const commands = await import("./commands.js");
  return commands.run_queued_stress(io, ref, spec, seeds, url, flags);
}

/** Adds `ksim worker` and `ksim campaign status|collect|remove` to the ksim program. */
export function register_queue_commands(program: Command, io: CliIo, done: (code: number | Promise<number>) => void): void {
  const queue_help = `the Redis of the campaign: redis://[:password@]HOST:PORT/DB (default: $${QUEUE_ENV})`;
  program
    .command("worker")
    .description("take campaign jobs from a Redis queue (ksim stress --queue) and run their seeds on worker threads")
    .option("--queue <redis-url>", queue_help)
    .option("--jobs <n>", "worker threads, and jobs taken at once (default: the number of cores)", parse_threads)
    .option("--name <name>", "this worker's name in job records and logs (default: host-pid)")
    .option("--lock-duration <ms>", "a job whose worker is silent this long is given to another worker (default 15000)", parse_ms)
    .option("--stalled-interval <ms>", "how often to look for jobs of dead workers (default 10000)", parse_ms)
    .option("--max-stalled <n>", "a job whose worker dies more often than this fails: outcome error (default 3)", parse_count)
    .option("--verbose", "one line per finished job")
    .addHelpText(
      "after",
      "\nRuns until SIGINT or SIGTERM (finishes its running jobs; a second signal stops at once and\nleaves them to other workers). Workers take only jobs made by the same ksim version.\n",
    )
    .action((_flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<WorkerFlags>();
      done(import("./commands.js").then((c) => c.cmd_worker(io, flags)));
    });

  const campaign = program.command("campaign").description("follow or collect a distributed campaign (ksim stress --queue) by its id");
  campaign
    .command("status")
    .description("show how far a campaign is: seeds done, outcomes, jobs running and waiting, workers")
    .argument("<id>", "the campaign id ksim stress --queue printed")
    .option("--queue <redis-url>", queue_help)
    .option("--json", "print the status as one JSON document")
    .action((id: string, _flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<CampaignFlags>();
      done(import("./commands.js").then((c) => c.cmd_status(io, id, flags)));
    });
  campaign
    .command("collect")
    .description("wait for a campaign to finish and print its summary, as ksim stress does")
    .argument("<id>", "the campaign id ksim stress --queue printed")
    .option("--queue <redis-url>", queue_help)
    .option("--json", "print the campaign summary as one JSON document")
    .option("--out <file.jsonl>", "append one result line per seed not already in the file")
    .option("--no-wait", "take the results there are now; exit 1 if the campaign is not complete")
    .action((id: string, _flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<CampaignFlags>();
      done(import("./commands.js").then((c) => c.cmd_collect(io, id, flags)));
    });
  campaign
    .command("remove")
    .description("delete a campaign's jobs and results from Redis (they are kept until removed)")
    .argument("<id>", "the campaign id")
    .option("--queue <redis-url>", queue_help)
    .action((id: string, _flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<CampaignFlags>();
      done(import("./commands.js").then((c) => c.cmd_remove(io, id, flags)));
    });
}
