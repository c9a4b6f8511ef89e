#!/usr/bin/env node
/**
 * A/B measurements of the model's hot path (issue 21), one process per run:
 *
 *   node apps/machine/bench/profile.mjs stress [hours] [dist]
 *       seed-stress with the patch (migration_thread_stop=CPU_POST_DEAD),
 *       seed 1, `hours` simulated hours (48), after the bare event loop
 *       measured in the same process; prints events, wall time, events/s
 *       and the fraction of the bare loop.
 *   node apps/machine/bench/profile.mjs scale [cpus] [events] [dist]
 *       the bench's scaling machine of `cpus` CPUs (children.mjs
 *       scale_scenario): runs cut at `events` and 4 × `events` events, and
 *       the cost of an event between the two.
 *
 * `dist` is another build's apps/machine/dist (a scratch worktree of an
 * older commit), so two builds can be timed alternately on one machine.
 * Times are CPU seconds of the process, which other work on a shared
 * machine disturbs less than wall time. Run under `node --cpu-prof` for a
 * profile.
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bare_loop } from "./bare-loop.mjs";
import { scale_scenario } from "./children.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const [mode = "stress", a1, a2, a3] = process.argv.slice(2);

/** CPU seconds of this process (user and system): less at the mercy of other work on a shared machine than wall time. */
function cpu_s() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

function bare_rate() {
  bare_loop(1_000_000);
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = cpu_s();
    const n = bare_loop(2_000_000);
    best = Math.max(best, n / (cpu_s() - t0));
  }
  return best;
}

async function load(dist) {
  const d = dist ? resolve(dist) : join(here, "..", "dist");
  return import(pathToFileURL(join(d, "index.js")).href);
}

if (mode === "stress") {
  const hours = Number(a1 ?? 48);
  const m = await load(a2);
  const bare = bare_rate();
  const { spec } = m.load_scenario("seed-stress", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"], duration: `${hours}h`, seed: 1 });
  const t0 = performance.now();
  const c0 = cpu_s();
  const r = m.run_scenario(spec);
  const cpu = cpu_s() - c0;
  const wall = (performance.now() - t0) / 1000;
  const eps = r.events / cpu;
  console.log(JSON.stringify({ mode, hours, outcome: r.outcome, events: r.events, wall_s: +wall.toFixed(2), cpu_s: +cpu.toFixed(2), events_per_cpu_s: Math.round(eps), bare_events_per_cpu_s: Math.round(bare), fraction: +(eps / bare).toFixed(3) }));
} else if (mode === "scale") {
  // The marginal cost of an event: runs cut at `events` and at 4 × `events`
  // events, three of each alternately, the fastest of each; the boot and
  // the module load fall out of the difference.
  const cpus = Number(a1 ?? 4);
  const n = Number(a2 ?? 200_000);
  const m = await load(a3);
  const spec = m.parse_scenario(scale_scenario(cpus), `bench-scale-${cpus}`);
  const timed = (max_events) => {
    const t0 = cpu_s();
    const r = m.run_scenario(spec, { max_events });
    return { events: r.events, wall_s: cpu_s() - t0 };
  };
  let short = { events: 0, wall_s: Infinity };
  let long = { events: 0, wall_s: Infinity };
  for (let i = 0; i < 3; i++) {
    const a = timed(n);
    if (a.wall_s < short.wall_s) short = a;
    const b = timed(4 * n);
    if (b.wall_s < long.wall_s) long = b;
  }
  const us = ((long.wall_s - short.wall_s) * 1e6) / (long.events - short.events);
  console.log(JSON.stringify({ mode, cpus, events: [short.events, long.events], cpu_s: [+short.wall_s.toFixed(2), +long.wall_s.toFixed(2)], us_per_event: +us.toFixed(3) }));
} else {
  throw new Error(`unknown mode ${mode}: stress or scale`);
}
