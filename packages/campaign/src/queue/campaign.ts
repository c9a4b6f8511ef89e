/**
 * Distributed campaigns: `ksim stress --queue` puts one BullMQ job per block
 * of seeds on the queue of this ksim version, and follows it; `ksim worker`
 * processes (queue/worker.ts) run the jobs; results come back as the jobs'
 * return values and are kept in Redis, so `ksim campaign status|collect ID`
 * can follow or collect a campaign again later, from any machine.
 *
 * Job ids are `<campaign>-<block>`, so a job exists once however often it is
 * retried, and results are keyed by seed: a seed is counted once even when a
 * worker that lost its lock ran it a second time.
 */
import { randomBytes } from "node:crypto";
import { appendFileSync } from "node:fs";
import type { Queue } from "bullmq";
import type { Outcome, ScenarioSpec } from "@ksim/scenario";
import { CampaignProgress, parse_seed_range, read_results, summarize, type CampaignBase } from "../stress/campaign.js";
import type { CampaignSummary, SeedResult } from "../stress/types.js";
import { open_link, open_queue, queue_name, type QueueLink } from "./connection.js";
import { QueueUsageError } from "./url.js";

/** What one BullMQ job carries: the loaded scenario and its block of seeds. */
export interface QueueJobData {
  campaign: string;
  /** The submitter's ksim version (the queue's name says it too). */
  ksim: string;
  spec: ScenarioSpec;
  seeds: number[];
  max_events?: number;
  max_wall_ms?: number;
}

/** How to replay a seed of the campaign with `ksim run`. */
export interface ReplayInfo {
  ref: string;
  sets: string[];
  duration?: string;
}

/** Kept in Redis under `ksim:campaign:<id>`, so the campaign can be collected later. */
export interface CampaignMeta {
  campaign: string;
  ksim: string;
  queue: string;
  spec: ScenarioSpec;
  expected: Outcome;
  /** The seeds as compact ranges ("1..40,45"). */
  seeds: string;
  runs: number;
  /** Seeds per job. */
  block: number;
  jobs: number;
  replay: ReplayInfo;
  created_at: string;
  max_events?: number;
  max_wall_ms?: number;
}

/** Most jobs one campaign puts on the queue: larger campaigns get larger blocks. */
export const MAX_JOBS = 10_000;
const ADD_CHUNK = 500;
const READ_CHUNK = 1000;
/** After this long with no job started, say how to start a worker. */
const NO_WORKER_HINT_MS = 10_000;

const meta_key = (id: string) => `ksim:campaign:${id}`;

export function new_campaign_id(): string {
  return randomBytes(5).toString("hex");
}

export function check_campaign_id(id: string): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new QueueUsageError(`campaign id: expected letters, digits, - or _, got ${JSON.stringify(id)}`);
  return id;
}

