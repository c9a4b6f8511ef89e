/**
 * RT balancing and root domains as kernel/sched_rt.c, sched_cpupri.c and
 * cpuset.c of 2.6.34 do them, each on a small machine and on one of 8 or
 * more CPUs.
 */
import { CPU_DOWN_PREPARE, CpuMask, in_irq, NSEC_PER_MSEC, RUN, SLEEP, type KernelCall, type TaskStruct } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { cpuset_track_online_cpus_notifier, RUNTIME_INF } from "../src/index.js";
import { make_sched_kernel, spawn_on, type SchedTestKernel } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

function* spin(): KernelCall<number> {
  yield RUN(Number.POSITIVE_INFINITY);
  return 0;
}

/** Runs `run_ms`, then sleeps for good. */
const run_then_sleep = (run_ms: number) =>
  function* (): KernelCall<number> {
    yield RUN(ms(run_ms));
    yield SLEEP(ms(1_000_000));
    return 0;
  };

/** A FIFO spinner bound to `cpu`, woken there. */
function fifo_on(k: SchedTestKernel, cpu: number, rt_priority: number, threadfn = spin): TaskStruct {
  return spawn_on(k, cpu, { comm: `fifo${rt_priority}-${cpu}`, policy: "FIFO", rt_priority, cpus_allowed: CpuMask.of([cpu]), threadfn });
}

/** A sleeping task on `cpu`, woken from `cpu` as a timer there would (SD_BALANCE_WAKE, not a fork). */
function wake_from(k: SchedTestKernel, cpu: number, p: TaskStruct): void {
  in_irq(k.sched, cpu, () => k.sched.wake_up_process(p));
}

const SIZES = [4, 8] as const;

describe.each(SIZES)("select_task_rq_rt / find_lowest_rq on %i CPUs", (cpus) => {
  /** CPU 0 runs FIFO 50, CPU 1 FIFO 40, CPU 2 FIFO 10 (the least important), every other CPU FIFO 60. */
  function machine(): SchedTestKernel {
    const k = make_sched_kernel({ cpus, sched_rt_runtime_us: -1 });
    const prio = (c: number) => [50, 40, 10][c] ?? 60;
    for (let c = 0; c < cpus; c++) fifo_on(k, c, prio(c));
    k.engine.run(ms(1));
    return k;
  }

  it.each([30, 70])("an RT task of priority %i woken where FIFO 50 runs goes to the CPU running FIFO 10, and runs there", (rt_priority) => {
    const k = machine();
    const p = k.sched.create_task({ comm: "waker", policy: "FIFO", rt_priority, cpu: 0, threadfn: spin });
    wake_from(k, 0, p);
    k.engine.run(ms(2));
    // cpupri: FIFO 10 is level 12, the lowest below the task's own (rt_priority + 2); it preempts there.
    expect(p.cpu).toBe(2);
    expect(k.sched.cpu_curr(2)).toBe(p);
    expect(k.sched.task_sched_runtime(p)).toBe(ms(1));
  });

  it("a task bound to one CPU stays where it woke, behind FIFO 50", () => {
    const k = machine();
    const p = k.sched.create_task({ comm: "bound", policy: "FIFO", rt_priority: 30, cpu: 0, cpus_allowed: CpuMask.of([0]), threadfn: spin });
    wake_from(k, 0, p);
    k.engine.run(ms(2));
    expect(p.cpu).toBe(0);
    expect(k.sched.task_sched_runtime(p)).toBe(0);
  });
});

describe.each(SIZES)("pull_rt_task on %i CPUs", (cpus) => {
  it("a CPU whose RT task sleeps pulls the queued RT task of an overloaded CPU", () => {
    const k = make_sched_kernel({ cpus, sched_rt_runtime_us: -1 });
    fifo_on(k, 0, 50);
    fifo_on(k, 1, 60, run_then_sleep(5));
    for (let c = 2; c < cpus; c++) fifo_on(k, c, 70);
    const q = k.sched.create_task({ comm: "queued", policy: "FIFO", rt_priority: 20, cpu: 0, cpus_allowed: CpuMask.of([0, 1]), threadfn: spin });
    wake_from(k, 0, q);
    // No CPU runs less than FIFO 20 yet: q waits on CPU 0, which is overloaded.
    k.engine.run(ms(4));
    expect(q.cpu).toBe(0);
    expect(k.sched.rq_rd[0]!.rto_mask.test_cpu(0)).toBe(true);
    // At 5 ms FIFO 60 sleeps: pre_schedule_rt pulls q before CPU 1 picks.
    k.engine.run(ms(10));
    expect(q.cpu).toBe(1);
    expect(k.sched.task_sched_runtime(q)).toBe(ms(5));
    expect(k.sched.rq_rd[0]!.rto_count).toBe(0);
  });
});

