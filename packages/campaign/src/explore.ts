/**
 * `ksim explore`: every combination of the dimensions a scenario leaves
 * open, and with `ties` every order of the events due at the same instant.
 * Combinations run on worker threads (or here); each result is appended to
 * a JSONL file as it finishes, so `resume` picks up where a run stopped.
 * The report groups the runs into outcome classes, each with every
 * combination that gives it and its smallest witness.
 */
import { setMaxListeners } from "node:events";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { SingleBar } from "cli-progress";
import { Piscina } from "piscina";
import type { ExploreClass, ExploreReport } from "@ksim/report";
import type { ExploreValue, Outcome, ScenarioSpec } from "@ksim/scenario";
import { explore_combination, type ComboResult, type ExploreJob } from "./explore/dfs.js";
import { class_splits } from "./explore/split.js";
import { combination, combination_sets, space_size, type Dimension } from "./explore/space.js";
import { run_explore_queued } from "./queue/explore.js";
import type { RunSetOptions } from "./stress/campaign.js";
import { worker_exec_argv } from "./stress/campaign.js";
import type { ScenarioRunner } from "./stress/types.js";

/** `out` holds one line per combination. */
export interface ExploreOptions extends RunSetOptions {
  version: string;
  scenario: string;
  dimensions: Dimension[];
  /** Every order of simultaneous events. */
  ties: boolean;
  expected: Outcome;
  /** The scenario of one combination (its `--set`s applied); called in this thread. */
  spec_of: (sets: string[]) => ScenarioSpec;
  /** `--set`s given besides the dimensions: every witness repeats them. */
  base_sets?: string[];
  /** Stop after this many runs in all; the report then says complete: false. */
  max_runs?: number;
  /** Worker threads; 0 runs here with `runner`. */
  jobs: number;
  runner: ScenarioRunner;
  /** The piscina worker file: its export `explore` takes an ExploreJob and returns a ComboResult. */
  worker?: string | URL;
  /** Run the combinations on `ksim worker` processes through this Redis queue instead of local threads. */
  queue?: { url: string; block?: number; log?: (line: string) => void };
}

/** A line of --out: one combination's result, with its --sets to check a resume against. */
interface OutLine extends ComboResult {
  sets: string[];
}

/** Default bound on the runs of one exploration. */
export const DEFAULT_MAX_RUNS = 1_000_000;

function read_done(file: string, sets_of: (i: number) => string[]): Map<number, ComboResult> {
  const done = new Map<number, ComboResult>();
  if (!existsSync(file)) return done;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as OutLine;
      // A line of another space (other dimensions) is not this combination's result.
      if (JSON.stringify(r.sets) === JSON.stringify(sets_of(r.index))) done.set(r.index, r);
    } catch {
      // A torn last line: that combination runs again.
    }
  }
  return done;
}

/** Hands out run budgets so that the runs of all combinations stay within max_runs. */
class Budget {
  private left: number;
  constructor(
    total: number,
    private readonly slots: number,
  ) {
    this.left = total;
  }
  /** A share of what is left: every thread gets its part. */
  take(): number {
    if (this.left <= 0) return 0;
    const n = Math.min(this.left, Math.max(1, Math.floor(this.left / this.slots)));
    this.left -= n;
    return n;
  }
  give_back(granted: number, used: number): void {
    this.left += granted - used;
  }
  get exhausted(): boolean {
    return this.left <= 0;
  }
}

export async function run_explore(opts: ExploreOptions): Promise<ExploreReport> {
  const t0 = performance.now();
  const dims = opts.dimensions;
  const total = space_size(dims);
  const sets_of = (i: number) => combination_sets(dims, combination(dims, i));
  const prior = opts.out && opts.resume ? read_done(opts.out, sets_of) : new Map<number, ComboResult>();
  if (opts.out && opts.resume && existsSync(opts.out)) {
    const text = readFileSync(opts.out, "utf8");
    if (text.length > 0 && !text.endsWith("\n")) appendFileSync(opts.out, "\n");
  }
  const results = new Map<number, ComboResult>(prior);
  const bar = opts.progress
    ? new SingleBar({ stream: opts.progress, format: "combinations {value}/{total} | runs {runs} | not {expected}: {bad} | {duration_formatted}", hideCursor: true, clearOnComplete: true })
    : null;
  let runs = [...prior.values()].reduce((s, r) => s + r.runs, 0);
  let bad = [...prior.values()].filter((r) => r.outcomes.some((o) => o.outcome !== opts.expected)).length;
  bar?.start(total, prior.size, { runs, bad, expected: opts.expected });
  const finish = (r: ComboResult): void => {
    results.set(r.index, r);
    runs += r.runs;
    if (r.outcomes.some((o) => o.outcome !== opts.expected)) bad++;
    if (opts.out) appendFileSync(opts.out, `${JSON.stringify({ ...r, sets: sets_of(r.index) } satisfies OutLine)}\n`);
    bar?.increment(1, { runs, bad, expected: opts.expected });
  };
  const max_runs = Math.max(1, (opts.max_runs ?? DEFAULT_MAX_RUNS) - runs);
  const jobs = opts.worker === undefined ? 0 : opts.jobs;
  const budget = new Budget(max_runs, Math.max(1, jobs));
  const todo = Array.from({ length: total }, (_, i) => i).filter((i) => !prior.has(i));
  const job = (index: number, max: number): ExploreJob => ({
    index,
    spec: opts.spec_of([...(opts.base_sets ?? []), ...sets_of(index)]),
    ties: opts.ties,
    max_runs: max,
    ...(opts.max_events !== undefined ? { max_events: opts.max_events } : {}),
    ...(opts.max_wall_ms !== undefined ? { max_wall_ms: opts.max_wall_ms } : {}),
  });
  try {
    if (opts.queue) {
      // Every job is on the queue at once: each gets an equal share of the bound.
      const share = opts.max_runs === undefined ? DEFAULT_MAX_RUNS : Math.max(1, Math.floor(max_runs / Math.max(1, todo.length)));
      const q = { url: opts.queue.url, version: opts.version, ...(opts.queue.block !== undefined ? { block: opts.queue.block } : {}), ...(opts.queue.log ? { log: opts.queue.log } : {}), ...(opts.signal ? { signal: opts.signal } : {}) };
      await run_explore_queued(q, todo.map((i) => job(i, share)), finish);
    } else if (jobs <= 0) await run_here(opts, todo, budget, job, finish);
    else await run_pool(opts, jobs, todo, budget, job, finish);
  } finally {
    bar?.stop();
  }
  return report(opts, total, results, performance.now() - t0);
}

