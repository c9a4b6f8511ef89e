/**
 * The command line of distributed campaigns: `ksim worker`, `ksim campaign
 * status|collect|remove`, and what `ksim stress --queue` runs. Exit status as for
 * `ksim stress`: 0 every seed met the expected outcome, 1 not (or the
 * campaign is not complete), 2 bad input or Redis unreachable, 130
 * interrupted.
 */
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { InvalidArgumentError, type Command } from "commander";
import {
  campaign_passed,
  campaign_status,
  collect_campaign,
  masker,
  QueueUnreachable,
  QueueUsageError,
  remove_campaign,
  type CampaignStatus,
  type CampaignSummary,
  type ReplayInfo,
} from "@ksim/campaign";
import { ExitCode, format_campaign_text, render_campaign_html } from "@ksim/report";
import type { Outcome, ScenarioSpec } from "@ksim/scenario";
import { run_queue_worker, run_queued_campaign } from "../campaigns.js";
import type { CliIo } from "../cli_io.js";


/** The environment variable that gives `--queue` to workers and `ksim campaign` (keeps a password off the command line). */
export const QUEUE_ENV = "KSIM_QUEUE";

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

/** Reports an error in one line, without the password; returns the exit status. */
function fail(io: CliIo, e: unknown, debug: boolean, mask: (s: string) => string): number {
  const message = mask(e instanceof Error ? e.message : String(e));
  if (e instanceof QueueUsageError || e instanceof QueueUnreachable || e instanceof RangeError) {
    io.stderr(`ksim: ${message}\n`);
    return ExitCode.USAGE;
  }
  io.stderr(`ksim: internal error: ${message}\n`);
  if (debug) io.stderr(`${mask(e instanceof Error && e.stack ? e.stack : String(e))}\n`);
  else io.stderr("ksim: (run again with --debug for the stack trace)\n");
  return ExitCode.INTERNAL;
}

/** The command that replays one seed exactly (as `ksim stress` prints it). */
function replay_command(r: ReplayInfo, seed: number): string {
  const q = (x: string) => (/^[\w./:=,-]+$/.test(x) ? x : `'${x.replace(/'/g, "'\\''")}'`);
  const parts = ["ksim run", q(r.ref), `--seed ${seed}`];
  if (r.duration) parts.push(`--duration ${q(r.duration)}`);
  for (const s of r.sets) parts.push(`--set ${q(s)}`);
  return parts.join(" ");
}

function print_summary(io: CliIo, summary: CampaignSummary, campaign: string | null, json: boolean, replay: ReplayInfo): void {
  if (json) {
    const { ksim, ...rest } = summary;
    io.stdout(`${JSON.stringify(campaign === null ? summary : { ksim, campaign, ...rest })}\n`);
  } else io.stdout(format_campaign_text(summary, (seed) => replay_command(replay, seed)));
}

/** SIGINT (and SIGTERM) abort `first`; a second one aborts `second`. */
function on_signals(first: AbortController, second?: AbortController): () => void {
  const handler = (): void => {
    if (!first.signal.aborted) first.abort();
    else second?.abort();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.removeListener("SIGINT", handler);
    process.removeListener("SIGTERM", handler);
  };
}

/** What `ksim stress` passes on when it has `--queue`. */
export interface QueueStressFlags {
  block?: number;
  html?: string;
  maxEvents?: number;
  maxWall?: number;
  set?: string[];
  duration?: string;
  json?: boolean;
  out?: string;
  resume?: boolean;
  expect?: Outcome;
  debug?: boolean;
}

/**
 * `ksim stress <ref> --queue URL`: the scenario and seeds are loaded and
 * checked by `cmd_stress`; this enqueues them, follows the campaign and prints
 * what a local run prints.
 */
