/**
 * `ksim stress`: one run per seed on a pool of worker threads (piscina),
 * each until its duration or its first hang or bug. Results are appended to
 * a JSONL file as each seed finishes, so an interrupted campaign keeps what
 * it found and `--resume` picks up where it stopped.
 */
import { setMaxListeners } from "node:events";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { SingleBar } from "cli-progress";
import { Piscina } from "piscina";
import type { Outcome, ScenarioSpec } from "@ksim/scenario";
import { run_seed } from "./run_seed.js";
import type { CampaignSummary, ScenarioRunner, SeedJob, SeedResult } from "./types.js";

/** What every campaign takes, run here or through a queue. */
/** What every run set takes, a stress campaign or an exploration: where results go, the bounds of each run, progress, stop. */
export interface RunSetOptions {
  /** Append each result to this JSONL file as it finishes. */
  out?: string;
  /** Skip what `out` already holds, and count those results. */
  resume?: boolean;
  max_events?: number;
  max_wall_ms?: number;
  /** Draw a progress bar here (a terminal). */
  progress?: NodeJS.WritableStream;
  /** Stop handing out (or following) work; finished results are kept. */
  signal?: AbortSignal;
}

export interface CampaignBase extends RunSetOptions {
  /** The ksim version of the runs: the summary's `ksim`, and a queued campaign's queue (`ksim-<version>`). */
  version: string;
  spec: ScenarioSpec;
  seeds: readonly number[];
  expected: Outcome;
  on_result?: (r: SeedResult) => void;
}

export interface CampaignOptions extends CampaignBase {
  /** Worker threads; 0 runs the seeds one by one in this thread, with `runner`. */
  jobs: number;
  /** Runs the seeds in this thread (jobs 0). */
  runner: ScenarioRunner;
  /**
   * The piscina worker file, needed when jobs > 0: its default export takes a
   * SeedJob and returns a SeedResult, as `run_seed` with the caller's runner does.
   */
  worker?: string | URL;
}