type MakeJob = (index: number, max: number) => ExploreJob;

async function run_here(opts: ExploreOptions, todo: number[], budget: Budget, job: MakeJob, finish: (r: ComboResult) => void): Promise<void> {
  for (const i of todo) {
    if (opts.signal?.aborted || budget.exhausted) break;
    const max = budget.take();
    const r = explore_combination(opts.runner, job(i, max));
    budget.give_back(max, r.runs);
    finish(r);
    // Let a signal handler run between combinations.
    await new Promise((res) => setImmediate(res));
  }
}

async function run_pool(opts: ExploreOptions, jobs: number, todo: number[], budget: Budget, job: MakeJob, finish: (r: ComboResult) => void): Promise<void> {
  const worker = opts.worker instanceof URL ? opts.worker.href : opts.worker!;
  const pool = new Piscina<ExploreJob, ComboResult>({
    filename: worker,
    name: "explore",
    execArgv: worker_exec_argv(),
    minThreads: Math.min(jobs, todo.length || 1),
    maxThreads: jobs,
    idleTimeout: 1000,
  });
  if (opts.signal) setMaxListeners(jobs + 16, opts.signal);
  let next = 0;
  // One lane per thread: a lane takes the next combination when its last one is done.
  const lane = async (): Promise<void> => {
    while (next < todo.length && !opts.signal?.aborted && !budget.exhausted) {
      const i = todo[next++]!;
      const max = budget.take();
      const r = await pool.run(job(i, max), opts.signal ? { signal: opts.signal } : {}).catch((e: unknown) => {
        if (opts.signal?.aborted) return null;
        throw e;
      });
      if (r === null) return;
      budget.give_back(max, r.runs);
      finish(r);
    }
  };
  try {
    await Promise.all(Array.from({ length: jobs }, lane));
  } finally {
    await pool.destroy();
  }
}

interface ClassAcc {
  cls: ExploreClass;
  witness_index: number;
}

function report(opts: ExploreOptions, total: number, results: Map<number, ComboResult>, wall_ms: number): ExploreReport {
  const dims = opts.dimensions;
  const classes = new Map<string, ClassAcc>();
  const finals = new Set<string>();
  let runs = 0;
  const pruned = { state_seen: 0, commuting: 0 };
  const indices = [...results.keys()].sort((a, b) => a - b);
  for (const i of indices) {
    const r = results.get(i)!;
    runs += r.runs;
    pruned.state_seen += r.pruned.state_seen;
    pruned.commuting += r.pruned.commuting;
    for (const d of r.final_states) finals.add(d);
    const values = combination(dims, i);
    const combo = Object.fromEntries(dims.map((d, k) => [d.path, values[k]!])) as Record<string, ExploreValue>;
    for (const o of r.outcomes) {
      let acc = classes.get(o.key);
      const witness = { sets: [...(opts.base_sets ?? []), ...combination_sets(dims, values)], ties: o.ties };
      if (!acc) {
        acc = {
          cls: { outcome: o.outcome, count: 0, cycle: o.cycle, ...(o.message !== undefined ? { message: o.message } : {}), combinations: [], witness, split: null },
          witness_index: i,
        };
        classes.set(o.key, acc);
      }
      acc.cls.count += o.count;
      acc.cls.combinations.push(combo);
      if (o.ties.length < acc.cls.witness.ties.length) acc.cls.witness = witness;
    }
  }
  const list = [...classes.values()].map((a) => a.cls).sort((a, b) => b.count - a.count);
  const splits = class_splits(dims, indices, list);
  list.forEach((c, k) => (c.split = splits[k] ?? null));
  const complete = results.size === total && indices.every((i) => results.get(i)!.complete);
  return {
    ksim: opts.version,
    scenario: opts.scenario,
    runs,
    distinct_states: finals.size,
    complete,
    expected: opts.expected,
    dimensions: dims.map((d) => ({ path: d.path, values: [...d.values] })),
    ties: opts.ties,
    combinations: total,
    explored: results.size,
    pruned,
    wall_ms: Math.round(wall_ms * 1000) / 1000,
    classes: list,
  };
}

/** Every run of the exploration met the expected outcome. */
export function explore_passed(r: ExploreReport): boolean {
  return r.classes.every((c) => c.outcome === r.expected);
}