export async function run_queued_stress(
  io: CliIo,
  ref: string,
  spec: ScenarioSpec,
  seeds: readonly number[],
  url: string,
  flags: QueueStressFlags,
): Promise<number> {
  const mask = masker(url);
  const replay: ReplayInfo = { ref, sets: flags.set ?? [], ...(flags.duration !== undefined ? { duration: flags.duration } : {}) };
  const stop = new AbortController();
  // Set from a callback, so not narrowed to its initial value.
  const made: { campaign: string | null; where: string } = { campaign: null, where: "" };
  const off = on_signals(stop);
  try {
    const r = await run_queued_campaign({
      url,
      spec,
      seeds,
      expected: flags.expect ?? spec.expect?.outcome ?? "ok",
      replay,
      ...(flags.block !== undefined ? { block: flags.block } : {}),
      ...(flags.out ? { out: flags.out } : {}),
      ...(flags.resume ? { resume: true } : {}),
      ...(flags.maxEvents !== undefined ? { max_events: flags.maxEvents } : {}),
      ...(flags.maxWall !== undefined ? { max_wall_ms: flags.maxWall } : {}),
      ...(process.stderr.isTTY ? { progress: process.stderr } : {}),
      signal: stop.signal,
      log: (line) => io.stderr(`ksim: ${mask(line)}\n`),
      on_created: (meta, link) => {
        made.campaign = meta.campaign;
        made.where = link.target.masked;
        const where = made.where;
        io.stderr(
          `ksim: campaign ${meta.campaign}: ${meta.runs} seed${meta.runs === 1 ? "" : "s"} in ${meta.jobs} job${meta.jobs === 1 ? "" : "s"} on queue ${meta.queue} at ${where}\n` +
            `ksim: follow or collect it from anywhere with: ksim campaign collect ${meta.campaign} --queue ${where}\n`,
        );
      },
    });
    if (stop.signal.aborted && made.campaign !== null) {
      io.stderr(`\nksim: stopped following; campaign ${made.campaign} goes on on the workers: ksim campaign collect ${made.campaign} --queue ${made.where}\n`);
    }
    if (flags.html) writeFileSync(flags.html, render_campaign_html(r.summary));
    print_summary(io, r.summary, r.campaign, flags.json === true, replay);
    if (!r.complete) return ExitCode.INTERRUPTED;
    return campaign_passed(r.summary) && r.summary.runs === seeds.length ? ExitCode.OK : ExitCode.UNEXPECTED;
  } catch (e) {
    return fail(io, e, flags.debug === true, mask);
  } finally {
    off();
  }
}

interface WorkerFlags {
  queue?: string;
  jobs?: number;
  name?: string;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalled?: number;
  verbose?: boolean;
  debug?: boolean;
}

interface CampaignFlags {
  queue?: string;
  json?: boolean;
  out?: string;
  wait?: boolean;
  debug?: boolean;
}

function queue_url(flags: { queue?: string }): string {
  const url = flags.queue ?? process.env[QUEUE_ENV];
  if (url === undefined || url === "") throw new QueueUsageError(`--queue: give the Redis URL (redis://[:password@]HOST:PORT/DB) or set ${QUEUE_ENV}`);
  return url;
}

async function cmd_worker(io: CliIo, flags: WorkerFlags): Promise<number> {
  let mask = (s: string) => s;
  const stop = new AbortController();
  const kill = new AbortController();
  const off = on_signals(stop, kill);
  try {
    const url = queue_url(flags);
    mask = masker(url);
    const name = flags.name;
    await run_queue_worker({
      url,
      jobs: flags.jobs ?? availableParallelism(),
      ...(name !== undefined ? { name } : {}),
      ...(flags.lockDuration !== undefined ? { lock_duration_ms: flags.lockDuration } : {}),
      ...(flags.stalledInterval !== undefined ? { stalled_interval_ms: flags.stalledInterval } : {}),
      ...(flags.maxStalled !== undefined ? { max_stalled: flags.maxStalled } : {}),
      verbose: flags.verbose === true,
      log: (line) => io.stderr(`ksim worker${name !== undefined ? ` ${name}` : ""}: ${mask(line)}\n`),
      stop: stop.signal,
      kill: kill.signal,
    });
    return ExitCode.OK;
  } catch (e) {
    return fail(io, e, flags.debug === true, mask);
  } finally {
    off();
  }
}

