import { describe, expect, it } from "vitest";
import {
  Completion,
  complete,
  complete_all,
  current,
  NSEC_PER_MSEC,
  RUN,
  SimEvent,
  SLEEP,
  smp_processor_id,
  wait_event,
  wait_for_completion,
  WaitQueueHead,
  wake_up,
  type KernelCall,
  type TaskStruct,
} from "../src/index.js";
import { make_test_kernel, type ReferenceExecutor } from "../src/testing/index.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

describe("process context on the reference executor", () => {
  it("a RUN effect takes exactly its CPU time; the body sees current and its CPU", () => {
    const k = make_test_kernel({ cpus: 2 });
    const seen: [string, number, number][] = [];
    const t = k.spawn({
      comm: "worker",
      cpu: 1,
      *threadfn(p) {
        seen.push([current().comm, smp_processor_id(), k.engine.now]);
        yield RUN(ms(3));
        seen.push([p.comm, smp_processor_id(), k.engine.now]);
        return 7;
      },
    });
    k.run();
    expect(seen).toEqual([
      ["worker", 1, 0],
      ["worker", 1, ms(3)],
    ]);
    // Exited and reaped: gone from the task list, its struct still readable here.
    expect([...k.sched.for_each_process()]).toEqual([]);
    expect(t.state).toBe("X");
    expect(t.exit_code).toBe(7);
    expect(t.se.sum_exec_runtime).toBe(ms(3));
  });

  it("a higher-priority wake-up preempts, and the preempted task's time is accounted exactly", () => {
    const k = make_test_kernel({ cpus: 1 });
    const order: string[] = [];
    const lo = k.spawn({
      comm: "lo",
      policy: "FIFO",
      rt_priority: 10,
      *threadfn() {
        yield RUN(ms(10));
        order.push(`lo done @${k.engine.now / 1e6}`);
        return 0;
      },
    });
    const hi: TaskStruct = k.sched.create_task({
      comm: "hi",
      policy: "FIFO",
      rt_priority: 50,
      *threadfn() {
        yield RUN(ms(2));
        order.push(`hi done @${k.engine.now / 1e6}`);
        return 0;
      },
    });
    k.engine.schedule(new SimEvent("wake-hi", () => k.sched.wake_up_new_task(hi)), ms(4));
    k.run();
    expect(order).toEqual(["hi done @6", "lo done @12"]);
    expect(lo.se.sum_exec_runtime).toBe(ms(10));
    expect(lo.nivcsw).toBe(1);
  });

  it("wait_for_completion blocks in D until complete(), waking waiters in FIFO order", () => {
    const k = make_test_kernel({ cpus: 1 });
    const x = new Completion("x");
    const woke: string[] = [];
    const waiter = (name: string) =>
      k.spawn({
        comm: name,
        *threadfn() {
          yield* wait_for_completion(x);
          woke.push(`${name}@${k.engine.now / 1e6}`);
          return 0;
        },
      });
    const a = waiter("a");
    const b = waiter("b");
    k.spawn({
      comm: "completer",
      *threadfn() {
        yield SLEEP(ms(5));
        complete(x);
        yield SLEEP(ms(5));
        complete(x);
        return 0;
      },
    });
    k.run(ms(1));
    expect(a.state).toBe("D");
    expect(a.wchan).toBe("wait_for_completion");
    expect(b.state).toBe("D");
    k.run();
    expect(woke).toEqual(["a@5", "b@10"]);
    // One voluntary switch to block, one to exit.
    expect(a.nvcsw).toBe(2);
  });

  it("complete_all releases every waiter at once, and later waiters pass", () => {
    const k = make_test_kernel({ cpus: 2 });
    const x = new Completion("x");
    const passed: number[] = [];
    for (let i = 0; i < 3; i++) {
      k.spawn({
        comm: `w${i}`,
        *threadfn() {
          yield* wait_for_completion(x);
          passed.push(k.engine.now);
          return 0;
        },
      });
    }
    k.spawn({
      comm: "c",
      *threadfn() {
        yield SLEEP(ms(2));
        complete_all(x);
        yield* wait_for_completion(x);
        passed.push(k.engine.now);
        return 0;
      },
    });
    k.run();
    expect(passed).toEqual([ms(2), ms(2), ms(2), ms(2)]);
  });

  it("wait_event re-checks its condition on every wake-up", () => {
    const k = make_test_kernel({ cpus: 1 });
    const wq = new WaitQueueHead("wq");
    let count = 0;
    let woke_at = -1;
    k.spawn({
      comm: "waiter",
      *threadfn() {
        yield* wait_event(wq, () => count >= 3, "S");
        woke_at = k.engine.now;
        return 0;
      },
    });
    k.spawn({
      comm: "poker",
      *threadfn() {
        for (let i = 0; i < 3; i++) {
          yield SLEEP(ms(1));
          count++;
          wake_up(wq);
        }
        return 0;
      },
    });
    k.run();
    expect(woke_at).toBe(ms(3));
  });

  it("a task that never yields time is a livelock bug, not a hang of the simulator", () => {
    const k = make_test_kernel({ cpus: 1 });
    k.spawn({
      comm: "spinner",
      *threadfn(): KernelCall<number> {
        for (;;) yield* (function* () {
          yield { op: 1 } as const;
        })();
      },
    });
    k.engine.run(ms(1));
    expect(k.engine.bug?.message).toMatch(/livelock on CPU 0: spinner\/1 keeps yielding/);
  });

  it("a task is never picked on an offline CPU", () => {
    const k = make_test_kernel({ cpus: 2 });
    const sched = k.sched as ReferenceExecutor;
    (k.hotplug as unknown as { set_online(c: number, o: boolean): void }).set_online(1, false);
    const t = k.spawn({
      comm: "t",
      cpu: 1,
      *threadfn() {
        yield RUN(ms(1));
        return 0;
      },
    });
    k.run();
    expect(t.state).toBe("X");
    expect(sched.rqs[1]!.busy_ns).toBe(0);
    expect(sched.rqs[0]!.busy_ns).toBe(ms(1));
  });
});