/** [1,2,3,5,7,8] -> "1..3,5,7..8": the seeds of a campaign, short enough to store and show. */
export function format_seed_ranges(seeds: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < seeds.length; ) {
    let j = i;
    // parse_seed_range takes at most 1000001 seeds per range.
    while (j + 1 < seeds.length && seeds[j + 1] === seeds[j]! + 1 && seeds[j + 1]! - seeds[i]! <= 1_000_000) j++;
    parts.push(i === j ? `${seeds[i]}` : `${seeds[i]}..${seeds[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

export interface Block {
  id: string;
  seeds: number[];
}

/** The campaign's jobs: consecutive blocks of its seeds, in order. */
export function campaign_blocks(campaign: string, seeds: readonly number[], block: number): Block[] {
  const out: Block[] = [];
  for (let i = 0; i * block < seeds.length; i++) out.push({ id: `${campaign}-${i}`, seeds: seeds.slice(i * block, (i + 1) * block) });
  return out;
}

/** Seeds per job: as asked, else one, else as many as keep the campaign within MAX_JOBS jobs. */
export function block_size(seeds: number, asked: number | undefined): number {
  return Math.max(asked ?? 1, Math.ceil(seeds / MAX_JOBS));
}

function error_result(seed: number, error: string): SeedResult {
  return { seed, outcome: "error", simulated_ns: 0, detected_at_ns: null, events: 0, wall_ms: 0, error };
}

type JobState = "missing" | "waiting" | "running" | "completed" | "failed";

interface JobView {
  state: JobState;
  /** For completed and failed jobs: one result per seed of the block. */
  results?: SeedResult[];
  /** It has been taken by a worker at least once. */
  started: boolean;
}

/** A job's return value, checked: one SeedResult for each seed of its block. */
function block_results(block: Block, returned: string): SeedResult[] {
  let value: unknown;
  try {
    value = JSON.parse(returned);
  } catch {
    value = null;
  }
  const by_seed = new Map<number, SeedResult>();
  if (Array.isArray(value)) {
    for (const r of value as unknown[]) {
      const x = r as Partial<SeedResult> | null;
      if (x && typeof x === "object" && typeof x.seed === "number" && typeof x.outcome === "string") by_seed.set(x.seed, x as SeedResult);
    }
  }
  return block.seeds.map((s) => by_seed.get(s) ?? error_result(s, "the worker returned no result for this seed"));
}

/** The state of each job, read with one HMGET per job (sent together). */
async function read_jobs(queue: Queue, blocks: readonly Block[]): Promise<Map<string, JobView>> {
  const client = await queue.client;
  const out = new Map<string, JobView>();
  const active = new Set(await client.lrange(queue.toKey("active"), 0, -1));
  for (let i = 0; i < blocks.length; i += READ_CHUNK) {
    const chunk = blocks.slice(i, i + READ_CHUNK);
    const rows = await Promise.all(
      chunk.map((b) => client.hmget(queue.toKey(b.id), "timestamp", "finishedOn", "returnvalue", "failedReason", "processedOn")),
    );
    chunk.forEach((b, k) => {
      const [timestamp, finished_on, returnvalue, failed_reason, processed_on] = rows[k]!;
      const started = processed_on !== null && processed_on !== undefined;
      if (timestamp === null || timestamp === undefined) {
        out.set(b.id, { state: "missing", started, results: b.seeds.map((s) => error_result(s, `job ${b.id} is no longer on the queue (removed?)`)) });
      } else if (finished_on && typeof returnvalue === "string") {
        out.set(b.id, { state: "completed", started, results: block_results(b, returnvalue) });
      } else if (finished_on) {
        const why = failed_reason ? `job failed: ${failed_reason}` : "job failed";
        out.set(b.id, { state: "failed", started, results: b.seeds.map((s) => error_result(s, why)) });
      } else {
        out.set(b.id, { state: active.has(b.id) ? "running" : "waiting", started });
      }
    });
  }
  return out;
}

/** Waits `ms` of wall time between polls of the queue, or until `signal` aborts. */
export function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

interface FollowOptions {
  /** Results already known (a resumed --out file): counted, not collected. */
  prior: SeedResult[];
  /** Wait until every job has finished; else take what has finished now. */
  wait: boolean;
  out?: string;
  progress?: NodeJS.WritableStream;
  signal?: AbortSignal;
  on_result?: (r: SeedResult) => void;
  log?: (line: string) => void;
}

/** Collects the campaign's results as its jobs finish. */
async function follow(link: QueueLink, queue: Queue, meta: CampaignMeta, blocks: Block[], opts: FollowOptions): Promise<{ results: SeedResult[]; complete: boolean }> {
  const t0 = performance.now();
  const results: SeedResult[] = [...opts.prior];
  const seen = new Set(results.map((r) => r.seed));
  const in_file = opts.out ? new Set(read_results(opts.out).keys()) : new Set<number>();
  const progress = new CampaignProgress(meta.runs + opts.prior.length, results, opts.progress);
  const finish = (r: SeedResult): void => {
    if (seen.has(r.seed)) return;
    seen.add(r.seed);
    results.push(r);
    if (opts.out && !in_file.has(r.seed)) appendFileSync(opts.out, `${JSON.stringify(r)}\n`);
    progress.add(r);
    opts.on_result?.(r);
  };

  const pending = new Map(blocks.map((b) => [b.id, b]));
  let any_started = false;
  let hinted = false;
  try {
    while (pending.size > 0 && !opts.signal?.aborted) {
      const views = await Promise.race([read_jobs(queue, [...pending.values()]), link.lost]);
      for (const [id, v] of views) {
        any_started ||= v.started;
        if (!v.results) continue;
        pending.delete(id);
        for (const r of v.results) finish(r);
      }
      if (!opts.wait || pending.size === 0) break;
      if (!any_started && !hinted && performance.now() - t0 > NO_WORKER_HINT_MS) {
        hinted = true;
        opts.log?.(
          `no worker has taken a job yet; start some with: ksim worker --queue ${link.target.masked} ` +
            `(ksim ${meta.ksim}: workers listen on queue ${meta.queue})`,
        );
      }
      // Poll often while few jobs remain, less often for big campaigns: about 5000 reads a second at most.
      await Promise.race([pause(Math.min(2000, Math.max(200, pending.size / 5)), opts.signal), link.lost]);
    }
  } finally {
    progress.stop();
  }
  return { results, complete: pending.size === 0 };
}

export interface QueuedCampaignOptions extends CampaignBase {
  /** redis://[:password@]HOST:PORT/DB */
  url: string;
  /** Seeds per job (default 1). */
  block?: number;
  replay: ReplayInfo;
  /** Told the campaign once it is on the queue, before any result. */
  on_created?: (meta: CampaignMeta, link: QueueLink) => void;
  log?: (line: string) => void;
}

export interface QueuedCampaign {
  /** null when every seed was already in the resumed --out file. */
  campaign: string | null;
  summary: CampaignSummary;
  /** Every seed has its result (false when following was interrupted). */
  complete: boolean;
}

/** Enqueues a campaign and follows it to the end; results as `run_campaign` gives them. */
export async function run_queued_campaign(opts: QueuedCampaignOptions): Promise<QueuedCampaign> {
  const t0 = performance.now();
  const prior_map = opts.out && opts.resume ? read_results(opts.out) : new Map<number, SeedResult>();
  const prior = opts.seeds.filter((s) => prior_map.has(s)).map((s) => prior_map.get(s)!);
  const todo = opts.seeds.filter((s) => !prior_map.has(s));
  if (todo.length === 0) {
    return { campaign: null, summary: summarize(opts.version, opts.spec, opts.expected, prior, performance.now() - t0), complete: true };
  }
  const link = open_link(opts.url);
  const queue = await open_queue(link, queue_name(opts.version));
  try {
    const id = new_campaign_id();
    const block = block_size(todo.length, opts.block);
    const blocks = campaign_blocks(id, todo, block);
    const meta: CampaignMeta = {
      campaign: id,
      ksim: opts.version,
      queue: queue.name,
      spec: opts.spec,
      expected: opts.expected,
      seeds: format_seed_ranges(todo),
      runs: todo.length,
      block,
      jobs: blocks.length,
      replay: opts.replay,
      created_at: new Date().toISOString(),
      ...(opts.max_events !== undefined ? { max_events: opts.max_events } : {}),
      ...(opts.max_wall_ms !== undefined ? { max_wall_ms: opts.max_wall_ms } : {}),
    };
    const client = await queue.client;
    await Promise.race([client.set(meta_key(id), JSON.stringify(meta)), link.lost]);
    for (let i = 0; i < blocks.length; i += ADD_CHUNK) {
      const jobs = blocks.slice(i, i + ADD_CHUNK).map((b) => ({
        name: "seeds",
        data: job_data(meta, b),
        opts: { jobId: b.id, attempts: 1, removeOnComplete: false, removeOnFail: false },
      }));
      await Promise.race([queue.addBulk(jobs), link.lost]);
    }
    opts.on_created?.(meta, link);
    const { results, complete } = await follow(link, queue, meta, blocks, {
      prior,
      wait: true,
      ...(opts.out ? { out: opts.out } : {}),
      ...(opts.progress ? { progress: opts.progress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.on_result ? { on_result: opts.on_result } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    return { campaign: id, summary: summarize(opts.version, opts.spec, opts.expected, results, performance.now() - t0), complete };
  } finally {
    await queue.close().catch(() => {});
  }
}

function job_data(meta: CampaignMeta, b: Block): QueueJobData {
  return {
    campaign: meta.campaign,
    ksim: meta.ksim,
    spec: meta.spec,
    seeds: b.seeds,
    ...(meta.max_events !== undefined ? { max_events: meta.max_events } : {}),
    ...(meta.max_wall_ms !== undefined ? { max_wall_ms: meta.max_wall_ms } : {}),
  };
}

/** The queue opened to read a campaign's record before its own queue is known; no job is ever put on it. */
const META_QUEUE = "ksim-meta";

/** Opens the queue a campaign lives on (that of the ksim version that created it). */
async function open_campaign(url: string, id: string): Promise<{ link: QueueLink; queue: Queue; meta: CampaignMeta; blocks: Block[] }> {
  check_campaign_id(id);
  const link = open_link(url);
  // Campaign records are not per queue: any queue's client reads them.
  let queue = await open_queue(link, META_QUEUE);
  try {
    const client = await queue.client;
    const text = await Promise.race([client.get(meta_key(id)), link.lost]);
    if (text === null) throw new QueueUsageError(`no campaign ${id} at ${link.target.masked}`);
    const meta = JSON.parse(text) as CampaignMeta;
    if (meta.queue !== queue.name) {
      await queue.close();
      queue = await open_queue(link, meta.queue);
    }
    return { link, queue, meta, blocks: campaign_blocks(meta.campaign, parse_seed_range(meta.seeds), meta.block) };
  } catch (e) {
    await queue.close().catch(() => {});
    throw e;
  }
}

export interface CollectOptions {
  /** Wait for the jobs still queued or running (default); else take what is done. */
  wait?: boolean;
  /** Append the results not already in this JSONL file. */
  out?: string;
  progress?: NodeJS.WritableStream;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

/** The results of an earlier campaign, by its id. */
export async function collect_campaign(url: string, id: string, opts: CollectOptions = {}): Promise<{ meta: CampaignMeta; summary: CampaignSummary; complete: boolean }> {
  const t0 = performance.now();
  const { link, queue, meta, blocks } = await open_campaign(url, id);
  try {
    const { results, complete } = await follow(link, queue, meta, blocks, {
      prior: [],
      wait: opts.wait ?? true,
      ...(opts.out ? { out: opts.out } : {}),
      ...(opts.progress ? { progress: opts.progress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
    return { meta, summary: summarize(meta.ksim, meta.spec, meta.expected, results, performance.now() - t0), complete };
  } finally {
    await queue.close().catch(() => {});
  }
}

/** `ksim campaign status --json`. */
export interface CampaignStatus {
  campaign: string;
  scenario: string;
  ksim: string;
  queue: string;
  created_at: string;
  expected: Outcome;
  seeds: string;
  runs: number;
  jobs: number;
  /** Seeds with a result. */
  done: number;
  ok: number;
  hang: number;
  bug: number;
  error: number;
  /** Jobs a worker holds now, and jobs not yet taken (or put back after a worker died). */
  running_jobs: number;
  waiting_jobs: number;
  complete: boolean;
  /** Workers connected to the campaign's queue (null when Redis does not say: CLIENT LIST disabled). */
  workers: number | null;
}

export async function campaign_status(url: string, id: string): Promise<CampaignStatus> {
  const { link, queue, meta, blocks } = await open_campaign(url, id);
  try {
    const views = await Promise.race([read_jobs(queue, blocks), link.lost]);
    const results = [...views.values()].flatMap((v) => v.results ?? []);
    const count = (o: string) => results.filter((r) => r.outcome === o).length;
    const jobs = [...views.values()];
    let workers: number | null = null;
    try {
      workers = await Promise.race([queue.getWorkersCount(), link.lost]);
    } catch {
      workers = null;
    }
    return {
      campaign: meta.campaign,
      scenario: meta.spec.name,
      ksim: meta.ksim,
      queue: meta.queue,
      created_at: meta.created_at,
      expected: meta.expected,
      seeds: meta.seeds,
      runs: meta.runs,
      jobs: meta.jobs,
      done: results.length,
      ok: count("ok"),
      hang: count("hang"),
      bug: count("bug"),
      error: count("error"),
      running_jobs: jobs.filter((v) => v.state === "running").length,
      waiting_jobs: jobs.filter((v) => v.state === "waiting").length,
      complete: results.length === meta.runs,
      workers,
    };
  } finally {
    await queue.close().catch(() => {});
  }
}

/**
 * Deletes a campaign from Redis: its jobs (results included) and its record.
 * Jobs a worker holds now cannot be removed; they are counted and the record
 * stays, so the removal can be run again once they finish.
 */
export async function remove_campaign(url: string, id: string): Promise<{ removed: number; running: number }> {
  const { link, queue, blocks } = await open_campaign(url, id);
  try {
    let removed = 0;
    for (let i = 0; i < blocks.length; i += READ_CHUNK) {
      const done = await Promise.race([Promise.all(blocks.slice(i, i + READ_CHUNK).map((b) => queue.remove(b.id))), link.lost]);
      removed += done.filter((n) => n === 1).length;
    }
    const views = await Promise.race([read_jobs(queue, blocks), link.lost]);
    const running = [...views.values()].filter((v) => v.state !== "missing").length;
    if (running === 0) {
      const client = await queue.client;
      await Promise.race([client.del(meta_key(id)), link.lost]);
    }
    return { removed, running };
  } finally {
    await queue.close().catch(() => {});
  }
}
