import { CpuMask, NSEC_PER_MSEC, NSEC_PER_SEC, RUN, SLEEP } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { make_sched_kernel, spawn_on } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;
const spinner = function* () {
  yield RUN(Number.POSITIVE_INFINITY);
  return 0;
};

describe("CFS: sharing a CPU by weight", () => {
  it("two NORMAL spinners at nice 0 and nice 5 split a CPU 1024 : 335", () => {
    const k = make_sched_kernel({ cpus: 1 });
    const a = spawn_on(k, 0, { comm: "nice0", nice: 0, threadfn: spinner });
    const b = spawn_on(k, 0, { comm: "nice5", nice: 5, threadfn: spinner });
    k.run(20 * NSEC_PER_SEC);
    k.sched.update_curr(k.sched.rqs[0]!);
    const share = a.se.sum_exec_runtime / (a.se.sum_exec_runtime + b.se.sum_exec_runtime);
    expect(a.se.sum_exec_runtime + b.se.sum_exec_runtime).toBe(20 * NSEC_PER_SEC);
    expect(share).toBeGreaterThan(1024 / 1359 - 0.01);
    expect(share).toBeLessThan(1024 / 1359 + 0.01);
    // They take turns, slice by slice, rather than one running for seconds.
    expect(a.nivcsw).toBeGreaterThan(100);
  });

  it("equal nice levels split evenly", () => {
    const k = make_sched_kernel({ cpus: 1 });
    const a = spawn_on(k, 0, { comm: "a", threadfn: spinner });
    const b = spawn_on(k, 0, { comm: "b", threadfn: spinner });
    k.run(10 * NSEC_PER_SEC);
    k.sched.update_curr(k.sched.rqs[0]!);
    expect(Math.abs(a.se.sum_exec_runtime - b.se.sum_exec_runtime)).toBeLessThanOrEqual(ms(10));
  });
});

describe("RT policies (throttling off to see the policy alone)", () => {
  it("SCHED_RR tasks of equal priority take turns every 100 ms", () => {
    const k = make_sched_kernel({ cpus: 1, sched_rt_runtime_us: -1 });
    const order: string[] = [];
    const a = spawn_on(k, 0, { comm: "rr-a", policy: "RR", rt_priority: 20, threadfn: spinner });
    const b = spawn_on(k, 0, { comm: "rr-b", policy: "RR", rt_priority: 20, threadfn: spinner });
    for (let t = 50; t <= 450; t += 100) {
      k.run(ms(t));
      order.push(k.sched.cpu_curr(0).comm);
    }
    expect(order).toEqual(["rr-a", "rr-b", "rr-a", "rr-b", "rr-a"]);
    k.run(ms(1000));
    k.sched.update_curr(k.sched.rqs[0]!);
    expect(a.se.sum_exec_runtime).toBe(ms(500));
    expect(b.se.sum_exec_runtime).toBe(ms(500));
  });

  it("SCHED_FIFO tasks of equal priority do not take turns", () => {
    const k = make_sched_kernel({ cpus: 1, sched_rt_runtime_us: -1 });
    const a = spawn_on(k, 0, { comm: "fifo-a", policy: "FIFO", rt_priority: 20, threadfn: spinner });
    const b = spawn_on(k, 0, { comm: "fifo-b", policy: "FIFO", rt_priority: 20, threadfn: spinner });
    k.run(ms(1000));
    k.sched.update_curr(k.sched.rqs[0]!);
    expect(a.se.sum_exec_runtime).toBe(ms(1000));
    expect(b.se.sum_exec_runtime).toBe(0);
  });

  it("a higher RT priority preempts at once; a lower one waits; RT always beats NORMAL", () => {
    const k = make_sched_kernel({ cpus: 1, sched_rt_runtime_us: -1 });
    const events: string[] = [];
    const burst = (name: string, n: number) =>
      function* () {
        events.push(`${name} start @${k.engine.now / 1e6}`);
        yield RUN(ms(n));
        events.push(`${name} end @${k.engine.now / 1e6}`);
        return 0;
      };
    spawn_on(k, 0, { comm: "normal", threadfn: burst("normal", 10) });
    k.run(ms(2));
    spawn_on(k, 0, { comm: "fifo10", policy: "FIFO", rt_priority: 10, threadfn: burst("fifo10", 10) });
    k.run(ms(4));
    spawn_on(k, 0, { comm: "fifo50", policy: "FIFO", rt_priority: 50, threadfn: burst("fifo50", 5) });
    spawn_on(k, 0, { comm: "fifo5", policy: "FIFO", rt_priority: 5, threadfn: burst("fifo5", 1) });
    k.run(ms(100));
    expect(events).toEqual([
      "normal start @0",
      "fifo10 start @2",
      "fifo50 start @4",
      "fifo50 end @9",
      "fifo10 end @17",
      "fifo5 start @17",
      "fifo5 end @18",
      "normal end @26",
    ]);
  });
});

