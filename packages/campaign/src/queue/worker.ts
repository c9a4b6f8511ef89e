/**
 * `ksim worker --queue URL`: takes campaign jobs from the BullMQ queue of this
 * ksim version and runs their seeds on the local pool of worker threads (the
 * same piscina worker `ksim stress` uses), returning the SeedResults as the
 * job's return value.
 *
 * A worker that dies holds its job's lock no longer; after `lock_duration_ms`
 * another worker's stalled-job check (every `stalled_interval_ms`) puts the job
 * back on the queue. A job that stalls more than `max_stalled` times fails,
 * and its seeds are reported with outcome "error".
 */
import { hostname } from "node:os";
import type { Job } from "bullmq";
import { Piscina } from "piscina";
import type { ComboResult, ExploreJob } from "../explore/dfs.js";
import type { SeedJob, SeedResult } from "../stress/types.js";
import type { QueueJobData } from "./campaign.js";
import type { ExploreJobData } from "./explore.js";
import { bullmq, client_message, open_link, open_queue, queue_name } from "./connection.js";
import { worker_exec_argv } from "../stress/campaign.js";

export interface QueueWorkerOptions {
  /** redis://[:password@]HOST:PORT/DB */
  url: string;
  /** This worker's ksim version: it takes jobs from queue `ksim-<version>` only, made by the same version. */
  version: string;
  /** The piscina worker file that runs one seed per task (as for `run_campaign`). */
  worker: string | URL;
  /** Worker threads, and jobs taken at once (>= 1). */
  jobs: number;
  /** Shown by `ksim campaign status` and recorded on each job it takes (default host-pid). */
  name?: string;
  /** How long a job stays ours without renewal (default 15000 ms). */
  lock_duration_ms?: number;
  /** How often to look for jobs of dead workers (default 10000 ms). */
  stalled_interval_ms?: number;
  /** Stalls a job may survive before it fails (default 3). */
  max_stalled?: number;
  log: (line: string) => void;
  /** One line per finished job. */
  verbose?: boolean;
  /** Stop taking jobs, finish the running ones, return. */
  stop?: AbortSignal;
  /** Return at once: the running jobs go back to the queue for other workers. */
  kill?: AbortSignal;
}

export const DEFAULT_LOCK_DURATION_MS = 15_000;
export const DEFAULT_STALLED_INTERVAL_MS = 10_000;
export const DEFAULT_MAX_STALLED = 3;



/** A job's data, checked before any seed runs: a bad job fails (its seeds report "error"). */
function check_job(data: unknown, version: string): QueueJobData | ExploreJobData {
  const x = data as Partial<ExploreJobData> | null;
  if (x && typeof x === "object" && Array.isArray(x.explore)) {
    if (!x.explore.every((j) => typeof j === "object" && j !== null && typeof j.spec === "object" && Number.isSafeInteger(j.index))) {
      throw new Error("bad job: an explore job without its combinations");
    }
    if (x.ksim !== version) throw new Error(`the job was made by ksim ${String(x.ksim)}, this worker is ksim ${version}`);
    return x as ExploreJobData;
  }
  const d = data as Partial<QueueJobData> | null;
  if (!d || typeof d !== "object" || typeof d.spec !== "object" || d.spec === null) throw new Error("bad job: no scenario in the job data");
  if (!Array.isArray(d.seeds) || !d.seeds.every((s) => Number.isSafeInteger(s) && s >= 0)) throw new Error("bad job: no list of seeds in the job data");
  // Another version's model may give other results for the same seed.
  if (d.ksim !== version) throw new Error(`the job was made by ksim ${String(d.ksim)}, this worker is ksim ${version}`);
  return d as QueueJobData;
}