/** "1..20" or "7" or "1,5,9" to a list of seeds. */
export function parse_seed_range(text: string): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^\s*(\d+)\s*(?:\.\.\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new RangeError(`expected seeds as A..B, N or a comma list, got ${JSON.stringify(text)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || b < a) {
      throw new RangeError(`expected seeds A..B with A <= B, got ${JSON.stringify(text)}`);
    }
    if (b - a > 1_000_000) throw new RangeError(`at most 1000001 seeds in one range, got ${b - a + 1}`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return [...new Set(out)];
}

/** Results already in a JSONL file (a torn last line is ignored). */
export function read_results(file: string): Map<number, SeedResult> {
  const done = new Map<number, SeedResult>();
  if (!existsSync(file)) return done;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (!line.trim()) continue;
    try {
      const r = JSON.parse(line) as SeedResult;
      if (Number.isSafeInteger(r.seed) && typeof r.outcome === "string") done.set(r.seed, r);
    } catch {
      // An interrupted write leaves half a line: that seed runs again.
    }
  }
  return done;
}

/**
 * The parent's node flags, less any resolution conditions: a test runner's
 * "source" condition would point the built worker at TypeScript sources.
 */
export function worker_exec_argv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--conditions" || a === "-C") {
      i++;
      continue;
    }
    if (a.startsWith("--conditions=") || a.startsWith("-C=")) continue;
    out.push(a);
  }
  return out;
}

/** A campaign's progress bar (on a terminal) and its running counts. */
export class CampaignProgress {
  private hangs: number;
  private bugs: number;
  private sim_ns = 0;
  private readonly t0 = performance.now();
  private readonly bar: SingleBar | null;

  constructor(total: number, done: readonly SeedResult[], stream: NodeJS.WritableStream | undefined) {
    this.hangs = done.filter((r) => r.outcome === "hang").length;
    this.bugs = done.filter((r) => r.outcome === "bug" || r.outcome === "error").length;
    this.bar = stream
      ? new SingleBar({
          stream,
          format: "seeds {value}/{total} | hangs {hangs} | bugs {bugs} | {speed} sim-h/s | {duration_formatted}",
          hideCursor: true,
          clearOnComplete: true,
        })
      : null;
    this.bar?.start(total, done.length, { hangs: this.hangs, bugs: this.bugs, speed: "0" });
  }

  add(r: SeedResult): void {
    if (r.outcome === "hang") this.hangs++;
    if (r.outcome === "bug" || r.outcome === "error") this.bugs++;
    this.sim_ns += r.simulated_ns;
    const secs = (performance.now() - this.t0) / 1000;
    this.bar?.increment(1, { hangs: this.hangs, bugs: this.bugs, speed: (this.sim_ns / 3.6e12 / Math.max(secs, 1e-3)).toFixed(1) });
  }

  stop(): void {
    this.bar?.stop();
  }
}

export function summarize(version: string, spec: ScenarioSpec, expected: Outcome, results: SeedResult[], wall_ms: number): CampaignSummary {
  const sorted = [...results].sort((a, b) => a.seed - b.seed);
  const count = (o: string) => sorted.filter((r) => r.outcome === o).length;
  return {
    ksim: version,
    scenario: spec.name,
    runs: sorted.length,
    ok: count("ok"),
    hang: count("hang"),
    bug: count("bug"),
    error: count("error"),
    simulated_ns: sorted.reduce((s, r) => s + r.simulated_ns, 0),
    events: sorted.reduce((s, r) => s + r.events, 0),
    wall_ms: Math.round(wall_ms * 1000) / 1000,
    expected,
    results: sorted,
  };
}

export async function run_campaign(opts: CampaignOptions): Promise<CampaignSummary> {
  const worker = opts.worker instanceof URL ? opts.worker.href : opts.worker;
  if (opts.jobs > 0 && worker === undefined) throw new RangeError("run_campaign: jobs > 0 needs the worker file that runs a seed");
  const t0 = performance.now();
  const prior = opts.out && opts.resume ? read_results(opts.out) : new Map<number, SeedResult>();
  // A torn last line must not swallow the next result.
  if (opts.out && opts.resume && existsSync(opts.out)) {
    const text = readFileSync(opts.out, "utf8");
    if (text.length > 0 && !text.endsWith("\n")) appendFileSync(opts.out, "\n");
  }
  const results: SeedResult[] = opts.seeds.filter((s) => prior.has(s)).map((s) => prior.get(s)!);
  const todo = opts.seeds.filter((s) => !prior.has(s));
  const progress = new CampaignProgress(opts.seeds.length, results, opts.progress);

  const finish = (r: SeedResult): void => {
    results.push(r);
    if (opts.out) appendFileSync(opts.out, `${JSON.stringify(r)}\n`);
    progress.add(r);
    opts.on_result?.(r);
  };
  const job = (seed: number): SeedJob => ({
    spec: opts.spec,
    seed,
    ...(opts.max_events !== undefined ? { max_events: opts.max_events } : {}),
    ...(opts.max_wall_ms !== undefined ? { max_wall_ms: opts.max_wall_ms } : {}),
  });

  // Every queued seed listens for the abort.
  if (opts.signal) setMaxListeners(todo.length + 16, opts.signal);
  try {
    if (opts.jobs <= 0 || worker === undefined) {
      for (const seed of todo) {
        if (opts.signal?.aborted) break;
        finish(run_seed(opts.runner, job(seed)));
        // Let a signal handler run between seeds.
        await new Promise((r) => setImmediate(r));
      }
    } else {
      const pool = new Piscina<SeedJob, SeedResult>({
        filename: worker,
        execArgv: worker_exec_argv(),
        minThreads: Math.min(opts.jobs, todo.length || 1),
        maxThreads: opts.jobs,
        idleTimeout: 1000,
      });
      try {
        await Promise.all(
          todo.map(async (seed) => {
            try {
              const r = await pool.run(job(seed), opts.signal ? { signal: opts.signal } : {});
              finish(r);
            } catch (e) {
              if (opts.signal?.aborted) return;
              finish({
                seed,
                outcome: "error",
                simulated_ns: 0,
                detected_at_ns: null,
                events: 0,
                wall_ms: 0,
                error: e instanceof Error ? e.message : String(e),
              });
            }
          }),
        );
      } finally {
        await pool.destroy();
      }
    }
  } finally {
    progress.stop();
  }
  return summarize(opts.version, opts.spec, opts.expected, results, performance.now() - t0);
}

/** Every seed met the expected outcome. */
export function campaign_passed(s: CampaignSummary): boolean {
  return s.results.every((r) => r.outcome === s.expected);
}