describe("placement", () => {
  it("select_fallback_rq: a task whose CPUs are all gone breaks affinity to the first active CPU", () => {
    const k = make_sched_kernel({ cpus: 3, sched_rt_runtime_us: -1 });
    const bound = k.sched.create_task({ comm: "bound1", cpu: 1, cpus_allowed: CpuMask.of([1]), threadfn: spinner });
    const pair = k.sched.create_task({ comm: "pair12", cpu: 1, cpus_allowed: CpuMask.of([1, 2]), threadfn: spinner });
    k.hotplug.set_online(1, false);
    k.sched.migrate_live_tasks(1);
    expect(bound.cpu).toBe(0);
    expect(bound.cpus_allowed.toString()).toBe("0-2");
    expect(pair.cpu).toBe(2);
    expect(pair.cpus_allowed.toString()).toBe("1-2");
  });

  it("a waking NORMAL task goes to an idle allowed CPU rather than queue behind a busy one", () => {
    const k = make_sched_kernel({ cpus: 2 });
    spawn_on(k, 0, { comm: "busy", cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    const t = spawn_on(k, 0, { comm: "waker", cpu: 0, threadfn: spinner });
    expect(t.cpu).toBe(1);
  });
});

describe("sched_setscheduler and set_cpus_allowed_ptr on a queued or running task (2.6.34)", () => {
  /**
   * A spinner and a task that runs 0.3 ms and sleeps 0.2 ms share one CPU;
   * returns at the first 0.1 ms step where the spinner runs and the other
   * waits queued with the smaller vruntime, short of wake-up preemption.
   */
  function spinner_ahead() {
    const k = make_sched_kernel({ cpus: 1 });
    const curr = spawn_on(k, 0, { comm: "spin", threadfn: spinner });
    const other = spawn_on(k, 0, {
      comm: "short",
      threadfn: function* () {
        for (;;) {
          yield RUN(ms(0.3));
          yield SLEEP(ms(0.2));
        }
      },
    });
    for (let t = 1; t < 200; t++) {
      k.run(ms(t / 10));
      k.sched.update_curr(k.sched.rqs[0]!);
      if (k.sched.cpu_curr(0) === curr && other.on_rq && other.se.vruntime < curr.se.vruntime) return { k, curr, other };
    }
    throw new Error("no such moment in 20 ms");
  }

  it("prio_changed_fair: the same nice again leaves a running task on the CPU; a worse one gives it up", () => {
    const { k, curr, other } = spinner_ahead();
    const now = k.engine.now;
    const switches = curr.nivcsw;
    // A reschedule now would switch to the other task: it is behind in vruntime.
    expect(k.sched.sched_setscheduler(curr, "NORMAL", 0)).toBe(0);
    k.run(now);
    expect(k.sched.cpu_curr(0)).toBe(curr);
    expect(curr.nivcsw).toBe(switches);
    k.sched.sched_setscheduler(curr, "NORMAL", 5);
    k.run(now);
    expect(k.sched.cpu_curr(0)).toBe(other);
    expect(curr.nivcsw).toBe(switches + 1);
  });

  it("set_cpus_allowed_ptr sends a queued RT task to the mask's first active CPU, even where it must wait", () => {
    const k = make_sched_kernel({ cpus: 4, sched_rt_runtime_us: -1 });
    spawn_on(k, 0, { comm: "fifo50", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    spawn_on(k, 2, { comm: "fifo70", policy: "FIFO", rt_priority: 70, cpus_allowed: CpuMask.of([2]), threadfn: spinner });
    const t = spawn_on(k, 0, { comm: "fifo10", policy: "FIFO", rt_priority: 10, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    k.run(ms(1));
    expect(t.on_rq && !t.on_cpu && t.cpu === 0).toBe(true);
    // cpumask_any_and(cpu_active_mask, {2, 3}) is CPU 2, not the idle CPU 3 find_lowest_rq would choose.
    expect(k.sched.set_cpus_allowed_ptr(t, CpuMask.of([2, 3]))).toBe(0);
    k.run(ms(5));
    expect(t.cpu).toBe(2);
    expect(k.sched.task_sched_runtime(t)).toBe(0);
    expect(k.sched.idle_cpu(3)).toBe(true);
  });

  it("set_cpus_allowed_ptr leaves a sleeping task's CPU for its next wake-up to choose", () => {
    const k = make_sched_kernel({ cpus: 4 });
    const sleeper = spawn_on(k, 0, {
      comm: "sleeper",
      cpus_allowed: CpuMask.of([0]),
      threadfn: function* () {
        yield SLEEP(ms(10));
        yield RUN(ms(1));
        return 0;
      },
    });
    k.run(ms(1));
    expect(k.sched.set_cpus_allowed_ptr(sleeper, CpuMask.of([1, 2, 3]))).toBe(0);
    // migrate_task(): not queued, not running, so task_cpu is not touched.
    expect(sleeper.cpu).toBe(0);
    k.run(ms(20));
    expect([1, 2, 3]).toContain(sleeper.cpu);
    expect(k.sched.task_sched_runtime(sleeper)).toBe(ms(1));
  });
});
