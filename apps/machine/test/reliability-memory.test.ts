/**
 * Bounded memory: a 24-hour seed-stress run of the patched kernel (about
 * 5 million events) in a fresh `node --expose-gc`, sampling the heap after
 * a full GC at 1 h, 12 h and 24 h, and the sizes of everything a long run
 * appends to (logs, records, task lists, the event queue).
 */
import { spawnSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { ensure_built } from "./reliability-helpers.js";

beforeAll(() => ensure_built(), 180_000);

interface Sample {
  at_h: number;
  heap_mb: number;
  events: number;
}

interface Probe {
  samples: Sample[];
  outcome: string;
  simulated_h: number;
  events: number;
  sizes: Record<string, number>;
}

const PROBE = `
const { load_scenario } = await import(new URL("../dist/index.js", process.env.KSIM_TEST_BASE).href);
const { Machine } = await import(new URL("../dist/machine.js", process.env.KSIM_TEST_BASE).href);
const H = 3600e9;
const spec = load_scenario("seed-stress", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"], duration: "24h", seed: 3 }).spec;
const m = new Machine(spec);
const samples = [];
const marks = [1, 12, 24];
const sample = (now) => {
  global.gc();
  samples.push({ at_h: now / H, heap_mb: process.memoryUsage().heapUsed / 2 ** 20, events: m.k.engine.events });
};
const r = m.run({
  on_progress: (now) => {
    if (marks.length && now >= marks[0] * H) {
      marks.shift();
      sample(now);
    }
  },
});
const k = m.k;
const sizes = {
  dmesg: m.dmesg.length,
  hotplug_log: k.hotplug.log.length,
  cpuhp_ops: m.cpuhp ? m.cpuhp.ops.length : 0,
  cpuhp_nr_ops: m.cpuhp ? m.cpuhp.nr_ops : 0,
  sched_tasks: k.sched.tasks.length,
  live_tasks: [...k.sched.for_each_process()].length,
  pending_events: k.engine.pending,
};
process.stdout.write(JSON.stringify({ samples, outcome: r.outcome, simulated_h: r.simulated_ns / H, events: r.events, sizes }));
`;

describe("bounded memory over a long run", () => {
  it("24 simulated hours of seed-stress (patched): the heap stays flat once the capped logs are full", () => {
    const r = spawnSync(process.execPath, ["--expose-gc", "--input-type=module", "-e", PROBE], {
      encoding: "utf8",
      env: { ...process.env, KSIM_TEST_BASE: new URL(".", import.meta.url).href },
      timeout: 120_000,
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const p = JSON.parse(r.stdout) as Probe;
    console.log(`memory probe: ${JSON.stringify(p)}`);
    expect(p.outcome).toBe("ok");
    expect(p.simulated_h).toBe(24);
    expect(p.events).toBeGreaterThan(4_000_000);
    const [early, mid, late] = p.samples;
    expect(p.samples.map((s) => Math.floor(s.at_h))).toEqual([1, 12, 24]);
    expect(late!.events).toBeGreaterThan(20 * early!.events);
    // The hotplug log fills its 10,000 entries by about 8 h; the heap until
    // then grows with it, and after it not at all with the events.
    expect(late!.heap_mb).toBeLessThan(Math.max(early!.heap_mb * 1.5, early!.heap_mb + 30));
    expect(late!.heap_mb).toBeLessThan(mid!.heap_mb * 1.1 + 1);
    // What a long run appends to stays capped: the hotplug log (10,000 operations),
    // cpuhp-stress's records (4,096), the dmesg lines, the task list.
    expect(p.sizes["cpuhp_nr_ops"]).toBeGreaterThan(10_000);
    expect(p.sizes["hotplug_log"]).toBeLessThanOrEqual(10_000);
    expect(p.sizes["cpuhp_ops"]).toBeLessThanOrEqual(4_096);
    expect(p.sizes["dmesg"]).toBeLessThan(100);
    expect(p.sizes["sched_tasks"]).toBeLessThan(2 * p.sizes["live_tasks"]! + 64);
    expect(p.sizes["pending_events"]).toBeLessThan(100);
  });
});
