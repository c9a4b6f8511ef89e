/**
 * `ksim explore --queue URL`: the combinations of an exploration as jobs on
 * the same BullMQ queue (`ksim-<version>`) and `ksim worker` processes that
 * stress campaigns use. A job carries a block of combinations; the worker
 * runs each on its threads and returns their ComboResults.
 */
import type { Queue } from "bullmq";
import type { ComboResult, ExploreJob } from "../explore/dfs.js";
import { new_campaign_id, MAX_JOBS, pause } from "./campaign.js";
import { open_link, open_queue, queue_name, type QueueLink } from "./connection.js";

/** A queued job that runs combinations (its `explore` list) instead of seeds. */
export interface ExploreJobData {
  campaign: string;
  ksim: string;
  explore: ExploreJob[];
}

export interface ExploreQueueOptions {
  url: string;
  version: string;
  /** Combinations per job (default 1, more when the space would need over MAX_JOBS jobs). */
  block?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

function error_combo(job: ExploreJob, why: string): ComboResult {
  return {
    index: job.index,
    runs: 0,
    pruned: { state_seen: 0, commuting: 0 },
    complete: false,
    outcomes: [{ key: `error: ${why}`, outcome: "error", cycle: [], message: why, count: 1, ties: [] }],
    final_states: [],
  };
}

/** The results of finished jobs among `pending` (which loses them). */
async function take_finished(queue: Queue, pending: Map<string, ExploreJob[]>): Promise<ComboResult[]> {
  const out: ComboResult[] = [];
  for (const [id, jobs] of [...pending]) {
    const j = await queue.getJob(id);
    if (!j) {
      pending.delete(id);
      out.push(...jobs.map((x) => error_combo(x, `job ${id} is no longer on the queue (removed?)`)));
      continue;
    }
    if (!j.finishedOn) continue;
    pending.delete(id);
    const returned = Array.isArray(j.returnvalue) ? (j.returnvalue as ComboResult[]) : [];
    const by_index = new Map(returned.map((r) => [r.index, r]));
    const why = j.failedReason ? `job failed: ${j.failedReason}` : "the worker returned no result for this combination";
    out.push(...jobs.map((x) => by_index.get(x.index) ?? error_combo(x, why)));
  }
  return out;
}

/** Puts the jobs on the queue and hands each combination's result to `finish` as its job ends. */
export async function run_explore_queued(opts: ExploreQueueOptions, jobs: ExploreJob[], finish: (r: ComboResult) => void): Promise<void> {
  if (jobs.length === 0) return;
  const link: QueueLink = open_link(opts.url);
  const queue = await open_queue(link, queue_name(opts.version));
  try {
    const id = new_campaign_id();
    const block = Math.max(opts.block ?? 1, Math.ceil(jobs.length / MAX_JOBS));
    const pending = new Map<string, ExploreJob[]>();
    for (let i = 0; i * block < jobs.length; i++) pending.set(`${id}-x${i}`, jobs.slice(i * block, (i + 1) * block));
    await Promise.race([
      queue.addBulk(
        [...pending].map(([jid, list]) => ({
          name: "explore",
          data: { campaign: id, ksim: opts.version, explore: list } satisfies ExploreJobData,
          opts: { jobId: jid, attempts: 1, removeOnComplete: false, removeOnFail: false },
        })),
      ),
      link.lost,
    ]);
    opts.log?.(`exploration ${id}: ${pending.size} jobs on queue ${queue.name} at ${link.target.masked}; start workers with: ksim worker --queue ${link.target.masked}`);
    while (pending.size > 0 && !opts.signal?.aborted) {
      for (const r of await Promise.race([take_finished(queue, pending), link.lost])) finish(r);
      if (pending.size > 0) await Promise.race([pause(Math.min(2000, Math.max(200, pending.size / 5)), opts.signal), link.lost]);
    }
  } finally {
    await queue.close().catch(() => {});
  }
}
