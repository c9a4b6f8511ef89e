import type { ScenarioRunner, SeedJob, SeedResult } from "./types.js";

/** "task cpuhp-stress/22" -> "task cpuhp-stress": a cycle's shape, whatever the pids. */
export function cycle_shape(nodes: readonly string[]): string[] {
  return nodes.map((n) => n.replace(/^(task .*)\/\d+$/, "$1"));
}

/**
 * Test hook: KSIM_TEST_THROW_SEED=<seed>[,<seed>...] makes those seeds throw
 * an internal error, so tests can show that a failing seed is reported as
 * outcome "error" and the campaign goes on. Not for other use.
 */
function test_hook_throw(seed: number): void {
  const list = process.env["KSIM_TEST_THROW_SEED"];
  if (list && list.split(",").includes(String(seed))) throw new Error(`KSIM_TEST_THROW_SEED: test hook threw on seed ${seed}`);
}

/** Runs one seed; never throws (an internal error becomes outcome "error"). */
export function run_seed(runner: ScenarioRunner, job: SeedJob): SeedResult {
  const t0 = performance.now();
  try {
    test_hook_throw(job.seed);
    const r = runner.run(
      { ...job.spec, seed: job.seed },
      {
        ...(job.max_events !== undefined ? { max_events: job.max_events } : {}),
        ...(job.max_wall_ms !== undefined ? { max_wall_ms: job.max_wall_ms } : {}),
      },
    );
    const out: SeedResult = {
      seed: job.seed,
      outcome: r.outcome,
      simulated_ns: r.simulated_ns,
      detected_at_ns: r.hang?.detected_at_ns ?? null,
      events: r.events,
      wall_ms: r.wall_ms,
    };
    if (r.hang) {
      out.cycle = cycle_shape(r.hang.cycle.map((e) => e.node));
      out.detected_by = r.hang.detected_by;
    }
    if (r.bug) out.bug = r.bug.message;
    return out;
  } catch (e) {
    return {
      seed: job.seed,
      outcome: "error",
      simulated_ns: 0,
      detected_at_ns: null,
      events: 0,
      wall_ms: Math.round((performance.now() - t0) * 1000) / 1000,
      error: e instanceof Error ? e.message : String(e),
    };
  }
}
