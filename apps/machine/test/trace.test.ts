import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TraceRecord } from "@ksim/core";
import { load_scenario, run_scenario, type RunResult } from "../src/index.js";
import { render_html_report } from "@ksim/report";
import { FtraceSink, open_outputs, OutputError, PerfettoSink, TraceCollector } from "@ksim/report";

const dir = mkdtempSync(join(tmpdir(), "ksim-trace-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ev {
  name: string;
  ph: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid?: number;
  cat?: string;
  args?: Record<string, unknown>;
  bind_id?: number;
  flow_in?: boolean;
  flow_out?: boolean;
}

function run_hang(sinks: { write(r: TraceRecord): void }[]): RunResult {
  return run_scenario(load_scenario("seed-hang").spec, { trace: sinks });
}

describe("Perfetto trace of seed-hang", () => {
  let doc: { traceEvents: Ev[]; displayTimeUnit: string; otherData: Record<string, unknown> };
  let evs: Ev[];
  const tid_named = (name: string) => evs.find((e) => e.ph === "M" && e.name === "thread_name" && e.args?.["name"] === name)?.tid;

  beforeAll(() => {
    const path = join(dir, "hang.json");
    const sink = new PerfettoSink(path);
    sink.finish(run_hang([sink]));
    doc = JSON.parse(readFileSync(path, "utf8")) as typeof doc;
    evs = doc.traceEvents;
  });

  it("is one trace-event JSON document naming the run", () => {
    expect(doc.displayTimeUnit).toBe("ns");
    expect(doc.otherData).toMatchObject({ scenario: "seed-hang", seed: 1, outcome: "hang", simulated_ns: 240e9 });
    expect(evs.find((e) => e.name === "process_name" && e.pid === 1)?.args?.["name"]).toBe("machine: seed-hang seed 1 (hang)");
  });

  it("has a track per CPU with a slice per running task", () => {
    const cpu0 = tid_named("CPU 0");
    const cpu1 = tid_named("CPU 1");
    expect(cpu0).toBe(1000);
    expect(cpu1).toBe(1001);
    const slices = (tid: number | undefined) => evs.filter((e) => e.ph === "X" && e.pid === 1 && e.tid === tid);
    // rt-hog0 runs on CPU 0 from 1.2 s until the throttle at 2.951 s (trace-event times are in us).
    expect(slices(cpu0).find((e) => e.name === "rt-hog0")).toMatchObject({ cat: "RT", ts: 1_200_000, dur: 1_751_000 });
    expect(slices(cpu1).find((e) => e.name === "rt-hog1")).toMatchObject({ cat: "RT", ts: 1_100_000, dur: 1_852_000 });
    expect(slices(cpu0).filter((e) => e.name === "cpuhp-stress").length).toBeGreaterThanOrEqual(2);
    // Idle gets no slice.
    expect(evs.some((e) => e.ph === "X" && e.name === "swapper")).toBe(false);
  });

  it("draws throttled and offline intervals and rt_time counters", () => {
    const thr = evs.filter((e) => e.ph === "X" && e.tid === tid_named("CPU 0 rt_throttled"));
    // Throttled at 2.951 and 3.95 s; cpu_down(1)'s domain rebuild at
    // CPU_DOWN_PREPARE (3.951 s, after stop_machine_create made the kstop
    // threads through kthreadd) resets rt_time and unthrottles. kstop/1 is
    // behind CPU 1's throttle (rt-hog1, 3.951 s) until the period timer at
    // 4 s, which also takes kstop/0's spin off CPU 0's rt_time; rt-hog0 then
    // runs 951 ms and CPU 0 throttles for good at 4.951 s.
    expect(thr.map((e) => e.ts)).toEqual([2_951_000, 3_950_000, 4_951_000]);
    expect(thr[1]!.dur).toBe(1_000);
    expect(thr[2]!.dur).toBe(240_000_000 - 4_951_000);
    const off = evs.filter((e) => e.ph === "X" && e.tid === tid_named("CPU 1 offline"));
    expect(off).toHaveLength(1);
    // take_cpu_down runs once kstop/1 gets CPU 1, at 4 s
    expect(off[0]).toMatchObject({ ts: 4_000_000, dur: 236_000_000 });
    const rt0 = evs.filter((e) => e.ph === "C" && e.name === "CPU 0 rt_time").map((e) => e.args?.["ms"]);
    expect(rt0).toEqual([951, 1, 951, 0, 951]);
  });

  it("names sched_rt_period_timer and shows it stranded on CPU 1's base", () => {
    const tid = tid_named("sched_rt_period_timer base CPU");
    expect(tid).toBeDefined();
    const base = evs.filter((e) => e.ph === "X" && e.tid === tid);
    expect(base[0]).toMatchObject({ name: "on CPU 0", ts: 0, dur: 1_000_000 });
    // Re-armed on CPU 1 by its expiry at 4 s, just before CPU 1 dies (4 s).
    expect(base.at(-1)).toMatchObject({ name: "on CPU 1", ts: 4_000_000, args: { ended_by: "still queued", cpu: 1 } });
    expect(evs.filter((e) => e.name === "hrtimer_expire sched_rt_period_timer")).toHaveLength(4);
  });

  it("has an instant for every hotplug notification and a slice per operation", () => {
    const hp = tid_named("hotplug");
    // Four notifiers (migration_call, timer_cpu_notify, hrtimer_cpu_notify,
    // cpu_callback) at each of cpu_up(1)'s three events at boot; seven (those,
    // update_runtime, workqueue_cpu_callback, cpuset_track_online_cpus) at
    // DOWN_PREPARE and DYING; none returns at DEAD before the hang.
    expect(evs.filter((e) => e.ph === "i" && e.tid === hp && e.args?.["notifier"] !== undefined)).toHaveLength(26);
    expect(evs.find((e) => e.ph === "i" && e.name === "CPU_DYING hrtimer_cpu_notify")).toMatchObject({ ts: 4_000_000, args: { ret: "NOTIFY_OK", target_cpu: 1 } });
    expect(evs.find((e) => e.ph === "i" && e.name === "CPU_DOWN_PREPARE cpuset_track_online_cpus")).toMatchObject({ ts: 3_951_000, args: { ret: "NOTIFY_OK" } });
    expect(evs.find((e) => e.ph === "X" && e.name === "cpu_down(1)")).toMatchObject({ ts: 3_950_000, args: { result: "incomplete", from_cpu: 0 } });
    expect(evs.filter((e) => e.ph === "i" && e.name.startsWith("sched_wakeup")).length).toBe(38);
  });

  it("marks the wait-for cycle: a track per node, linked by one flow", () => {
    const nodes = evs.filter((e) => e.ph === "M" && e.pid === 2 && e.name === "thread_name").map((e) => e.args?.["name"]);
    expect(nodes).toEqual([
      "task cpuhp-stress/10",
      "task migration/1/5",
      "cpu 0",
      "rt_rq 0",
      "hrtimer sched_rt_period_timer",
      "notifier hrtimer_cpu_notify (CPU_DEAD)",
    ]);
    const cyc = evs.filter((e) => e.ph === "X" && e.pid === 2);
    expect(cyc).toHaveLength(7);
    expect(cyc.every((e) => e.bind_id === 1)).toBe(true);
    expect(cyc[0]).toMatchObject({ name: "waits for task migration/1/5", flow_out: true, ts: 4_951_000 });
    expect(cyc[0]!.flow_in).toBeUndefined();
    expect(cyc.slice(1, 6).every((e) => e.flow_in && e.flow_out)).toBe(true);
    expect(cyc[6]).toMatchObject({ name: "cycle closes", tid: 6000, flow_in: true });
    expect(cyc[6]!.flow_out).toBeUndefined();
    expect(cyc[3]!.args?.["because"]).toMatch(/rt_rq 0 is throttled/);
  });
});

describe("streaming", () => {
  it("writes the trace while the run goes, and close() without a result still ends the JSON", () => {
    const path = join(dir, "stress.json");
    const sink = new PerfettoSink(path);
    const spec = load_scenario("seed-stress", { duration: "20s" }).spec;
    run_scenario(spec, { trace: [sink] });
    // Before finish(), most of the trace is already on disk (flushed in 64 KiB chunks).
    const before = statSync(path).size;
    expect(before).toBeGreaterThan(100_000);
    sink.close();
    const after = statSync(path).size;
    expect(after - before).toBeLessThan(70_000);
    const doc = JSON.parse(readFileSync(path, "utf8")) as { traceEvents: Ev[] };
    expect(doc.traceEvents.filter((e) => e.ph === "X").length).toBeGreaterThan(500);
    expect(doc.traceEvents.filter((e) => e.name === "thread_name" && String(e.args?.["name"]).match(/^CPU \d$/)).length).toBe(4);
  });

  it("the same scenario and seed give byte-identical traces", () => {
    const texts = [1, 2].map((i) => {
      const outs = open_outputs({ trace: join(dir, `d${i}.json`), ftrace: join(dir, `d${i}.txt`) });
      run_hang(outs.sinks);
      outs.close();
      return [readFileSync(join(dir, `d${i}.json`), "utf8"), readFileSync(join(dir, `d${i}.txt`), "utf8")];
    });
    expect(texts[0]![0]).toBe(texts[1]![0]);
    expect(texts[0]![1]).toBe(texts[1]![1]);
  });

  it("a path that cannot be written fails before the run, naming the option", () => {
    expect(() => open_outputs({ ftrace: join(dir, "no/such/dir/t.txt") })).toThrow(OutputError);
    expect(() => open_outputs({ html: join(dir, "no/such/dir/r.html") })).toThrow(/^--html .*no\/such\/dir\/r\.html: ENOENT/);
  });
});

describe("ftrace text of seed-hang", () => {
  let lines: string[];
  beforeAll(() => {
    const path = join(dir, "hang.txt");
    const sink = new FtraceSink(path);
    sink.finish(run_hang([sink]));
    lines = readFileSync(path, "utf8").split("\n");
  });

  it("starts with the nop tracer's header", () => {
    expect(lines.slice(0, 4)).toEqual([
      "# tracer: nop",
      "#",
      "#           TASK-PID    CPU#    TIMESTAMP  FUNCTION",
      "#              | |       |          |         |",
    ]);
  });

  it("prints every event in the kernel's shape, sched_switch with its fields", () => {
    const body = lines.filter((l) => l !== "" && !l.startsWith("#"));
    expect(body).toHaveLength(171);
    const context = /^ *\S.{0,15}-\d+ {0,4} \[\d{3}\] +\d+\.\d{6}: [a-z_]+: /;
    for (const l of body) expect(l).toMatch(context);
    // The column of "[cpu]" is fixed: comm right-aligned to 16, "-", pid left-aligned to 5, " ".
    for (const l of body) expect(l.indexOf(" [")).toBe(22);
    const switches = body.filter((l) => l.includes(": sched_switch: "));
    expect(switches).toHaveLength(53);
    const shape = /^ *\S+-\d+ +\[\d{3}\] +\d+\.\d{6}: sched_switch: prev_comm=\S+ prev_pid=\d+ prev_prio=\d+ prev_state=[RSDTtZXxW|]+ ==> next_comm=\S+ next_pid=\d+ next_prio=\d+$/;
    for (const l of switches) expect(l).toMatch(shape);
    expect(body).toContain(
      "         rt-hog0-9     [000]     2.951000: sched_switch: prev_comm=rt-hog0 prev_pid=9 prev_prio=49 prev_state=R ==> next_comm=swapper next_pid=0 next_prio=140",
    );
    expect(body).toContain("    cpuhp-stress-10    [000]     4.951000: sched_wakeup: comm=migration/1 pid=5 prio=0 success=1 target_cpu=000");
    expect(body).toContain("          <idle>-0     [001]     1.100000: hrtimer_start: hrtimer=sched_rt_period_timer function=sched_rt_period_timer expires=2000000000 softexpires=2000000000");
    expect(body).toContain("         rt-hog1-8     [001]     2.000000: hrtimer_expire_entry: hrtimer=sched_rt_period_timer now=2000000000 function=sched_rt_period_timer");
    expect(body).toContain("    cpuhp-stress-10    [000]     4.951000: sched_kthread_stop: comm=migration/1 pid=5");
  });

  it("ends with the outcome as a comment", () => {
    expect(lines.filter((l) => l.startsWith("# ksim"))).toEqual(["# ksim 0.1.0: seed-hang seed 1: outcome hang at 240.000000 s, 171 entries"]);
  });
});

describe("the HTML report's window", () => {
  it("keeps the last N records and starts from the state the earlier ones left", () => {
    // The last 8 records are khungtaskd's: its switch out after the first
    // scan at 120 s, and its timer, wake-up and scan at 240 s.
    const c = new TraceCollector({ max_records: 8 });
    const r = run_hang([c]);
    const w = c.window();
    expect(w.records).toHaveLength(8);
    expect(w.total_records).toBe(171);
    expect(w.dropped_records).toBe(163);
    expect(w.start_ns).toBe(120e9);
    expect(w.records[0]!.event).toBe("sched_switch");
    const html = render_html_report(r, w);
    expect(html).toContain("the last 8 trace records before the end of the run");
    // CPU 1 went offline at 4 s, before the window: the timeline still shows it, from the window's start.
    expect(html).toContain("<title>CPU 1 offline 120.000000 s .. 240.000000 s</title>");
    expect(html).toMatch(/sched_rt_period_timer queued on CPU 1&#39;s base while CPU 1 is offline, 120\.000000 s \.\. 240\.000000 s/);
    expect(html).toContain("<title>rt_rq 0 throttled 120.000000 s .. 240.000000 s (2 min)</title>");
  });

  it("holds no more than max_records records however long the run", () => {
    const c = new TraceCollector({ max_records: 500 });
    run_scenario(load_scenario("seed-stress", { duration: "20s" }).spec, { trace: [c] });
    const w = c.window();
    expect(w.total_records).toBeGreaterThan(1500);
    expect(w.records).toHaveLength(500);
    for (let i = 1; i < w.records.length; i++) expect(w.records[i]!.ts).toBeGreaterThanOrEqual(w.records[i - 1]!.ts);
  });
});