function format_status(s: CampaignStatus, where: string): string {
  const lines = [
    `campaign ${s.campaign}: ${s.scenario}, seeds ${s.seeds} (${s.runs} in ${s.jobs} job${s.jobs === 1 ? "" : "s"}), expected ${s.expected}`,
    `  done ${s.done}/${s.runs}: ${s.ok} ok, ${s.hang} hang, ${s.bug} bug, ${s.error} error`,
    `  jobs: ${s.running_jobs} running, ${s.waiting_jobs} waiting; workers on queue ${s.queue}: ${s.workers ?? "unknown"}`,
    `  created ${s.created_at} by ksim ${s.ksim}`,
  ];
  lines.push(s.complete ? `  complete: ksim campaign collect ${s.campaign} --queue ${where}` : "  not complete yet");
  return `${lines.join("\n")}\n`;
}

async function cmd_status(io: CliIo, id: string, flags: CampaignFlags): Promise<number> {
  let mask = (s: string) => s;
  try {
    const url = queue_url(flags);
    mask = masker(url);
    const s = await campaign_status(url, id);
    io.stdout(flags.json ? `${JSON.stringify(s)}\n` : format_status(s, mask(url)));
    return ExitCode.OK;
  } catch (e) {
    return fail(io, e, flags.debug === true, mask);
  }
}

async function cmd_collect(io: CliIo, id: string, flags: CampaignFlags): Promise<number> {
  let mask = (s: string) => s;
  const stop = new AbortController();
  const off = on_signals(stop);
  try {
    const url = queue_url(flags);
    mask = masker(url);
    const r = await collect_campaign(url, id, {
      wait: flags.wait !== false,
      ...(flags.out ? { out: flags.out } : {}),
      ...(process.stderr.isTTY ? { progress: process.stderr } : {}),
      signal: stop.signal,
      log: (line) => io.stderr(`ksim: ${mask(line)}\n`),
    });
    if (!r.complete) io.stderr(`ksim: campaign ${id}: ${r.summary.runs} of ${r.meta.runs} seeds done so far\n`);
    print_summary(io, r.summary, r.meta.campaign, flags.json === true, r.meta.replay);
    if (stop.signal.aborted) return ExitCode.INTERRUPTED;
    return r.complete && campaign_passed(r.summary) ? ExitCode.OK : ExitCode.UNEXPECTED;
  } catch (e) {
    return fail(io, e, flags.debug === true, mask);
  } finally {
    off();
  }
}

async function cmd_remove(io: CliIo, id: string, flags: CampaignFlags): Promise<number> {
  let mask = (s: string) => s;
  try {
    const url = queue_url(flags);
    mask = masker(url);
    const r = await remove_campaign(url, id);
    if (r.running > 0) {
      io.stderr(`ksim: campaign ${id}: removed ${r.removed} jobs; ${r.running} still held by workers: run this again when they finish\n`);
      return ExitCode.UNEXPECTED;
    }
    io.stderr(`ksim: campaign ${id}: removed (${r.removed} jobs)\n`);
    return ExitCode.OK;
  } catch (e) {
    return fail(io, e, flags.debug === true, mask);
  }
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
      done(cmd_worker(io, cmd.optsWithGlobals<WorkerFlags>()));
    });

  const campaign = program.command("campaign").description("follow or collect a distributed campaign (ksim stress --queue) by its id");
  campaign
    .command("status")
    .description("show how far a campaign is: seeds done, outcomes, jobs running and waiting, workers")
    .argument("<id>", "the campaign id ksim stress --queue printed")
    .option("--queue <redis-url>", queue_help)
    .option("--json", "print the status as one JSON document")
    .action((id: string, _flags: unknown, cmd: Command) => {
      done(cmd_status(io, id, cmd.optsWithGlobals<CampaignFlags>()));
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
      done(cmd_collect(io, id, cmd.optsWithGlobals<CampaignFlags>()));
    });
  campaign
    .command("remove")
    .description("delete a campaign's jobs and results from Redis (they are kept until removed)")
    .argument("<id>", "the campaign id")
    .option("--queue <redis-url>", queue_help)
    .action((id: string, _flags: unknown, cmd: Command) => {
      done(cmd_remove(io, id, cmd.optsWithGlobals<CampaignFlags>()));
    });
}