describe.each(SIZES)("rt.nr_cpus_allowed goes stale through select_fallback_rq on %i CPUs", (cpus) => {
  it("a pinned task moved off a dead CPU keeps nr_cpus_allowed 1 and is never pushed or pulled", () => {
    const k = make_sched_kernel({ cpus, sched_rt_runtime_us: -1 });
    fifo_on(k, 0, 50);
    // CPU 2 runs FIFO 60 for 5 ms, then sleeps and would pull any pullable task.
    fifo_on(k, 2, 60, run_then_sleep(5));
    const stale = k.sched.create_task({ comm: "stale", policy: "FIFO", rt_priority: 20, cpu: 1, cpus_allowed: CpuMask.of([1]), threadfn: spin });
    const fresh = k.sched.create_task({ comm: "fresh", policy: "FIFO", rt_priority: 20, cpu: 1, cpus_allowed: CpuMask.of([1]), threadfn: spin });
    // CPU 1 goes away: migrate_live_tasks() -> select_fallback_rq() widens cpus_allowed directly.
    k.hotplug.set_online(1, false);
    k.sched.set_rq_offline(1);
    k.sched.migrate_live_tasks(1);
    expect(stale.cpu).toBe(0);
    expect(stale.cpus_allowed.weight()).toBe(cpus);
    expect(stale.rt.nr_cpus_allowed).toBe(1);
    // set_cpus_allowed_ptr() is the path that keeps the count right.
    expect(k.sched.set_cpus_allowed_ptr(fresh, CpuMask.first_n(cpus))).toBe(0);
    expect(fresh.rt.nr_cpus_allowed).toBe(cpus);
    wake_from(k, 0, stale);
    k.engine.run(ms(20));
    // Stuck behind FIFO 50 while CPU 2 went idle at 5 ms.
    expect(stale.cpu).toBe(0);
    expect(k.sched.task_sched_runtime(stale)).toBe(0);
    expect(k.sched.idle_cpu(2)).toBe(true);
    // The same task with its count kept right finds an idle CPU at once.
    wake_from(k, 0, fresh);
    k.engine.run(ms(21));
    expect(fresh.cpu).not.toBe(0);
    expect(k.sched.task_sched_runtime(fresh)).toBe(ms(1));
  });
});

describe.each(SIZES)("the domain rebuild at CPU_DOWN_PREPARE on %i CPUs", (cpus) => {
  it("re-attaches every active rq to a new root domain: each rt_rq unthrottled, rt_time 0", () => {
    const k = make_sched_kernel({ cpus });
    for (let c = 0; c < cpus; c++) fifo_on(k, c, 50);
    // Every CPU is busy, nothing to borrow: each rt_rq throttles at 950 ms (the next tick).
    k.engine.run(ms(970));
    for (let c = 0; c < cpus; c++) expect(k.sched.rt_rq_stats(c).rt_throttled).toBe(true);
    const dying = cpus - 1;
    k.hotplug.cpu_active_mask.clear_cpu(dying);
    const nb = cpuset_track_online_cpus_notifier(k.sched);
    nb.notifier_call(nb, CPU_DOWN_PREPARE, dying).next();
    for (let c = 0; c < dying; c++) {
      expect(k.sched.rt_rq_stats(c)).toEqual({ rt_time: 0, rt_runtime: ms(950), rt_throttled: false, rt_nr_running: 1 });
      expect(k.sched.rq_rd[c]).toBe(k.sched.rq_rd[0]);
    }
    expect(k.sched.rq_rd[0]!.span.to_list()).toEqual(CpuMask.first_n(dying).to_list());
    // The dying CPU is left in def_root_domain, offline there, lending nothing.
    expect(k.sched.rq_rd[dying]).toBe(k.sched.def_root_domain);
    expect(k.sched.rq_online[dying]).toBe(false);
    expect(k.sched.rt_rqs[dying]!.rt_runtime).toBe(RUNTIME_INF);
  });
});
