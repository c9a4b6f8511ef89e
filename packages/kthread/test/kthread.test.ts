import {
  CpuMask,
  EINTR,
  PF_KTHREAD,
  PF_THREAD_BOUND,
  RUN,
  run_atomic,
  SLEEP,
  smp_processor_id,
  wait_node_name,
  type KernelCall,
  type TaskStruct,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { get_task_struct, put_task_struct, to_kthread } from "../src/index.js";
import { boot, control, ms } from "./helpers.js";

describe("kthreadd", () => {
  it("is a PF_KTHREAD task that sleeps in S in kthreadd() while there is nothing to create", () => {
    const { k, kthreadd } = boot();
    k.run(ms(1));
    expect(kthreadd.comm).toBe("kthreadd");
    expect(kthreadd.flags & PF_KTHREAD).toBe(PF_KTHREAD);
    expect(kthreadd.state).toBe("S");
    expect(kthreadd.wchan).toBe("kthreadd");
    expect(k.kthread.kthreadd_task).toBe(kthreadd);
  });

  it("forks the child as a copy of itself; kthread_create names it and resets it to SCHED_NORMAL on every CPU", () => {
    const { k, kt, kthreadd } = boot(2, true);
    // root may have changed kthreadd's priority and mask; the new thread must not inherit them.
    k.sched.sched_setscheduler(kthreadd, "FIFO", 50);
    k.sched.set_cpus_allowed_ptr(kthreadd, CpuMask.cpumask_of(1));
    let t: TaskStruct | null = null;
    control(k, function* () {
      t = yield* kt.kthread_create(function* () {
        return 0;
      }, null, "worker/%d", 7);
      return 0;
    });
    k.run(ms(1));
    const p = t as unknown as TaskStruct;
    const fork_wakeup = k.records.find((r) => r.event === "sched_wakeup_new" && r.fields["pid"] === p.pid);
    // The fork's wake-up shows the child still named after its parent, as ftrace does.
    expect(fork_wakeup?.fields["comm"]).toBe("kthreadd");
    expect(p.comm).toBe("worker/7");
    expect(p.policy).toBe("NORMAL");
    expect(p.prio).toBe(120);
    expect(p.cpus_allowed.toString()).toBe(CpuMask.first_n(2).toString());
    expect(p.state).toBe("D");
    expect(p.wchan).toBe("kthread");
  });

  it("serves concurrent requests in the order they were queued", () => {
    const { k, kt } = boot(2);
    const made: string[] = [];
    const maker = (name: string, cpu: number) =>
      control(
        k,
        function* () {
          const p = yield* kt.kthread_create(function* () {
            return 0;
          }, null, "%s", name);
          made.push(`${p.comm}/${p.pid}`);
          return 0;
        },
        { comm: `maker-${name}`, cpu },
      );
    maker("a", 0);
    maker("b", 1);
    k.run(ms(1));
    // kthreadd is pid 1, the makers 2 and 3: the threads get 4 and 5, in request order.
    expect(made.sort()).toEqual(["a/4", "b/5"]);
  });

  it("a creator waits for kthreadd, and the wait-for graph says so while kthreadd cannot run", () => {
    const { k, kt, kthreadd } = boot(1);
    // A FIFO task keeps the only CPU: kthreadd (NORMAL) never runs.
    const creator = control(
      k,
      function* () {
        yield* kt.kthread_create(function* () {
          return 0;
        }, null, "stuck/%d", 0);
        return 0;
      },
      { policy: "FIFO", rt_priority: 60 },
    );
    k.spawn({
      comm: "hog",
      policy: "FIFO",
      rt_priority: 50,
      *threadfn() {
        yield RUN(Number.POSITIVE_INFINITY);
        return 0;
      },
    });
    k.run(ms(100));
    expect(creator.state).toBe("D");
    expect(creator.wchan).toBe("kthread_create");
    const chain = k.waitfor.follow({ kind: "task", task: creator });
    expect(chain.path[0]?.because).toBe(`kthread_create(stuck/0) waits for kthreadd/${kthreadd.pid} to create the thread`);
    expect(chain.path[0]?.to).toEqual({ kind: "task", task: kthreadd });
  });
});

describe("a thread never woken", () => {
  it("sleeps in D in kthread() under kthreadd's name, and the wait-for graph leads to its creator", () => {
    const { k, kt, kthreadd } = boot(2);
    let t!: TaskStruct;
    // The creator gets the thread back, then blocks on something else
    // before it binds or wakes it, as a hotplug task starved of its CPU would.
    const creator = control(k, function* () {
      t = yield* kt.kthread_create(function* () {
        return 0;
      }, null, "late/%d", 1);
      yield SLEEP(ms(1_000_000));
      return 0;
    });
    k.run(ms(200));
    expect(t.state).toBe("D");
    expect(t.wchan).toBe("kthread");
    const chain = k.waitfor.follow({ kind: "task", task: t });
    expect(chain.path.length).toBe(1);
    expect(chain.path[0]!.to).toEqual({ kind: "task", task: creator });
    expect(chain.path[0]!.because).toBe(
      `late/1/${t.pid} sleeps in kthread() until it is first woken or stopped, which is left to ctl/${creator.pid}, the caller of kthread_create(late/1)`,
    );
    // Once woken, the thread waits for nobody.
    expect(kthreadd.state).toBe("S");
    k.sched.wake_up_process(t);
    k.run(ms(300));
    expect(k.waitfor.follow({ kind: "task", task: t }).path).toEqual([]);
  });
});

describe("kthread_create, kthread_bind, wake-up and kthread_stop", () => {
  it("runs a bound thread on its CPU until kthread_stop, which returns threadfn's value (42)", () => {
    const { k, kt } = boot(2);
    let t!: TaskStruct;
    let ret = 0;
    let stopped_at = -1;
    const cpus_seen = new Set<number>();
    let loops = 0;
    control(k, function* () {
      t = yield* kt.kthread_create(
        function* (step: number): KernelCall<number> {
          while (!kt.kthread_should_stop()) {
            cpus_seen.add(smp_processor_id());
            loops++;
            yield SLEEP(step);
          }
          return 42;
        },
        ms(1),
        "worker/%d",
        1,
      );
      kt.kthread_bind(t, 1);
      k.sched.wake_up_process(t);
      yield SLEEP(ms(10));
      ret = yield* kt.kthread_stop(t);
      stopped_at = k.engine.now;
      return 0;
    });
    k.run();
    expect(ret).toBe(42);
    expect(t.pid).toBe(3);
    expect(t.comm).toBe("worker/1");
    expect(t.cpu).toBe(1);
    expect(t.cpus_allowed.toString()).toBe(CpuMask.cpumask_of(1).toString());
    expect(t.flags & (PF_KTHREAD | PF_THREAD_BOUND)).toBe(PF_KTHREAD | PF_THREAD_BOUND);
    expect([...cpus_seen]).toEqual([1]);
    // Woken at 0, a 1 ms sleep per loop, stopped at 10 ms: ten loops.
    expect(loops).toBe(10);
    expect(stopped_at).toBe(ms(10));
    expect(t.state).toBe("X");
    expect(t.exit_code).toBe(42);
  });

  it.each([4, 8])(
    "kthread_bind on %i CPUs sets a one-CPU affinity and PF_THREAD_BOUND but leaves the thread on kthreadd's CPU until it is woken",
    (cpus) => {
      const { k, kt, kthreadd } = boot(cpus);
      const last = cpus - 1;
      let t!: TaskStruct;
      let cpu_after_bind = -1;
      let ran_on = -1;
      control(k, function* () {
        t = yield* kt.kthread_create(function* () {
          ran_on = smp_processor_id();
          return 0;
        }, null, "migration/%d", last);
        kt.kthread_bind(t, last);
        cpu_after_bind = t.cpu;
        yield SLEEP(ms(1));
        k.sched.wake_up_process(t);
        return 0;
      });
      k.run(ms(3));
      expect(t.comm).toBe(`migration/${last}`);
      // kthread.c:161 writes cpus_allowed, rt.nr_cpus_allowed and PF_THREAD_BOUND, not task_cpu.
      expect(cpu_after_bind).toBe(kthreadd.cpu);
      expect(cpu_after_bind).not.toBe(last);
      expect(t.cpus_allowed.toString()).toBe(CpuMask.cpumask_of(last).toString());
      expect(t.rt.nr_cpus_allowed).toBe(1);
      expect(t.flags & PF_THREAD_BOUND).toBe(PF_THREAD_BOUND);
      // The wake-up found task_cpu outside the mask and placed it on its CPU.
      expect(ran_on).toBe(last);
      expect(t.cpu).toBe(last);
    },
  );

  it("kthread_run wakes the thread at once", () => {
    const { k, kt } = boot(2);
    let ran_at = -1;
    control(k, function* () {
      yield SLEEP(ms(3));
      yield* kt.kthread_run(function* () {
        ran_at = k.engine.now;
        return 0;
      }, null, "runner");
      return 0;
    });
    k.run();
    expect(ran_at).toBe(ms(3));
  });

  it("a thread stopped before its first run exits with -EINTR and threadfn is never called", () => {
    const { k, kt } = boot(2);
    let called = 0;
    let ret = 0;
    let t!: TaskStruct;
    control(k, function* () {
      t = yield* kt.kthread_create(function* () {
        called++;
        return 42;
      }, null, "never-run");
      ret = yield* kt.kthread_stop(t);
      return 0;
    });
    k.run();
    expect(ret).toBe(-EINTR);
    expect(called).toBe(0);
    expect(t.state).toBe("X");
  });

  it("a thread that never checks kthread_should_stop leaves the stopper in D in kthread_stop, and the graph names it", () => {
    const { k, kt } = boot(2);
    let t!: TaskStruct;
    const stopper = control(k, function* () {
      t = yield* kt.kthread_run(function* (): KernelCall<number> {
        for (;;) yield SLEEP(ms(5));
      }, null, "deaf/%d", 0);
      yield SLEEP(ms(1));
      yield* kt.kthread_stop(t);
      return 0;
    });
    k.run(ms(1000));
    expect(stopper.state).toBe("D");
    expect(stopper.wchan).toBe("kthread_stop");
    expect(stopper.blocked_since).toBe(ms(1));
    expect(t.state).toBe("S");
    const chain = k.waitfor.follow({ kind: "task", task: stopper });
    expect(chain.path.length).toBe(1);
    const edge = chain.path[0]!;
    expect(wait_node_name(edge.from)).toBe(`task ctl/${stopper.pid}`);
    expect(wait_node_name(edge.to)).toBe(`task deaf/0/${t.pid}`);
    expect(edge.because).toBe(`kthread_stop(deaf/0/${t.pid}) waits for the thread to exit`);
  });

  it("kthread_bind of a thread that is asleep outside kthread() is a WARNING outcome", () => {
    const { k, kt } = boot(2);
    control(k, function* () {
      const t = yield* kt.kthread_run(function* (): KernelCall<number> {
        for (;;) yield SLEEP(ms(5));
      }, null, "busy");
      yield SLEEP(ms(1));
      kt.kthread_bind(t, 1);
      return 0;
    });
    expect(k.engine.run(ms(100))).toBe("bug");
    expect(k.engine.bug?.kind).toBe("WARNING");
    expect(k.engine.bug?.message).toBe("kthread_bind(busy/3, 1): the thread is not inactive (state S)");
  });
});

describe("task refcounts around kthread_stop", () => {
  it("usage: 2 at creation, 3 with migration_call's reference, 1 after kthread_stop, freed by the last put", () => {
    const { k, kt } = boot(2);
    const usage: [string, number][] = [];
    let t!: TaskStruct;
    control(k, function* () {
      t = yield* kt.kthread_run(function* (): KernelCall<number> {
        while (!kt.kthread_should_stop()) yield SLEEP(ms(1));
        return 0;
      }, null, "counted");
      usage.push(["created", t.usage]);
      get_task_struct(t);
      usage.push(["get", t.usage]);
      yield SLEEP(ms(2));
      yield* kt.kthread_stop(t);
      usage.push(["stopped", t.usage]);
      put_task_struct(t);
      usage.push(["put", t.usage]);
      return 0;
    });
    k.run();
    expect(usage).toEqual([
      ["created", 2],
      ["get", 3],
      ["stopped", 1],
      ["put", 0],
    ]);
    expect(t.freed).toBe(true);
  });

  it("one put too many is a refcount-underflow bug naming the thread", () => {
    const { k, kt } = boot(2);
    control(k, function* () {
      const t = yield* kt.kthread_create(function* () {
        return 0;
      }, null, "migration/%d", 1);
      get_task_struct(t);
      yield* kt.kthread_stop(t);
      put_task_struct(t);
      put_task_struct(t);
      return 0;
    });
    expect(k.engine.run(ms(100))).toBe("bug");
    expect(k.engine.bug?.message).toBe("refcount underflow: put_task_struct(migration/1/3) on a freed task");
  });

  it("a second kthread_stop of the same thread is a bug naming it", () => {
    const { k, kt } = boot(2);
    let first = 1;
    control(k, function* () {
      const t = yield* kt.kthread_create(function* () {
        return 0;
      }, null, "migration/%d", 1);
      first = yield* kt.kthread_stop(t);
      yield* kt.kthread_stop(t);
      return 0;
    });
    expect(k.engine.run(ms(100))).toBe("bug");
    expect(first).toBe(-EINTR);
    expect(k.engine.bug?.message).toBe(
      "double kthread_stop(migration/1/3): its task_struct was already freed (use after free)",
    );
  });

  it("a second kthread_stop while the first still waits is a bug too", () => {
    const { k, kt } = boot(2);
    let t!: TaskStruct;
    const stopper = (cpu: number, at: number) =>
      control(
        k,
        function* () {
          yield SLEEP(at);
          yield* kt.kthread_stop(t);
          return 0;
        },
        { comm: `stopper${cpu}`, cpu },
      );
    control(k, function* () {
      t = yield* kt.kthread_run(function* (): KernelCall<number> {
        for (;;) yield SLEEP(ms(5));
      }, null, "deaf");
      stopper(0, ms(1));
      stopper(1, ms(2));
      return 0;
    });
    expect(k.engine.run(ms(100))).toBe("bug");
    expect(k.engine.bug?.at_ns).toBe(ms(2));
    expect(k.engine.bug?.message).toBe("double kthread_stop(deaf/3): it was already stopped");
  });
});

describe("parking (as 3.x has it)", () => {
  it("kthread_park puts the thread in P until kthread_unpark; it then resumes on its bound CPU", () => {
    const { k, kt } = boot(2);
    let t!: TaskStruct;
    let work = 0;
    const cpus_after_unpark = new Set<number>();
    let unparked = false;
    const seen: [string, number | string][] = [];
    control(k, function* () {
      t = yield* kt.kthread_create(function* (): KernelCall<number> {
        while (!kt.kthread_should_stop()) {
          if (kt.kthread_should_park()) yield* kt.kthread_parkme();
          if (unparked) cpus_after_unpark.add(smp_processor_id());
          work++;
          yield SLEEP(ms(1));
        }
        return 7;
      }, null, "percpu/%d", 1);
      kt.kthread_bind(t, 1);
      k.sched.wake_up_process(t);
      yield SLEEP(ms(5));
      seen.push(["park", yield* kt.kthread_park(t)]);
      seen.push(["state", t.state]);
      seen.push(["parked_at_work", work]);
      // While parked its CPU went away: the fallback moved it to CPU 0 with a wider mask.
      t.cpus_allowed = CpuMask.first_n(2);
      t.cpu = 0;
      yield SLEEP(ms(10));
      seen.push(["work_after_10ms_parked", work]);
      seen.push(["state", t.state]);
      unparked = true;
      kt.kthread_unpark(t);
      seen.push(["state", t.state]);
      yield SLEEP(ms(5));
      seen.push(["stop", yield* kt.kthread_stop(t)]);
      return 0;
    });
    k.run();
    expect(seen).toEqual([
      ["park", 0],
      ["state", "P"],
      // Loops at 0..4 ms; the park at 5 ms wakes it out of its fifth sleep.
      ["parked_at_work", 5],
      ["work_after_10ms_parked", 5],
      ["state", "P"],
      ["state", "R"],
      ["stop", 7],
    ]);
    // Unparked at 15 ms, stopped at 20 ms: loops at 15..19 ms.
    expect(work).toBe(10);
    expect([...cpus_after_unpark]).toEqual([1]);
    expect(t.cpus_allowed.toString()).toBe(CpuMask.cpumask_of(1).toString());
  });

  it("kthread_stop of a parked thread unparks it so that it can exit", () => {
    const { k, kt } = boot(2);
    let ret = 0;
    control(k, function* () {
      const t = yield* kt.kthread_run(function* (): KernelCall<number> {
        while (!kt.kthread_should_stop()) {
          if (kt.kthread_should_park()) yield* kt.kthread_parkme();
          yield SLEEP(ms(1));
        }
        return 9;
      }, null, "parked");
      yield SLEEP(ms(2));
      yield* kt.kthread_park(t);
      ret = yield* kt.kthread_stop(t);
      return 0;
    });
    k.run();
    expect(ret).toBe(9);
  });

  it("a thread parked before its first run parks in kthread() and runs threadfn only after unpark", () => {
    const { k, kt } = boot(2);
    let first_run = -1;
    let state_after_park = "";
    control(k, function* () {
      const t = yield* kt.kthread_create(function* () {
        first_run = k.engine.now;
        return 0;
      }, null, "smpboot");
      yield* kt.kthread_park(t);
      state_after_park = t.state;
      expect(to_kthread(t).is_parked).toBe(true);
      yield SLEEP(ms(4));
      kt.kthread_unpark(t);
      return 0;
    });
    k.run();
    expect(state_after_park).toBe("P");
    expect(first_run).toBe(ms(4));
  });

  it("kthread_park of a thread that has exited returns -ENOSYS", () => {
    const { k, kt } = boot(2);
    let ret = 0;
    control(k, function* () {
      const t = yield* kt.kthread_run(function* () {
        return 0;
      }, null, "short");
      get_task_struct(t);
      yield SLEEP(ms(1));
      ret = yield* kt.kthread_park(t);
      put_task_struct(t);
      return 0;
    });
    k.run();
    expect(ret).toBe(-38);
  });
});

describe("tracing and context checks", () => {
  it("kthread_stop emits sched_kthread_stop and sched_kthread_stop_ret, as 2.6.34 does", () => {
    const { k, kt } = boot(2, true);
    control(k, function* () {
      const t = yield* kt.kthread_run(function* (): KernelCall<number> {
        while (!kt.kthread_should_stop()) yield SLEEP(ms(1));
        return 5;
      }, null, "traced");
      yield SLEEP(ms(3));
      yield* kt.kthread_stop(t);
      return 0;
    });
    k.run();
    const ev = k.records
      .filter((r) => r.event === "sched_kthread_stop" || r.event === "sched_kthread_stop_ret")
      .map((r) => [r.ts, r.event, r.comm, { ...r.fields }]);
    expect(ev).toEqual([
      [ms(3), "sched_kthread_stop", "ctl", { comm: "traced", pid: 3 }],
      [ms(3), "sched_kthread_stop_ret", "ctl", { ret: 5 }],
    ]);
  });

  it("kthread_create with interrupts off is a scheduling-while-atomic bug", () => {
    const { k, kt } = boot(2);
    control(k, function* () {
      run_atomic(
        kt.kthread_create(function* () {
          return 0;
        }, null, "atomic"),
        "test",
      );
      return 0;
    });
    expect(k.engine.run(ms(10))).toBe("bug");
    expect(k.engine.bug?.message).toBe("scheduling while atomic: kthread_create called where it may not sleep");
  });

  it("kthread_should_stop from a task that is not a kthread is a bug naming it", () => {
    const { k, kt } = boot(2);
    control(k, function* () {
      kt.kthread_should_stop();
      return 0;
    });
    expect(k.engine.run(ms(10))).toBe("bug");
    expect(k.engine.bug?.message).toBe("to_kthread(ctl/2): not a thread created by kthread_create()");
  });
});
