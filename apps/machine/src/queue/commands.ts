/**
 * What the commands of distributed campaigns do (`ksim worker`, `ksim campaign
 * status|collect|remove`, `ksim stress --queue`), loaded only when one runs:
 * the queue client (BullMQ, ioredis) is the heaviest thing ksim can load.
 * Exit status as for `ksim stress`: 0 every seed met the expected outcome, 1
 * not (or the campaign is not complete), 2 bad input or Redis unreachable,
 * 130 interrupted.
 */
import { writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
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
import type { ScenarioSpec } from "@ksim/scenario";
import { run_queue_worker, run_queued_campaign } from "../campaigns.js";
import { fail, replay_command } from "../cli_common.js";
import type { CliIo } from "../cli_io.js";
import { QUEUE_ENV, type CampaignFlags, type QueueStressFlags, type WorkerFlags } from "./flags.js";


/** Bad input of the queue commands: exit 2, one line. */
const QUEUE_USAGE = [QueueUsageError, QueueUnreachable, RangeError] as const;

function fail_queue(io: CliIo, e: unknown, debug: boolean, mask: (s: string) => string): number {
  return fail(io, e, debug, { mask, usage: QUEUE_USAGE });
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
    return fail_queue(io, e, flags.debug === true, mask);
  } finally {
    off();
  }
}

function queue_url(flags: { queue?: string }): string {
  const url = flags.queue ?? process.env[QUEUE_ENV];
  if (url === undefined || url === "") throw new QueueUsageError(`--queue: give the Redis URL (redis://[:password@]HOST:PORT/DB) or set ${QUEUE_ENV}`);
  return url;
}

export async function cmd_worker(io: CliIo, flags: WorkerFlags): Promise<number> {
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
    return fail_queue(io, e, flags.debug === true, mask);
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

export async function cmd_status(io: CliIo, id: string, flags: CampaignFlags): Promise<number> {
  let mask = (s: string) => s;
  try {
    const url = queue_url(flags);
    mask = masker(url);
    const s = await campaign_status(url, id);
    io.stdout(flags.json ? `${JSON.stringify(s)}\n` : format_status(s, mask(url)));
    return ExitCode.OK;
  } catch (e) {
    return fail_queue(io, e, flags.debug === true, mask);
  }
}

export async function cmd_collect(io: CliIo, id: string, flags: CampaignFlags): Promise<number> {
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
    return fail_queue(io, e, flags.debug === true, mask);
  } finally {
    off();
  }
}

export async function cmd_remove(io: CliIo, id: string, flags: CampaignFlags): Promise<number> {
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
    return fail_queue(io, e, flags.debug === true, mask);
  }
}
