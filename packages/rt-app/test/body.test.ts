import { make_test_kernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { parse_rt_app, rt_app_deadlock, start_rt_app } from "../src/index.js";

const MS = 1_000_000;

function run(text: string, cpus: number, until_ns: number) {
  const k = make_test_kernel({ cpus });
  const w = parse_rt_app(text, "t.json");
  let done_at = -1;
  const r = start_rt_app(k, w, { time_base_ns: 0, on_done: () => (done_at = k.engine.now) });
  k.run(until_ns);
  return { k, r, done_at };
}

const rows = (text: string) =>
  text.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/).map(Number));

describe("thread bodies", () => {
  it("run 10 ms on a 100 ms timer: 10 % of a CPU, period 100 ms, slack 90 ms", () => {
    const { r } = run(`{ "tasks": { "t": { "run": 10000, "timer": { "ref": "tick", "period": 100000 } } } }`, 1, 1000 * MS);
    const p = r.instances[0]!.task;
    expect(p.se.sum_exec_runtime).toBe(100 * MS);
    const log = r.logs()[0]!;
    expect(log.name).toBe("rt-app-t-0.log");
    const rs = rows(log.text);
    expect(rs).toHaveLength(10); // the tenth iteration's sleep ends at 1 s, which the run includes
    // idx perf run period start end rel_st slack c_duration c_period wu_lat
    expect(rs[1]).toEqual([0, 10000, 10000, 100000, 100000, 200000, 100000, 90000, 10000, 100000, 0]);
  });

  it("repeated keys run in file order", () => {
    const { r } = run(`{ "tasks": { "t": { "loop": 1, "run": 1000, "sleep": 2000, "run": 3000, "sleep": 4000 } } }`, 1, 100 * MS);
    const rs = rows(r.logs()[0]!.text);
    // run 1 ms, sleep 2 ms, run 3 ms, sleep 4 ms: 10 ms of period, 4 of run.
    expect(rs).toEqual([[0, 4000, 4000, 10000, 0, 10000, 0, 0, 4000, 0, 0]]);
  });

  it("a lock/signal ping-pong advances in lock step", () => {
    const { r, done_at } = run(
      `{ "tasks": {
        "ping": { "delay": 100, "cpus": [0], "loop": 5, "lock": "m", "signal": "pong", "wait": { "ref": "ping", "mutex": "m" }, "unlock": "m", "run": 1000 },
        "pong": { "cpus": [1], "loop": 5, "lock": "m", "wait": { "ref": "pong", "mutex": "m" }, "signal": "ping", "unlock": "m", "run": 1000 } } }`,
      2, 1000 * MS,
    );
    // pong waits from 0; ping, at 0.1 ms, signals it and waits for its answer. Each
    // iteration hands over under the mutex, so both start every iteration together.
    const start = (text: string) => rows(text).map((row) => row[4]);
    const [ping, pong] = r.logs().map((l) => start(l.text));
    expect(ping).toEqual([100, 1100, 2100, 3100, 4100]);
    expect(pong).toEqual([0, 1100, 2100, 3100, 4100]);
    expect(done_at).toBe(5_100_000);
  });

  it("a two-mutex lock-order inversion is a deadlock with both mutexes in the cycle", () => {
    const { k, r } = run(
      `{ "tasks": {
        "a": { "cpus": [0], "loop": 1, "lock": "m1", "run": 1000, "lock2": "m2", "unlock": "m2", "unlock2": "m1" },
        "b": { "cpus": [1], "loop": 1, "lock": "m2", "run": 1000, "lock2": "m1", "unlock": "m1", "unlock2": "m2" } } }`,
      2, 100 * MS,
    );
    const d = rt_app_deadlock(r, k);
    expect(d).not.toBeNull();
    const names = d!.cycle.map((e) => e.because);
    expect(names.join(" | ")).toMatch(/m1/);
    expect(names.join(" | ")).toMatch(/m2/);
    expect(d!.cycle).toHaveLength(4);
    expect(r.instances.map((i) => [i.task.state, i.task.wchan])).toEqual([["S", "futex_wait_queue_me"], ["S", "futex_wait_queue_me"]]);
  });
});
