import { CpuMask, NSEC_PER_MSEC, NSEC_PER_SEC, RUN } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { make_sched_kernel, spawn_on } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;
const spinner = function* () {
  yield RUN(Number.POSITIVE_INFINITY);
  return 0;
};

describe("RT bandwidth (Documentation/scheduler/sched-rt-group.txt: 950 ms of every 1 s)", () => {
  it("a SCHED_FIFO spinner gets 950 ms of every period and a SCHED_NORMAL spinner on its CPU the other 50 ms", () => {
    const k = make_sched_kernel({ cpus: 1 });
    const rt = spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    const cfs = spawn_on(k, 0, { comm: "normal", policy: "NORMAL", nice: 0, threadfn: spinner });
    const per_period: number[] = [];
    for (let s = 1; s <= 10; s++) {
      const before = rt.se.sum_exec_runtime;
      k.run(s * NSEC_PER_SEC);
      k.sched.update_curr(k.sched.rqs[0]!);
      per_period.push(rt.se.sum_exec_runtime - before);
    }
    // Throttled at the first tick past 950 ms (951 ms in the first period, one
    // ms carried over), then exactly 950 ms a period.
    expect(per_period).toEqual([ms(951), ...Array(9).fill(ms(950))]);
    expect(cfs.se.sum_exec_runtime).toBe(ms(10_000) - ms(951) - 9 * ms(950));
    expect(k.sched.stats.rt_throttles).toBe(10);
  });

  it("an RT spinner borrows an idle CPU's unused runtime up to a whole period, and is never throttled", () => {
    const k = make_sched_kernel({ cpus: 2 });
    const rt = spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    const cfs = spawn_on(k, 0, { comm: "normal", cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    k.run(5 * NSEC_PER_SEC);
    // do_balance_runtime: (950 - 0) / 2 = 475 ms offered, capped at period - 950 = 50 ms.
    expect(k.sched.rt_rq_stats(0).rt_runtime).toBe(ms(1000));
    expect(k.sched.rt_rq_stats(1).rt_runtime).toBe(ms(900));
    expect(k.sched.stats.rt_throttles).toBe(0);
    k.sched.update_curr(k.sched.rqs[0]!);
    expect(rt.se.sum_exec_runtime).toBe(ms(5000));
    expect(cfs.se.sum_exec_runtime).toBe(0);
  });

  it.each([2, 8])("on %i CPUs the wait-for graph says why the starved NORMAL task does not run: runtime borrowed up to the period", (cpus) => {
    const k = make_sched_kernel({ cpus });
    const rt = spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    const cfs = spawn_on(k, 0, { comm: "normal", cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    k.run(5 * NSEC_PER_SEC + ms(300));
    expect(cfs.se.sum_exec_runtime).toBe(0);
    const chain = k.waitfor.follow({ kind: "task", task: cfs });
    expect(chain.path.map((e) => e.to)).toEqual([
      { kind: "cpu", cpu: 0 },
      { kind: "task", task: rt },
    ]);
    expect(chain.path[0]!.because).toBe(`normal/${cfs.pid} (NORMAL) is runnable on CPU 0 but does not run`);
    // 1000 ms: a whole period, which sched_rt_runtime_exceeded() never throttles.
    expect(chain.path[1]!.because).toMatch(
      new RegExp(`^CPU 0 is running fifo/${rt.pid} \\(FIFO 50\\); rt_rq 0 has run [0-9.]+ ms of its 1000 ms runtime this period: the whole period \\(borrowed from other CPUs of its root domain\\), so it never throttles$`),
    );
  });

  it("the wait-for graph gives an rt_rq's runtime as it stands: 950 ms on one CPU, which throttles", () => {
    const k = make_sched_kernel({ cpus: 1 });
    const rt = spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    const cfs = spawn_on(k, 0, { comm: "normal", threadfn: spinner });
    k.run(ms(2400));
    const edge = k.waitfor.follow({ kind: "task", task: cfs }).path[1]!;
    expect(edge.to).toEqual({ kind: "task", task: rt });
    expect(edge.because).toMatch(/^CPU 0 is running fifo\/\d+ \(FIFO 50\); rt_rq 0 has run [0-9.]+ ms of its 950 ms runtime this period$/);
  });

  it("without runtime sharing the same spinner is throttled every period", () => {
    const k = make_sched_kernel({ cpus: 2, rt_runtime_share: false });
    const rt = spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    k.run(3 * NSEC_PER_SEC);
    k.sched.update_curr(k.sched.rqs[0]!);
    expect(rt.se.sum_exec_runtime).toBe(ms(951) + 2 * ms(950));
    expect(k.sched.stats.rt_throttles).toBe(3);
  });

  it("sched_rt_runtime_us = -1: no throttling, and the period timer is never armed", () => {
    const k = make_sched_kernel({ cpus: 1, sched_rt_runtime_us: -1 });
    const rt = spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    spawn_on(k, 0, { comm: "normal", threadfn: spinner });
    k.run(3 * NSEC_PER_SEC);
    k.sched.update_curr(k.sched.rqs[0]!);
    expect(rt.se.sum_exec_runtime).toBe(ms(3000));
    expect(k.hrtimer.starts).toEqual([]);
  });

  it("the period timer arms on the base of the CPU doing the enqueue, and goes idle when RT work stops", () => {
    const k = make_sched_kernel({ cpus: 2 });
    spawn_on(k, 1, {
      comm: "burst",
      policy: "FIFO",
      rt_priority: 10,
      cpus_allowed: CpuMask.of([1]),
      *threadfn() {
        yield RUN(ms(10));
        return 0;
      },
    });
    expect(k.hrtimer.starts).toEqual([["sched_rt_period_timer", 1]]);
    expect(k.sched.rt_period_timer.cpu).toBe(1);
    k.run(ms(999));
    expect(k.hrtimer.hrtimer_active(k.sched.rt_period_timer)).toBe(true);
    // At 1 s the 10 ms charged are paid back and nothing RT is queued: idle, NORESTART.
    k.run(ms(1001));
    expect(k.hrtimer.hrtimer_active(k.sched.rt_period_timer)).toBe(false);
    expect(k.sched.rt_rq_stats(1).rt_time).toBe(0);
    // A remote wake-up from CPU 0 of a task bound to CPU 1 arms it on CPU 0.
    const t = k.sched.create_task({ comm: "remote", policy: "FIFO", rt_priority: 10, cpus_allowed: CpuMask.of([1]), threadfn: spinner });
    k.sched.irq_enter(0);
    k.sched.wake_up_new_task(t);
    k.sched.irq_exit(0);
    expect(t.cpu).toBe(1);
    expect(k.sched.rt_period_timer.cpu).toBe(0);
  });

  it("a throttled CPU runs no RT task, not even FIFO 99, and unthrottles at the period", () => {
    const k = make_sched_kernel({ cpus: 1 });
    spawn_on(k, 0, { comm: "hog", policy: "FIFO", rt_priority: 50, threadfn: spinner });
    const normal = spawn_on(k, 0, { comm: "normal", threadfn: spinner });
    k.run(ms(960));
    expect(k.sched.rt_rq_stats(0).rt_throttled).toBe(true);
    let ran_at = -1;
    spawn_on(k, 0, {
      comm: "urgent",
      policy: "FIFO",
      rt_priority: 99,
      *threadfn() {
        ran_at = k.engine.now;
        return 0;
      },
    });
    k.run(ms(999));
    expect(ran_at).toBe(-1);
    expect(k.sched.cpu_curr(0)).toBe(normal);
    k.run(ms(1001));
    expect(ran_at).toBe(ms(1000));
  });
});
