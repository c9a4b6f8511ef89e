#!/usr/bin/env node
/**
 * The runs `pnpm bench` (bench.mjs) times in child processes of their own, so
 * that no run inherits another's JIT state or heap. Each prints one JSON line.
 *
 *   node bench/children.mjs stress HOURS [--memory] [--dist DIR]
 *       seed-stress with the patch for HOURS simulated hours, through the
 *       library of DIR (default: this app's dist/; the bench gives the build
 *       of the commit before the balancer for issue 17's row). --memory
 *       samples the heap after forced GCs (needs node --expose-gc).
 *   node bench/children.mjs scale CPUS EVENTS [REPEAT]
 *       CPUS CPUs, one RT cycle task and one spinner per CPU, random hotplug
 *       of every CPU but 0: the marginal cost of an event, between runs cut
 *       at EVENTS and at 4 × EVENTS events (REPEAT of each, alternately, the
 *       fastest of each), so that boot, module load and JIT warm-up fall out
 *       of the difference. In CPU time of the process (wall time beside it).
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const here = import.meta.dirname;
const PATCH = "kernel.migration_thread_stop=CPU_POST_DEAD";

function flag_value(name) {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** CPU milliseconds this process spent since `c0` (every thread: GC helpers too). */
function cpu_since(c0) {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function memory_sampler(hours) {
  const samples = [];
  let next = 0;
  const on_progress = (ns) => {
    if (ns < next) return;
    globalThis.gc?.();
    const m = process.memoryUsage();
    samples.push({ simulated_h: ns / 3.6e12, heap_mb: m.heapUsed / 1e6, rss_mb: m.rss / 1e6 });
    next = ns + (hours / 8) * 3.6e12;
  };
  return { samples, on_progress };
}

async function stress(hours) {
  const dist = flag_value("--dist") ?? join(here, "..", "dist");
  const lib = await import(pathToFileURL(join(dist, "index.js")).href);
  const { spec } = lib.load_scenario("seed-stress", { sets: [PATCH], duration: `${hours}h`, seed: 1 });
  const mem = process.argv.includes("--memory") ? memory_sampler(hours) : null;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = lib.run_scenario(spec, mem ? { on_progress: mem.on_progress } : {});
  const cpu_ms = cpu_since(c0);
  const wall_ms = performance.now() - t0;
  const peak_rss_mb = process.resourceUsage().maxRSS / 1024;
  return { outcome: r.outcome, simulated_ns: r.simulated_ns, events: r.events, wall_ms, cpu_ms, peak_rss_mb, samples: mem?.samples ?? [] };
}

/** The scaling machine: CPUS CPUs, an RT cycle task pinned to each, a spinner starting on each and allowed on all. */
export function scale_scenario(cpus) {
  const all = Array.from({ length: cpus }, (_, i) => i);
  const tasks = [];
  for (let i = 0; i < cpus; i++) {
    const start = `${(i * 7) % 1000}ms`;
    tasks.push({ comm: `rt-cycle${i}`, policy: "FIFO", priority: 40 + (i % 50), cpus: [i], start, behavior: { cycle: { run: "300ms", sleep: "700ms" } }, jitter: 0.5 });
    const spin_start = `${1500 + ((i * 13) % 500)}ms`;
    tasks.push({ comm: `spin${i}`, policy: "NORMAL", priority: 0, cpus: [...all.slice(i), ...all.slice(0, i)], start: spin_start, behavior: { busy: true } });
  }
  return {
    name: `bench-scale-${cpus}`,
    description: `${cpus} CPUs, an RT cycle task and a spinner per CPU, random hotplug of every CPU but 0`,
    seed: 1,
    duration: "1000000s",
    kernel: { cpus, version: "2.6.34", migration_thread_stop: "CPU_POST_DEAD" },
    tasks,
    stress: { hotplug: { interval: ["500ms", "3s"], cpus: all.slice(1), on: 0 } },
  };
}

function timed_run(lib, spec, max_events) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const r = lib.run_scenario(spec, { max_events });
  return { outcome: r.outcome, events: r.events, cpu_ms: cpu_since(c0), wall_ms: performance.now() - t0 };
}

async function scale(cpus, events, repeat) {
  const lib = await import(pathToFileURL(join(here, "..", "dist", "index.js")).href);
  const spec = lib.parse_scenario(scale_scenario(cpus), `bench-scale-${cpus}`);
  // The fastest by CPU time: on a shared machine, wall time also counts the
  // time other processes held the core.
  let short = { events: 0, cpu_ms: Infinity, wall_ms: Infinity };
  let long = { events: 0, cpu_ms: Infinity, wall_ms: Infinity };
  for (let i = 0; i < repeat; i++) {
    const a = timed_run(lib, spec, events);
    if (a.cpu_ms < short.cpu_ms) short = a;
    const b = timed_run(lib, spec, 4 * events);
    if (b.cpu_ms < long.cpu_ms) long = b;
  }
  const per_event = (key) => ((long[key] - short[key]) * 1000) / (long.events - short.events);
  return { cpus, outcome: long.outcome, events: [short.events, long.events], cpu_ms: [short.cpu_ms, long.cpu_ms], us_per_event: per_event("cpu_ms"), wall_us_per_event: per_event("wall_ms") };
}

// Run as a program; imported (kinds.mjs takes scale_scenario), it only defines.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [mode, a, b, c] = process.argv.slice(2);
  let out;
  if (mode === "stress") out = await stress(Number(a));
  else if (mode === "scale") out = await scale(Number(a), Number(b), Number(c ?? 3));
  else throw new Error("usage: children.mjs stress HOURS [--memory] [--dist DIR] | scale CPUS EVENTS [REPEAT]");
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
