#!/usr/bin/env node
/**
 * `pnpm bench`: ksim's speed targets (issue 9), measured on this machine in
 * one run, and written to bench/results.json at the repository root.
 *
 *  1. the bare event loop: the engine's heap with no model behind it;
 *  2. seed-stress with the patch, 48 simulated hours on one thread;
 *  3. time to find the seed hang: `ksim run seed-hang` from a cold start,
 *     and seed-stress as released over seeds 1..20;
 *  4. peak RSS of the 48-hour run, and whether memory grows with it;
 *  5. ksim explore: runs per second of seed-hang-sized runs, every tie
 *     order, on worker threads on all cores.
 *
 * Environment: KSIM_BENCH_QUICK=1 shortens every run (for a smoke test);
 * KSIM_BENCH_ONLY=explore measures row 5 alone (and writes nothing).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Bench } from "tinybench";
import { Engine, SimEvent } from "@ksim/core";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..", "..");
const cli = join(here, "..", "dist", "cli.js");
const quick = process.env.KSIM_BENCH_QUICK === "1";
const HOURS = quick ? 2 : 48;

// ---- child mode: one long run, reporting memory along the way --------------
if (process.argv[2] === "--child-48h") {
  const sample_memory = process.argv[3] === "--memory";
  const { load_scenario } = await import("../dist/index.js");
  const { run_scenario } = await import("../dist/index.js");
  const { spec } = load_scenario("seed-stress", {
    sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"],
    duration: `${HOURS}h`,
    seed: 1,
  });
  const samples = [];
  let next = 0;
  const t0 = performance.now();
  const r = run_scenario(spec, {
    on_progress: (ns) => {
      if (sample_memory && ns >= next) {
        globalThis.gc?.();
        samples.push({ simulated_h: ns / 3.6e12, heap_mb: process.memoryUsage().heapUsed / 1e6, rss_mb: process.memoryUsage().rss / 1e6 });
        next = ns + (HOURS / 8) * 3.6e12;
      }
    },
  });
  const wall_ms = performance.now() - t0;
  process.stdout.write(
    JSON.stringify({
      outcome: r.outcome,
      simulated_ns: r.simulated_ns,
      events: r.events,
      wall_ms,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      samples,
    }),
  );
  process.exit(0);
}

// ---- 5. explore: runs per second on all cores ------------------------------
/** seed-hang's space: hrtimer_cpu_notify's priority by cpu_down's time in the RT period, every tie order. */
async function explore_rate() {
  const { availableParallelism } = await import("node:os");
  const { load_scenario, vary_scenario } = await import("@ksim/scenario");
  const { parse_sweep } = await import("@ksim/campaign");
  const { run_explore } = await import("../dist/index.js");
  const loaded = load_scenario("seed-hang");
  const jobs = availableParallelism();
  const dims = [
    parse_sweep(`kernel.notifier_priority.hrtimer_cpu_notify=-5..20/${quick ? 5 : 1}`),
    parse_sweep(`script[0].at=3s..3.99s/${quick ? "330ms" : "50ms"}`),
  ];
  const t0 = performance.now();
  const r = await run_explore({ scenario: "seed-hang", dimensions: dims, ties: true, expected: "ok", spec_of: (sets) => vary_scenario(loaded, sets).spec, jobs });
  const wall_s = (performance.now() - t0) / 1000;
  return { jobs, combinations: r.combinations, runs: r.runs, complete: r.complete, wall_s: +wall_s.toFixed(2), runs_per_s: Math.round(r.runs / wall_s) };
}
if (process.env.KSIM_BENCH_ONLY === "explore") {
  const e = await explore_rate();
  console.log(`5. explore seed-hang (${e.combinations} combinations, every tie order, ${e.jobs} threads)  ${e.runs_per_s} runs/s (${e.runs} runs in ${e.wall_s} s)`);
  process.exit(0);
}

// ---- 1. the bare event loop ------------------------------------------------
/** The same heap and event records as the model, 64 timers re-arming themselves. */
function bare_loop(n_events) {
  const engine = new Engine();
  let x = 12345;
  const evs = [];
  for (let i = 0; i < 64; i++) {
    const ev = new SimEvent(`e${i}`, (e) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      engine.schedule(e, engine.now + 1 + (x & 0xfffff));
    });
    evs.push(ev);
    engine.schedule(ev, i);
  }
  engine.run(Number.MAX_SAFE_INTEGER, n_events);
  return engine.events;
}
const N_BARE = 1_000_000;
const bench = new Bench({ time: quick ? 200 : 2000, warmupTime: 200 });
bench.add("bare event loop (1M events)", () => {
  bare_loop(N_BARE);
});
await bench.run();
const bare_task = bench.tasks[0];
const bare_mean_ms = bare_task.result.latency?.mean ?? bare_task.result.mean;
const bare_events_per_s = N_BARE / (bare_mean_ms / 1000);

