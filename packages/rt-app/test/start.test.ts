import { make_test_kernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { parse_rt_app, start_rt_app } from "../src/index.js";

/**
 * How rt-app's threads start (src/rt-app.c): main() creates every thread
 * with pthread_create, so each is a fork of the launcher (SCHED_OTHER,
 * nice 0, its CPU mask); thread_body() waits on main()'s barrier, sleeps
 * until t_zero + delay, calls set_thread_param() for the thread, and only
 * then, at each phase's start, set_thread_affinity() and the phase's
 * set_thread_param(). Before it exits it goes back to SCHED_OTHER.
 *
 * These run on core's reference executor, which keeps a new task on its
 * parent's CPU (the launcher's, CPU 0 here) where the real scheduler's fork
 * balancing would choose one.
 */

const MS = 1_000_000;

function start(text: string, cpus: number) {
  const k = make_test_kernel({ cpus, trace: true });
  const r = start_rt_app(k, parse_rt_app(text, "s.json"), { time_base_ns: 0 });
  return { k, r };
}

/** The CPUs a task was switched in on, in order, repeats dropped. */
function cpus_run_on(k: ReturnType<typeof start>["k"], pid: number): number[] {
  const out: number[] = [];
  for (const rec of k.records) {
    if (rec.event !== "sched_switch" || rec.fields.next_pid !== pid) continue;
    if (out.at(-1) !== rec.cpu) out.push(rec.cpu);
  }
  return out;
}

describe("how rt-app threads start", () => {
  it("a thread with a delay sleeps through it as the launcher's fork: SCHED_OTHER nice 0 on every CPU", () => {
    const { k, r } = start(`{ "tasks": { "rt": { "delay": 10000, "policy": "SCHED_FIFO", "priority": 50, "cpus": [1], "loop": 1, "run": 1000 } } }`, 2);
    const p = r.instances[0]!.task;
    k.run(5 * MS);
    // clock_nanosleep() comes before set_thread_param() and set_thread_affinity().
    expect([p.state, p.policy, p.static_prio, p.cpus_allowed.to_list(), p.cpu]).toEqual(["S", "NORMAL", 120, [0, 1], 0]);
    k.run(10 * MS + 500_000);
    expect([p.policy, p.rt_priority, p.cpus_allowed.to_list(), p.cpu]).toEqual(["FIFO", 50, [1], 1]);
  });

  it("a pinned thread first runs where it was forked, then moves when its first phase sets the affinity", () => {
    const { k, r } = start(`{ "tasks": { "t": { "cpus": [1], "loop": 1, "run": 1000 } } }`, 2);
    k.run(10 * MS);
    expect(cpus_run_on(k, r.instances[0]!.task.pid)).toEqual([0, 1]);
    expect(r.instances[0]!.task.se.sum_exec_runtime).toBe(1 * MS);
  });

  it("per-phase cpus move the thread at the phase boundary, and a phase without cpus takes the thread's", () => {
    const { k, r } = start(
      `{ "tasks": { "t": { "cpus": [2], "loop": 1, "phases": {
        "a": { "cpus": [1], "run": 1000 }, "b": { "cpus": [3], "run": 1000 }, "c": { "run": 1000 } } } } }`,
      4,
    );
    k.run(10 * MS);
    const p = r.instances[0]!.task;
    expect(cpus_run_on(k, p.pid)).toEqual([0, 1, 3, 2]);
    // Each phase's start in the log: the moves cost no time.
    expect(r.logs()[0]!.text.trim().split("\n").slice(1).map((l) => Number(l.trim().split(/\s+/)[4]))).toEqual([0, 1000, 2000]);
  });

  it("threads created at start wait on main()'s barrier until the last has run", () => {
    // One CPU: a runs first, sleeps on the barrier (a futex), b arrives last and wakes it.
    const { k, r } = start(`{ "tasks": { "a": { "loop": 1, "run": 1000 }, "b": { "loop": 1, "run": 1000 } } }`, 1);
    const [a, b] = r.instances.map((i) => i.task);
    k.run(10 * MS);
    const wakeups = k.records
      .filter((rec) => (rec.event === "sched_wakeup" || rec.event === "sched_wakeup_new") && rec.fields.pid === a!.pid)
      .map((rec) => [rec.ts, rec.event, rec.comm]);
    // Forked from the launcher (an interrupt here, no task), then woken by b's pthread_barrier_wait.
    expect(wakeups).toEqual([[0, "sched_wakeup_new", "swapper"], [0, "sched_wakeup", "b-1"]]);
    expect([a!.se.sum_exec_runtime, b!.se.sum_exec_runtime]).toEqual([1 * MS, 1 * MS]);
  });

  it("a thread that ends goes back to SCHED_OTHER, keeping its nice value", () => {
    const { k, r } = start(
      `{ "tasks": { "f": { "policy": "SCHED_FIFO", "priority": 30, "loop": 1, "run": 1000 }, "n": { "priority": 5, "loop": 1, "run": 1000 } } }`,
      2,
    );
    k.run(10 * MS);
    const [f, n] = r.instances.map((i) => i.task);
    expect([f!.state, f!.policy, f!.rt_priority, f!.static_prio]).toEqual(["X", "NORMAL", 0, 120]);
    expect([n!.state, n!.policy, n!.static_prio]).toEqual(["X", "NORMAL", 125]);
  });

  it("a forked thread inherits its parent's policy and mask until its own set_thread_param and affinity", () => {
    const { k, r } = start(
      `{ "tasks": {
        "parent": { "policy": "SCHED_FIFO", "priority": 40, "cpus": [1], "loop": 1, "fork": "child", "run": 1000 },
        "child": { "instance": 0, "delay": 5000, "priority": -5, "loop": 1, "run": 1000 } } }`,
      2,
    );
    k.run(2 * MS);
    const child = r.instances[1]!.task;
    // Forked at 0 on CPU 1; its delay counts from t_zero, so it sleeps until 5 ms as a FIFO 40 thread.
    expect([child.state, child.policy, child.rt_priority, child.cpus_allowed.to_list(), child.cpu]).toEqual(["S", "FIFO", 40, [1], 1]);
    k.run(5 * MS + 500_000);
    // set_thread_param: SCHED_OTHER nice -5; no cpus of its own, so it keeps the mask it was forked with.
    expect([child.policy, child.static_prio, child.cpus_allowed.to_list()]).toEqual(["NORMAL", 115, [1]]);
  });

  it("a repeated phase sets its policy once, not on every iteration", () => {
    // On the reference executor a sched_setscheduler of a running task puts it
    // behind its equals. b, FIFO 10 like a, wakes on CPU 1 at 0.5 ms and sets
    // its affinity to CPU 0: the call returns once b runs there, behind a.
    // Were a's phase set again at 1 ms and 2 ms, b would run in between.
    const k = make_test_kernel({ cpus: 2 });
    const r = start_rt_app(
      k,
      parse_rt_app(
        `{ "tasks": {
          "a": { "policy": "SCHED_FIFO", "priority": 10, "cpus": [0], "loop": 1, "phases": { "p": { "loop": 3, "priority": 10, "run": 1000 } } },
          "b": { "policy": "SCHED_FIFO", "priority": 10, "cpus": [0], "delay": 500, "loop": 1, "run": 1000 } } }`,
        "s.json",
      ),
      { time_base_ns: 0, launcher_cpu: 1 },
    );
    k.run(10 * MS);
    const starts = r.logs().map((l) => l.text.trim().split("\n").slice(1).map((row) => Number(row.trim().split(/\s+/)[4])));
    expect(starts).toEqual([[0, 1000, 2000], [3000]]);
  });
});
