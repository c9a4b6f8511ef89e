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
 *       CPUS CPUs, one RT cycle task and two spinners per CPU, every task
 *       allowed on every CPU, random hotplug of every CPU but 0 (see
 *       scale_scenario): the marginal cost of an event, between runs cut
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
/**
 * The scaling machine: the same work on each CPU at every size, so that the
 * cost of an event on 4 and on 256 CPUs compares like with like. Per CPU, a
 * FIFO task running 300 ms of every second and two NORMAL spinners, each
 * allowed on every CPU; random hotplug of every CPU but 0.
 *
 * Two spinners, not one: a CPU with a single spinner makes no slice ends, so
 * with one the mix of events changed with size (on 4 CPUs, where hotplug
 * takes a third of the CPUs away, slice ends were 82 % of the events; on
 * 256, 24 %). The FIFO tasks are not bound to a CPU: a bound one whose CPU
 * goes down is moved to CPU 0 by select_fallback_rq(), which leaves its
 * rt.nr_cpus_allowed at 1, so it is never pushed away; they piled up there
 * until the hotplug task on CPU 0 starved (the 16-CPU machine hung at 480 s,
 * the 256-CPU one was on its way).
 */
export function scale_scenario(cpus) {
  const all = Array.from({ length: cpus }, (_, i) => i);
  const tasks = [];
  for (let i = 0; i < cpus; i++) {
    // A task is woken first on the first CPU of its list: its own.
    const mask = [...all.slice(i), ...all.slice(0, i)];
    tasks.push({ comm: `rt-cycle${i}`, policy: "FIFO", priority: 40 + (i % 50), cpus: mask, start: `${(i * 7) % 1000}ms`, behavior: { cycle: { run: "300ms", sleep: "700ms" } }, jitter: 0.5 });
    for (let j = 0; j < 2; j++) {
      tasks.push({ comm: `spin${i}.${j}`, policy: "NORMAL", priority: 0, cpus: mask, start: `${1500 + ((i * 13 + j * 7) % 500)}ms`, behavior: { busy: true } });
    }
  }
  return {
    name: `bench-scale-${cpus}`,
    description: `${cpus} CPUs, an RT cycle task and two spinners per CPU, random hotplug of every CPU but 0`,
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