// ---- 2 and 4. seed-stress with the patch, 48 simulated hours, one thread -----
// Timed alone; then once more with forced GCs to sample the heap as it goes.
const timed = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child-48h"], { encoding: "utf8", maxBuffer: 16 << 20 });
if (timed.status !== 0) throw new Error(`48-hour run failed: ${timed.stderr}`);
const long = JSON.parse(timed.stdout);
const mem = (() => {
  const child = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child-48h", "--memory"], { encoding: "utf8", maxBuffer: 16 << 20 });
  if (child.status !== 0) throw new Error(`48-hour memory run failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
})();
const model_events_per_s = long.events / (long.wall_ms / 1000);
const heap = mem.samples.map((s) => s.heap_mb);
const early = heap[1] ?? heap[0];
const late = heap[heap.length - 1];

// ---- 3. time to find the hang ----------------------------------------------
const cold = [];
for (let i = 0; i < 3; i++) {
  const t0 = performance.now();
  execFileSync(process.execPath, [cli, "run", "seed-hang", "--json"], { stdio: "pipe" });
  cold.push(performance.now() - t0);
}
cold.sort((a, b) => a - b);
const { load_scenario } = await import("../dist/index.js");
const { run_scenario } = await import("../dist/index.js");
const released = load_scenario("seed-stress", { duration: "12h" }).spec;
const per_seed = [];
for (let seed = 1; seed <= (quick ? 4 : 20); seed++) {
  const t0 = performance.now();
  const r = run_scenario({ ...released, seed });
  per_seed.push({ seed, outcome: r.outcome, wall_ms: performance.now() - t0, detected_at_h: r.hang ? r.hang.detected_at_ns / 3.6e12 : null });
}
const hung = per_seed.filter((s) => s.outcome === "hang").map((s) => s.wall_ms).sort((a, b) => a - b);
const median = (xs) => (xs.length ? (xs.length % 2 ? xs[xs.length >> 1] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2) : null);

const explore = await explore_rate();

const results = {
  explore,
  machine: { node: process.version, cpus: (await import("node:os")).cpus().length },
  quick,
  bare_loop: { events_per_s: Math.round(bare_events_per_s) },
  seed_stress_patched: {
    simulated_hours: HOURS,
    outcome: long.outcome,
    wall_s: +(long.wall_ms / 1000).toFixed(2),
    simulated_s_per_wall_s: Math.round(long.simulated_ns / 1e9 / (long.wall_ms / 1000)),
    events: long.events,
    events_per_s: Math.round(model_events_per_s),
    fraction_of_bare_loop: +(model_events_per_s / bare_events_per_s).toFixed(3),
  },
  time_to_hang: {
    seed_hang_cold_cli_ms: { min: Math.round(cold[0]), median: Math.round(cold[1]), max: Math.round(cold[2]) },
    seed_stress_released: {
      seeds: per_seed.length,
      hung: hung.length,
      median_wall_ms_to_hang: hung.length ? Math.round(median(hung)) : null,
      per_seed: per_seed.map((s) => ({ ...s, wall_ms: Math.round(s.wall_ms) })),
    },
  },
  memory: {
    peak_rss_mb: Math.round(Math.max(long.peak_rss_mb, mem.peak_rss_mb)),
    heap_samples: mem.samples.map((s) => ({ simulated_h: +s.simulated_h.toFixed(1), heap_mb: +s.heap_mb.toFixed(1), rss_mb: +s.rss_mb.toFixed(1) })),
    heap_growth_mb: +(late - early).toFixed(1),
    flat: late - early < 20,
  },
};
results.targets = {
  "48h patched in <= 20 s": results.seed_stress_patched.wall_s <= 20 || quick,
  "model >= 1/3 of bare loop": results.seed_stress_patched.fraction_of_bare_loop >= 1 / 3,
  "seed-hang cold < 1 s": results.time_to_hang.seed_hang_cold_cli_ms.median < 1000,
  "peak RSS < 200 MB and flat": results.memory.peak_rss_mb < 200 && results.memory.flat,
};

mkdirSync(join(root, "bench"), { recursive: true });
writeFileSync(join(root, "bench", "results.json"), `${JSON.stringify(results, null, 2)}\n`);
const row = (k, v) => console.log(`${k.padEnd(58)} ${v}`);
console.log("\nksim benchmark" + (quick ? " (quick)" : "") + `, node ${process.version}\n`);
row("1. bare event loop", `${(bare_events_per_s / 1e6).toFixed(2)} M events/s`);
row(`2. seed-stress + patch, ${HOURS} simulated h, one thread`, `${results.seed_stress_patched.wall_s} s wall`);
row("   simulated seconds per wall second", `${results.seed_stress_patched.simulated_s_per_wall_s}`);
row("   model events/s", `${(model_events_per_s / 1e6).toFixed(2)} M (${(results.seed_stress_patched.fraction_of_bare_loop * 100).toFixed(0)}% of the bare loop)`);
row("3. seed-hang, cold CLI (min / median / max)", `${cold.map((c) => Math.round(c)).join(" / ")} ms`);
row(`   seed-stress as released, ${per_seed.length} seeds: hung`, `${hung.length}`);
row("   median wall time to the first hang", `${results.time_to_hang.seed_stress_released.median_wall_ms_to_hang} ms`);
row(`4. peak RSS of the ${HOURS}-hour run`, `${results.memory.peak_rss_mb} MB`);
row("   heap early -> late", `${early.toFixed(1)} -> ${late.toFixed(1)} MB (${results.memory.flat ? "flat" : "GROWS"})`);
row(`5. explore seed-hang, every tie order, ${explore.jobs} threads`, `${explore.runs_per_s} runs/s (${explore.runs} runs, ${explore.combinations} combinations)`);
console.log("\ntargets:");
for (const [k, ok] of Object.entries(results.targets)) console.log(`  ${ok ? "met " : "MISS"}  ${k}`);
console.log(`\nwritten to bench/results.json`);
