import { NSEC_PER_MSEC, Prng, SimEvent, type TaskStruct } from "@ksim/core";
import { make_test_kernel, type FakeHotplug, type ReferenceExecutor, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { create_workload_task, jitter_ns } from "../src/index.js";
import type { Behavior, WorkloadTask } from "@ksim/scenario";

const ms = (n: number) => n * NSEC_PER_MSEC;

function spec(over: Partial<WorkloadTask> & { behavior: Behavior }): WorkloadTask {
  return { comm: "w", policy: "NORMAL", priority: 0, cpus: null, start_ns: 0, jitter: 0, ...over };
}

/** Runs to `t` exactly and charges every CPU's current task up to then. */
function run_to(k: TestKernel, t: number): void {
  k.engine.schedule(new SimEvent("end", () => {}), t);
  k.run(t);
  const sched = k.sched as ReferenceExecutor;
  for (const rq of sched.rqs) sched.update_curr(rq);
}

/** [start, end) of each stretch `p` ran, from sched_switch records. */
function run_spans(k: TestKernel, p: TaskStruct): [number, number][] {
  const spans: [number, number][] = [];
  let from = -1;
  for (const r of k.records) {
    if (r.event !== "sched_switch") continue;
    if (r.fields.next_pid === p.pid) from = r.ts;
    else if (r.fields.prev_pid === p.pid && from >= 0) {
      spans.push([from, r.ts]);
      from = -1;
    }
  }
  return spans;
}

describe("workload tasks", () => {
  it("busy: always runnable, it takes its whole CPU from its start", () => {
    const k = make_test_kernel({ cpus: 2, trace: true });
    const p = create_workload_task(k, spec({ comm: "hog", policy: "FIFO", priority: 50, cpus: [1], start_ns: ms(5), behavior: { kind: "busy" } }), new Prng(1, "w"));
    expect(p.state).toBe("S");
    expect(p.policy).toBe("FIFO");
    expect(p.rt_priority).toBe(50);
    expect(p.cpus_allowed.to_list()).toEqual([1]);
    run_to(k, ms(105));
    expect(p.se.sum_exec_runtime).toBe(ms(100));
    expect(p.cpu).toBe(1);
    const wake = k.records.find((r) => r.event === "sched_wakeup_new" && r.fields.pid === p.pid)!;
    expect([wake.ts, wake.cpu, wake.fields.target_cpu]).toEqual([ms(5), 1, 1]);
  });

  it("cycle: runs 9 ms and sleeps 1 ms, so 90% of a second", () => {
    const k = make_test_kernel({ cpus: 1, trace: true });
    const p = create_workload_task(k, spec({ priority: -5, behavior: { kind: "cycle", run_ns: ms(9), sleep_ns: ms(1) } }), new Prng(1, "w"));
    expect(p.static_prio).toBe(115);
    run_to(k, ms(1000));
    expect(p.se.sum_exec_runtime).toBe(ms(900));
    const spans = run_spans(k, p);
    expect(spans.slice(0, 3)).toEqual([
      [0, ms(9)],
      [ms(10), ms(19)],
      [ms(20), ms(29)],
    ]);
  });

  it("periodic: released every period on the grid from its start", () => {
    const k = make_test_kernel({ cpus: 1, trace: true });
    const p = create_workload_task(k, spec({ start_ns: ms(3), behavior: { kind: "periodic", period_ns: ms(10), run_ns: ms(2) } }), new Prng(1, "w"));
    run_to(k, ms(103));
    // releases at 3, 13, ..., 93 ms: ten runs of 2 ms
    expect(p.se.sum_exec_runtime).toBe(ms(20));
    expect(run_spans(k, p).map(([s]) => s / 1e6)).toEqual([3, 13, 23, 33, 43, 53, 63, 73, 83, 93]);
  });

  it("periodic: a run longer than the period skips the releases it overran", () => {
    const k = make_test_kernel({ cpus: 1, trace: true });
    const p = create_workload_task(k, spec({ start_ns: ms(3), behavior: { kind: "periodic", period_ns: ms(10), run_ns: ms(15) } }), new Prng(1, "w"));
    run_to(k, ms(103));
    // 3-18, then the 13 ms release is gone: 23-38, 43-58, 63-78, 83-98
    expect(run_spans(k, p)).toEqual([
      [ms(3), ms(18)],
      [ms(23), ms(38)],
      [ms(43), ms(58)],
      [ms(63), ms(78)],
      [ms(83), ms(98)],
    ]);
    expect(p.se.sum_exec_runtime).toBe(ms(75));
  });

  it("periodic: a release that finds the task preempted keeps the grid", () => {
    const k = make_test_kernel({ cpus: 1, trace: true });
    const p = create_workload_task(k, spec({ behavior: { kind: "periodic", period_ns: ms(10), run_ns: ms(2) } }), new Prng(1, "w"));
    // A FIFO task holds the CPU from 5 ms to 17 ms: the release at 10 ms runs at 17-19.
    create_workload_task(k, spec({ comm: "rt", policy: "FIFO", priority: 10, start_ns: ms(5), behavior: { kind: "cycle", run_ns: ms(12), sleep_ns: ms(1000) } }), new Prng(2, "rt"));
    run_to(k, ms(40));
    expect(run_spans(k, p)).toEqual([
      [0, ms(2)],
      [ms(17), ms(19)],
      [ms(20), ms(22)],
      [ms(30), ms(32)],
    ]);
  });

  it("jitter: every length within (1 ± j)·L, whole ns, at least 1", () => {
    const prng = new Prng(7, "j");
    let lo = Infinity;
    let hi = 0;
    let fractional = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = jitter_ns(ms(10), 0.3, prng);
      if (!Number.isInteger(v)) fractional++;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    expect(fractional).toBe(0);
    expect(lo).toBeGreaterThanOrEqual(ms(7));
    expect(hi).toBeLessThanOrEqual(ms(13));
    // the draws cover the range: both ends reached to within 1%
    expect(lo).toBeLessThan(ms(7.1));
    expect(hi).toBeGreaterThan(ms(12.9));
    expect(jitter_ns(3, 1, new Prng(1, "x"))).toBeGreaterThanOrEqual(1);
    let smallest = Infinity;
    for (let i = 0; i < 1000; i++) smallest = Math.min(smallest, jitter_ns(1, 1, prng));
    expect(smallest).toBe(1);
    expect(jitter_ns(ms(10), 0, prng)).toBe(ms(10));
  });

  it("jitter on a cycle task: run and sleep lengths vary within bounds; same seed, same lengths", () => {
    const lengths = (seed: number) => {
      const k = make_test_kernel({ cpus: 1, trace: true });
      const p = create_workload_task(k, spec({ jitter: 0.5, behavior: { kind: "cycle", run_ns: ms(10), sleep_ns: ms(10) } }), new Prng(seed, "workload/w"));
      run_to(k, ms(2000));
      const spans = run_spans(k, p);
      const runs = spans.map(([s, e]) => e - s);
      const sleeps = spans.slice(1).map(([s], i) => s - spans[i]![1]);
      return { runs, sleeps };
    };
    const a = lengths(1);
    expect(a.runs.length).toBeGreaterThan(50);
    for (const v of [...a.runs, ...a.sleeps]) {
      expect(v).toBeGreaterThanOrEqual(ms(5));
      expect(v).toBeLessThanOrEqual(ms(15));
    }
    expect(new Set(a.runs).size).toBeGreaterThan(a.runs.length / 2);
    expect(lengths(1)).toEqual(a);
    expect(lengths(2).runs.slice(0, 10)).not.toEqual(a.runs.slice(0, 10));
  });

  it("the first wake-up comes from the first CPU of its affinity, or the first online CPU if that one is down", () => {
    const k = make_test_kernel({ cpus: 4, trace: true });
    const a = create_workload_task(k, spec({ comm: "a", cpus: [2, 3], start_ns: ms(1), behavior: { kind: "busy" } }), new Prng(1, "a"));
    const b = create_workload_task(k, spec({ comm: "b", cpus: [2, 3], start_ns: ms(8), behavior: { kind: "busy" } }), new Prng(1, "b"));
    expect([a.cpu, b.cpu]).toEqual([2, 2]);
    k.engine.schedule(new SimEvent("cpu2-down", () => (k.hotplug as FakeHotplug).set_online(2, false)), ms(5));
    run_to(k, ms(10));
    const wakes = k.records.filter((r) => r.event === "sched_wakeup_new").map((r) => [r.fields.comm, r.ts, r.cpu, r.fields.target_cpu]);
    expect(wakes).toEqual([
      ["a", ms(1), 2, 2],
      ["b", ms(8), 0, 3],
    ]);
    expect(b.cpu).toBe(3);
  });

  it("start times count from the time base given (the end of boot)", () => {
    const k = make_test_kernel({ cpus: 1 });
    const p = create_workload_task(k, spec({ start_ns: ms(5), behavior: { kind: "busy" } }), new Prng(1, "w"), { time_base_ns: ms(100) });
    run_to(k, ms(110));
    expect(p.se.sum_exec_runtime).toBe(ms(5));
  });
});