function signalled(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

/** Runs until stopped (returns) or until Redis is lost for good (throws QueueUnreachable). */
export async function run_queue_worker(opts: QueueWorkerOptions): Promise<void> {
  if (!Number.isSafeInteger(opts.jobs) || opts.jobs < 1) throw new RangeError(`a worker needs --jobs 1 or more, got ${opts.jobs}`);
  const link = open_link(opts.url);
  const name = opts.name ?? `${hostname()}-${process.pid}`;
  // Fail fast, with one clear line, when Redis is not there.
  await (await open_queue(link, queue_name(opts.version))).close();

  const pool = new Piscina<SeedJob | ExploreJob, SeedResult | ComboResult>({
    filename: opts.worker instanceof URL ? opts.worker.href : opts.worker,
    execArgv: worker_exec_argv(),
    minThreads: opts.jobs,
    maxThreads: opts.jobs,
    idleTimeout: 60_000,
  });
  const processor = async (job: Job<QueueJobData, SeedResult[]>): Promise<SeedResult[]> => {
    const d = check_job(job.data, opts.version);
    // An exploration's block: each combination on a thread, through the worker file's `explore` export.
    if ("explore" in d) return (await Promise.all(d.explore.map((x) => pool.run(x, { name: "explore" })))) as unknown as SeedResult[];
    const out: SeedResult[] = [];
    for (const seed of d.seeds) {
      out.push(
        (await pool.run({
          spec: d.spec,
          seed,
          ...(d.max_events !== undefined ? { max_events: d.max_events } : {}),
          ...(d.max_wall_ms !== undefined ? { max_wall_ms: d.max_wall_ms } : {}),
        })) as SeedResult,
      );
    }
    return out;
  };
  const { Worker } = await bullmq();
  const worker = new Worker<QueueJobData, SeedResult[]>(queue_name(opts.version), processor, {
    connection: link.connection,
    name,
    concurrency: opts.jobs,
    lockDuration: opts.lock_duration_ms ?? DEFAULT_LOCK_DURATION_MS,
    stalledInterval: opts.stalled_interval_ms ?? DEFAULT_STALLED_INTERVAL_MS,
    maxStalledCount: opts.max_stalled ?? DEFAULT_MAX_STALLED,
    autorun: false,
  });
  let said = "";
  let said_at = 0;
  worker.on("error", (e: unknown) => {
    const m = client_message(link, e);
    link.last_error = m;
    // An outage repeats the same error on every attempt: say it once in a while.
    if (m !== said || performance.now() - said_at > 10_000) opts.log(`redis: ${m}`);
    said = m;
    said_at = performance.now();
  });
  worker.on("failed", (job: Job<QueueJobData, SeedResult[]> | undefined, e: Error) => {
    opts.log(`job ${job?.id ?? "?"} failed: ${client_message(link, e)}`);
  });
  if (opts.verbose) {
    worker.on("completed", (job: Job<QueueJobData, SeedResult[]>, rs: SeedResult[]) => {
      opts.log(`job ${job.id ?? "?"} (campaign ${job.data.campaign}): ${rs.map((r) => `seed ${r.seed} ${r.outcome}`).join(", ")}`);
    });
  }

  let lost: Error | null = null;
  try {
    const running = worker.run();
    running.catch((e: unknown) => {
      opts.log(`stopped: ${client_message(link, e)}`);
    });
    await Promise.race([worker.waitUntilReady(), link.lost]);
    opts.log(`taking jobs from queue ${worker.name} at ${link.target.masked} with ${opts.jobs} thread${opts.jobs === 1 ? "" : "s"} (ksim ${opts.version})`);
    await Promise.race([signalled(opts.stop), signalled(opts.kill), link.lost]);
  } catch (e) {
    lost = e instanceof Error ? e : new Error(String(e));
  }
  const force = lost !== null || opts.kill?.aborted === true;
  if (!force) opts.log("stopping: finishing the running jobs (signal again to stop at once)");
  const closing = worker.close(force);
  await Promise.race([closing, force ? pause(2000) : signalled(opts.kill).then(() => worker.close(true))]).catch(() => {});
  await pool.destroy();
  if (lost !== null) throw lost;
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
