import {
  CpuMask,
  current,
  in_atomic,
  NSEC_PER_MSEC,
  RUN,
  SimEvent,
  smp_processor_id,
  type KernelCall,
  type TaskStruct,
} from "@ksim/core";
import { make_test_kernel, type FakeHotplug, type ReferenceExecutor, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { KstopMachine, STOPMACHINE_RUN } from "../src/index.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

function setup(cpus: number): { k: TestKernel; sm: KstopMachine } {
  const k = make_test_kernel({ cpus, trace: true });
  const sm = new KstopMachine(k);
  k.stop_machine = sm;
  sm.init();
  return { k, sm };
}

/** A task on `cpu` that calls stop_machine(fn, cpus) at `at`. */
function caller(k: TestKernel, cpu: number, at: number, fn: () => number, target: CpuMask, out: { ret?: number; end?: number }): TaskStruct {
  const p = k.sched.create_task({
    comm: "caller",
    cpus_allowed: CpuMask.cpumask_of(cpu),
    cpu,
    *threadfn(): KernelCall<number> {
      out.ret = yield* k.stop_machine.stop_machine(fn, target);
      out.end = k.engine.now;
      return 0;
    },
  });
  k.engine.schedule(new SimEvent("start-caller", () => k.sched.wake_up_new_task(p)), at);
  return p;
}

function hog(k: TestKernel, cpu: number, prio: number, ns = Number.POSITIVE_INFINITY): TaskStruct {
  return k.spawn({
    comm: `hog/${cpu}`,
    policy: "FIFO",
    rt_priority: prio,
    cpus_allowed: CpuMask.cpumask_of(cpu),
    cpu,
    *threadfn() {
      yield RUN(ns);
      return 0;
    },
  });
}

describe("stop_machine with the kstop workqueue", () => {
  it("creates kstop/N per CPU: FIFO 99, bound, kernel thread, asleep", () => {
    const { sm } = setup(3);
    expect(sm.threads.map((t) => [t.comm, t.policy, t.rt_priority, t.cpus_allowed.to_list(), t.state])).toEqual([
      ["kstop/0", "FIFO", 99, [0], "S"],
      ["kstop/1", "FIFO", 99, [1], "S"],
      ["kstop/2", "FIFO", 99, [2], "S"],
    ]);
    expect(sm.threads.every((t) => (t.flags & 0x00200000) !== 0)).toBe(true);
  });

  it("runs fn on the target CPU with irqs off once every online CPU's kstop thread has acked; the caller waits in D", () => {
    const { k, sm } = setup(4);
    // RT load below 99 everywhere does not delay it: kstop preempts.
    for (let c = 0; c < 4; c++) hog(k, c, 50);
    const seen: Record<string, unknown>[] = [];
    const out: { ret?: number; end?: number } = {};
    const box: { p?: TaskStruct } = {};
    const fn = () => {
      const p = box.p!;
      seen.push({
        cpu: smp_processor_id(),
        comm: current().comm,
        atomic: in_atomic(),
        thread_ack: sm.thread_ack,
        caller: `${p.state} ${p.wchan}`,
        others: sm.threads.filter((t) => t.comm !== "kstop/2").map((t) => `${t.state} ${t.wchan}`),
        now: k.engine.now,
      });
      return 42;
    };
    // the caller is FIFO 60 on CPU 1, above the hog there
    const p = caller(k, 1, ms(5), fn, CpuMask.cpumask_of(2), out);
    box.p = p;
    (k.sched as ReferenceExecutor).sched_setscheduler(p, "FIFO", 60);
    k.run(ms(50));
    expect(seen).toEqual([
      {
        cpu: 2,
        comm: "kstop/2",
        atomic: true,
        thread_ack: 0,
        caller: "D stop_machine",
        others: ["S stop_cpu", "S stop_cpu", "S stop_cpu"],
        now: ms(5),
      },
    ]);
    expect(out).toEqual({ ret: 42, end: ms(5) });
    expect(in_atomic()).toBe(false);
    expect(sm.threads.map((t) => `${t.state} ${t.wchan}`)).toEqual(Array(4).fill("S worker_thread"));
    expect(sm.nr_calls).toBe(1);
    // each kstop thread slept twice: after its ack, and after the work item;
    // kstop/2 arrived third, so it waited for kstop/3's ack too
    expect(sm.threads.map((t) => t.nvcsw)).toEqual([2, 2, 2, 2]);
  });

  it("only online CPUs take part; fn's error comes back to the caller", () => {
    const { k, sm } = setup(4);
    (k.hotplug as FakeHotplug).set_online(3, false);
    const out: { ret?: number } = {};
    let acks = -1;
    caller(k, 0, ms(1), () => {
      acks = sm.thread_ack;
      return -16;
    }, CpuMask.cpumask_of(1), out);
    k.run(ms(10));
    expect(out.ret).toBe(-16);
    expect(acks).toBe(0);
    expect(sm.threads.map((t) => t.nvcsw)).toEqual([2, 2, 2, 0]);
  });

  it("take_cpu_down-like fn: the target CPU goes offline inside fn and its kstop thread leaves it cleanly", () => {
    const { k, sm } = setup(3);
    const hp = k.hotplug as FakeHotplug;
    const out: { ret?: number } = {};
    caller(k, 0, ms(1), () => {
      hp.set_online(2, false);
      k.sched.sched_idle_next();
      return 0;
    }, CpuMask.cpumask_of(2), out);
    k.run(ms(10));
    expect(out.ret).toBe(0);
    expect(k.sched.idle_cpu(2)).toBe(true);
    expect(sm.threads[2]!.state).toBe("S");
    // the next stop_machine involves only CPUs 0 and 1
    const out2: { ret?: number } = {};
    let where = -1;
    caller(k, 1, ms(20), () => ((where = smp_processor_id()), 7), CpuMask.cpumask_of(0), out2);
    k.run(ms(30));
    expect([out2.ret, where]).toEqual([7, 0]);
    expect(sm.threads[2]!.nvcsw).toBe(1);
  });

  it("a kstop thread that cannot run holds stop_machine; the wait-for graph names it", () => {
    const { k, sm } = setup(3);
    // A FIFO 99 hog on CPU 0, running before kstop/0 is woken, keeps kstop/0 queued behind it (for 2 s).
    hog(k, 0, 99, ms(2000));
    const out: { ret?: number; end?: number } = {};
    let ran_at = -1;
    const p = caller(k, 1, ms(5), () => ((ran_at = k.engine.now), 0), CpuMask.cpumask_of(1), out);
    k.run(ms(1000));
    expect(ran_at).toBe(-1);
    expect([p.state, p.wchan]).toEqual(["D", "stop_machine"]);
    expect(sm.threads.map((t) => t.state)).toEqual(["R", "S", "S"]);
    expect(sm.thread_ack).toBe(1);
    const edge = k.waitfor.explain({ kind: "task", task: p })!;
    expect(edge.to).toEqual({ kind: "task", task: sm.threads[0] });
    expect(edge.because).toBe("stop_machine waits for kstop/0 to run on CPU 0");
    // when the hog is done, kstop/0 acks and the target runs fn at once
    k.run(ms(3000));
    expect(ran_at).toBe(ms(2000));
    expect(out).toEqual({ ret: 0, end: ms(2000) });
    expect(k.waitfor.explain({ kind: "task", task: p })).toBeNull();
  });

  it("after all acked, a target kstop that cannot run is the one waited for", () => {
    const { k, sm } = setup(3);
    const out: { ret?: number; end?: number } = {};
    // CPU 0 is held by a FIFO 99 task until 3 ms, so kstop/0 acks last. kstop/1
    // acked at 1 ms; a FIFO 99 task that starts on CPU 1 at 2 ms keeps it from
    // running fn until 12 ms.
    hog(k, 0, 99, ms(3));
    k.engine.schedule(new SimEvent("hog1", () => hog(k, 1, 99, ms(10))), ms(2));
    const p = caller(k, 2, ms(1), () => 5, CpuMask.cpumask_of(1), out);
    k.run(ms(4));
    expect([sm.thread_ack, sm.state, out.ret]).toEqual([0, STOPMACHINE_RUN, undefined]);
    expect(sm.threads[1]!.state).toBe("R");
    expect(k.waitfor.explain({ kind: "task", task: p })!.because).toBe(
      "stop_machine waits for kstop/1 to run the stopped function on CPU 1",
    );
    k.run(ms(20));
    expect(out).toEqual({ ret: 5, end: ms(12) });
  });

  it("a kstop thread moved off its CPU while it slept is bound back before it is used", () => {
    const { k, sm } = setup(2);
    const t1 = sm.threads[1]!;
    // as migrate_live_tasks leaves it after CPU 1 died and came back
    (k.sched as ReferenceExecutor).set_task_cpu(t1, 0);
    t1.cpus_allowed = CpuMask.first_n(2);
    const out: { ret?: number } = {};
    let where = -1;
    caller(k, 0, ms(1), () => ((where = smp_processor_id()), 1), CpuMask.cpumask_of(1), out);
    k.run(ms(10));
    expect([out.ret, where, t1.cpu, t1.cpus_allowed.to_list()]).toEqual([1, 1, 1, [1]]);
  });

  it("callers are serialised: a second one waits on the stop_machine mutex", () => {
    const { k, sm } = setup(2);
    hog(k, 1, 99, ms(10));
    const a: { ret?: number; end?: number } = {};
    const b: { ret?: number; end?: number } = {};
    caller(k, 0, ms(1), () => 1, CpuMask.cpumask_of(0), a);
    const pb = caller(k, 0, ms(2), () => 2, CpuMask.cpumask_of(0), b);
    k.run(ms(5));
    expect([pb.state, pb.wchan]).toEqual(["D", "stop_machine"]);
    expect(k.waitfor.explain({ kind: "task", task: pb })!.to.kind).toBe("task");
    k.run(ms(20));
    expect([a.ret, a.end, b.ret, b.end]).toEqual([1, ms(10), 2, ms(10)]);
    expect(sm.nr_calls).toBe(2);
  });
});
