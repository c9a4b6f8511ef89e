import { describe, expect, it } from "vitest";
import {
  BUG_ON,
  Completion,
  Engine,
  get_task_struct,
  put_task_struct,
  RUN,
  SimEvent,
  wait_for_completion,
  wait_node_name,
  WARN_ON,
  type TaskStruct,
} from "../src/index.js";
import { make_test_kernel } from "../src/testing/index.js";

describe("invariant reporting", () => {
  it("a BUG_ON inside an event ends the run with outcome bug, its time and message", () => {
    const e = new Engine();
    e.schedule(new SimEvent("ok", () => {}), 5);
    e.schedule(new SimEvent("bad", () => BUG_ON(true, "rt_rq 0 has negative rt_time")), 7);
    e.schedule(new SimEvent("never", () => {}), 9);
    expect(e.run(100)).toBe("bug");
    expect(e.bug).toEqual({ at_ns: 7, message: "rt_rq 0 has negative rt_time", kind: "BUG" });
    expect(e.events).toBe(2);
    expect(e.run(100)).toBe("bug");
  });

  it("WARN_ON stops the run as well, marked as a warning", () => {
    const e = new Engine();
    e.schedule(new SimEvent("warn", () => WARN_ON(true, "odd")), 1);
    e.run(10);
    expect(e.bug?.kind).toBe("WARNING");
  });

  it("refcount underflow and use after the last put are bugs with the task named", () => {
    const k = make_test_kernel({ cpus: 1 });
    const t = k.spawn({
      comm: "short",
      *threadfn() {
        yield RUN(1000);
        return 0;
      },
    });
    get_task_struct(t);
    k.run();
    expect(t.usage).toBe(1);
    put_task_struct(t);
    expect(t.freed).toBe(true);
    expect(() => put_task_struct(t)).toThrow(/refcount underflow: put_task_struct\(short\/1\)/);
    expect(() => get_task_struct(t)).toThrow(/use-after-free/);
  });
});

describe("wait-for graph", () => {
  it("follows blocked tasks through their waitables to a cycle", () => {
    const k = make_test_kernel({ cpus: 2 });
    const tasks: Record<string, TaskStruct> = {};
    const mk = (name: string, other: string) => {
      const x = new Completion(`${name}-done`, (w) => ({
        from: { kind: "task", task: w },
        to: { kind: "task", task: tasks[other]! },
        because: `${name} waits for ${other} to finish`,
      }));
      tasks[name] = k.spawn({
        comm: name,
        *threadfn() {
          yield* wait_for_completion(x);
          return 0;
        },
      });
    };
    mk("a", "b");
    mk("b", "a");
    k.run();
    const chain = k.waitfor.follow({ kind: "task", task: tasks.a! });
    expect(chain.cycle.map((e) => `${wait_node_name(e.from)} -> ${wait_node_name(e.to)}`)).toEqual([
      "task a/1 -> task b/2",
      "task b/2 -> task a/1",
    ]);
  });

  it("a wait that will end by itself has no cycle", () => {
    const k = make_test_kernel({ cpus: 1 });
    const t = k.spawn({
      comm: "sleeper",
      *threadfn() {
        yield RUN(10);
        return 0;
      },
    });
    expect(k.waitfor.follow({ kind: "task", task: t }).cycle).toEqual([]);
  });
});
