import {
  CpuMask,
  current,
  in_atomic,
  MAX_RT_PRIO,
  NSEC_PER_MSEC,
  PF_THREAD_BOUND,
  RUN,
  SimEvent,
  smp_processor_id,
  type KernelCall,
  type TaskStruct,
} from "@ksim/core";
import { make_test_kernel, SimpleKthreads, type FakeHotplug, type ReferenceExecutor, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { KstopMachine, STOPMACHINE_PREPARE } from "../src/index.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

function setup(cpus: number): { k: TestKernel; sm: KstopMachine } {
  const k = make_test_kernel({ cpus, trace: true, kthread: (kk) => new SimpleKthreads(kk) });
  const sm = new KstopMachine(k);
  k.stop_machine = sm;
  sm.init();
  return { k, sm };
}

interface Out {
  ret?: number;
  end?: number;
  /** The kstop threads right after stop_machine_create. */
  kstop?: TaskStruct[];
}

/**
 * A task on `cpu` that does what 2.6.34's stop_machine() does at `at`:
 * stop_machine_create, __stop_machine(fn, cpus), stop_machine_destroy.
 */
function caller(k: TestKernel, sm: KstopMachine, cpu: number, at: number, fn: () => number, target: CpuMask, out: Out): TaskStruct {
  const p = k.sched.create_task({
    comm: "caller",
    cpus_allowed: CpuMask.cpumask_of(cpu),
    cpu,
    *threadfn(): KernelCall<number> {
      yield* sm.stop_machine_create();
      out.kstop = [...sm.threads];
      out.ret = yield* sm.stop_machine(fn, target);
      out.end = k.engine.now;
      yield* sm.stop_machine_destroy();
      return 0;
    },
  });
  k.engine.schedule(new SimEvent("start-caller", () => k.sched.wake_up_new_task(p)), at);
  return p;
}

function hog(k: TestKernel, cpu: number, prio: number, ns = Number.POSITIVE_INFINITY, policy: "FIFO" | "NORMAL" = "FIFO"): TaskStruct {
  return k.spawn({
    comm: `hog/${cpu}`,
    ...(policy === "FIFO" ? { policy, rt_priority: prio } : {}),
    cpus_allowed: CpuMask.cpumask_of(cpu),
    cpu,
    *threadfn() {
      yield RUN(ns);
      return 0;
    },
  });
}

describe("stop_machine with the kstop workqueue (2.6.34)", () => {
  it("has no kstop thread until stop_machine_create; then kstop/N per online CPU, FIFO MAX_RT_PRIO-1, bound; the last destroy stops them", () => {
    const { k, sm } = setup(4);
    (k.hotplug as FakeHotplug).set_online(3, false);
    expect(sm.threads).toEqual([]);
    const seen: unknown[] = [];
    let made: TaskStruct[] = [];
    k.spawn({
      comm: "user",
      cpu: 0,
      *threadfn(): KernelCall<number> {
        yield* sm.stop_machine_create();
        made = [...sm.threads];
        yield* sm.stop_machine_create();
        seen.push([sm.refcount, sm.threads.length]);
        yield* sm.stop_machine_destroy();
        seen.push([sm.refcount, sm.threads.length]);
        yield* sm.stop_machine_destroy();
        seen.push([sm.refcount, sm.threads.length]);
        return 0;
      },
    });
    k.run(ms(10));
    expect(made.map((t) => [t.comm, t.policy, t.rt_priority, t.cpus_allowed.to_list(), (t.flags & PF_THREAD_BOUND) !== 0])).toEqual([
      ["kstop/0", "FIFO", MAX_RT_PRIO - 1, [0], true],
      ["kstop/1", "FIFO", MAX_RT_PRIO - 1, [1], true],
      ["kstop/2", "FIFO", MAX_RT_PRIO - 1, [2], true],
    ]);
    // refcounted: only the second destroy stops the threads, and they exit
    expect(seen).toEqual([
      [2, 3],
      [1, 3],
      [0, 0],
    ]);
    expect(made.map((t) => t.state)).toEqual(["X", "X", "X"]);
    expect(sm.nr_threads_created).toBe(3);
  });

  it("runs fn on the target CPU with preemption off while every other kstop thread spins on its CPU; the caller waits in D", () => {
    const { k, sm } = setup(4);
    // RT load below 99 everywhere does not delay it: kstop preempts.
    for (let c = 0; c < 4; c++) hog(k, c, 50);
    const seen: Record<string, unknown>[] = [];
    const out: Out = {};
    const box: { p?: TaskStruct } = {};
    const fn = () => {
      const p = box.p!;
      seen.push({
        cpu: smp_processor_id(),
        comm: current().comm,
        atomic: in_atomic(),
        thread_ack: sm.thread_ack,
        caller: `${p.state} ${p.wchan}`,
        others: sm.threads.filter((t) => t.comm !== "kstop/2").map((t) => `${t.state} on CPU ${t.on_cpu ? t.cpu : -1}`),
        now: k.engine.now,
      });
      return 42;
    };
    // the caller is FIFO 60 on CPU 1, above the hog there
    const p = caller(k, sm, 1, ms(5), fn, CpuMask.cpumask_of(2), out);
    box.p = p;
    (k.sched as ReferenceExecutor).sched_setscheduler(p, "FIFO", 60);
    k.run(ms(50));
    expect(seen).toEqual([
      {
        cpu: 2,
        comm: "kstop/2",
        atomic: true,
        // RUN is acked by each thread after fn; none has acked yet
        thread_ack: 4,
        caller: "D stop_machine",
        others: ["R on CPU 0", "R on CPU 1", "R on CPU 3"],
        now: ms(5),
      },
    ]);
    expect([out.ret, out.end]).toEqual([42, ms(5)]);
    expect(in_atomic()).toBe(false);
    expect(sm.nr_calls).toBe(1);
    // stopped by stop_machine_destroy right after
    expect(out.kstop!.map((t) => t.state)).toEqual(["X", "X", "X", "X"]);
    expect(sm.threads).toEqual([]);
  });

  it("a kstop thread that cannot run holds stop_machine while the others spin, using their CPUs; the wait-for graph names it", () => {
    const { k, sm } = setup(3);
    // A FIFO 99 task on CPU 0, running before kstop/0 is woken, keeps kstop/0 queued behind it for 2 s.
    hog(k, 0, 99, ms(2000));
    // A NORMAL task on CPU 2 that would run all the time.
    const normal = hog(k, 2, 0, Number.POSITIVE_INFINITY, "NORMAL");
    const out: Out = {};
    let ran_at = -1;
    const p = caller(k, sm, 1, ms(5), () => ((ran_at = k.engine.now), 0), CpuMask.cpumask_of(1), out);
    k.run(ms(1000));
    const [k0, k1, k2] = out.kstop!;
    expect(ran_at).toBe(-1);
    expect([p.state, p.wchan]).toEqual(["D", "stop_machine"]);
    expect([sm.state, sm.thread_ack]).toEqual([STOPMACHINE_PREPARE, 1]);
    // kstop/1 and kstop/2 spin in cpu_relax(): on their CPUs since 5 ms
    expect([k0!.on_cpu, k1!.on_cpu, k2!.on_cpu]).toEqual([false, true, true]);
    expect(k.sched.task_sched_runtime(k2!)).toBe(ms(995));
    expect(k.sched.task_sched_runtime(normal)).toBe(ms(5));
    const edge = k.waitfor.explain({ kind: "task", task: p })!;
    expect(edge.to).toEqual({ kind: "task", task: k0 });
    expect(edge.because).toBe("stop_machine waits for kstop/0 to run on CPU 0");
    // when the hog is done, kstop/0 acks and the target runs fn at once
    k.run(ms(3000));
    expect(ran_at).toBe(ms(2000));
    expect([out.ret, out.end]).toEqual([0, ms(2000)]);
    expect(k.sched.task_sched_runtime(k2!)).toBe(ms(1995));
    expect(k.sched.task_sched_runtime(normal)).toBe(ms(5) + ms(1000));
    expect(k.waitfor.explain({ kind: "task", task: p })).toBeNull();
  });

  it("a FIFO 99 task woken where a kstop thread spins waits until the stop is over", () => {
    const { k, sm } = setup(3);
    const out: Out = {};
    // CPU 0 is held by a FIFO 99 task until 3 ms, so kstop/0 acks last;
    // kstop/1 spins from 1 ms, and a FIFO 99 task woken on CPU 1 at 2 ms
    // cannot take CPU 1 from it (equal priority does not preempt).
    hog(k, 0, 99, ms(3));
    let hog1: TaskStruct | null = null;
    k.engine.schedule(new SimEvent("hog1", () => (hog1 = hog(k, 1, 99, ms(10)))), ms(2));
    caller(k, sm, 2, ms(1), () => 5, CpuMask.cpumask_of(1), out);
    k.run(ms(20));
    expect([out.ret, out.end]).toEqual([5, ms(3)]);
    // hog1 ran its 10 ms from 3 ms on, and was done at 13 ms
    expect(hog1!.state).toBe("X");
    expect(k.sched.task_sched_runtime(hog1!)).toBe(ms(10));
  });

  it("take_cpu_down-like fn: the target CPU goes offline inside fn; the next stop_machine makes threads only for online CPUs", () => {
    const { k, sm } = setup(3);
    const hp = k.hotplug as FakeHotplug;
    const out: Out = {};
    caller(k, sm, 0, ms(1), () => {
      hp.set_online(2, false);
      k.sched.sched_idle_next();
      return 0;
    }, CpuMask.cpumask_of(2), out);
    k.run(ms(10));
    expect(out.ret).toBe(0);
    expect(k.sched.idle_cpu(2)).toBe(true);
    expect(out.kstop!.map((t) => t.state)).toEqual(["X", "X", "X"]);
    const out2: Out = {};
    let where = -1;
    caller(k, sm, 1, ms(20), () => ((where = smp_processor_id()), 7), CpuMask.cpumask_of(0), out2);
    k.run(ms(30));
    expect([out2.ret, where]).toEqual([7, 0]);
    // fresh threads, new pids, none for CPU 2
    expect(out2.kstop!.map((t) => t.comm)).toEqual(["kstop/0", "kstop/1"]);
    expect(out2.kstop![0]!.pid).toBeGreaterThan(out.kstop![2]!.pid);
    expect(sm.nr_threads_created).toBe(5);
  });

  it("a second user shares the workqueue (refcount); as a NORMAL task it cannot run while kstop spins on its CPU", () => {
    const { k, sm } = setup(2);
    hog(k, 1, 99, ms(10));
    const a: Out = {};
    const b: Out = {};
    caller(k, sm, 0, ms(1), () => 1, CpuMask.cpumask_of(0), a);
    const pb = caller(k, sm, 0, ms(2), () => 2, CpuMask.cpumask_of(0), b);
    k.run(ms(5));
    // kstop/0 spins on CPU 0 from 1 ms, waiting for kstop/1 behind the hog
    expect([pb.state, k.sched.task_sched_runtime(pb)]).toEqual(["R", 0]);
    k.run(ms(20));
    expect([a.ret, a.end, b.ret, b.end]).toEqual([1, ms(10), 2, ms(10)]);
    expect(sm.nr_calls).toBe(2);
    expect(sm.nr_threads_created).toBe(2);
    expect([sm.refcount, sm.threads.length]).toEqual([0, 0]);
  });
});
