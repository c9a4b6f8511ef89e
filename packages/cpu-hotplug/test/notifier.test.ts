import {
  CPU_DYING,
  ENOMEM,
  NOTIFY_BAD,
  NOTIFY_DONE,
  NOTIFY_OK,
  NOTIFY_STOP,
  RUN,
  SLEEP,
  is_kernel_bug,
  notifier_from_errno,
  type KernelCall,
  type NotifierBlock,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { RawNotifierHead, type NrCalls } from "../src/index.js";
import { hotplug_kernel, ms } from "./helpers.js";

/** A block that logs its name and returns `ret` (after `body`, if given). */
function nb(name: string, priority: number, log: string[], ret = NOTIFY_OK, body?: () => KernelCall): NotifierBlock {
  return {
    name,
    priority,
    *notifier_call(_nb, action, v) {
      log.push(`${name}:${action}:${v}`);
      if (body) yield* body();
      return ret;
    },
  };
}

/** Runs a chain walk whose callbacks do not block, outside any task. */
function drive(call: KernelCall<number>): number {
  const r = call.next();
  if (r.done !== true) throw new Error("the walk yielded an effect");
  return r.value;
}

describe("RawNotifierHead (kernel/notifier.c)", () => {
  it("calls higher priorities first and equal priorities in registration order", () => {
    const head = new RawNotifierHead("test_chain");
    const log: string[] = [];
    for (const [name, prio] of [["a", 0], ["b", 10], ["c", 5], ["d", 10], ["e", 0], ["f", -1]] as const) {
      expect(head.notifier_chain_register(nb(name, prio, log))).toBe(0);
    }
    expect(head.blocks().map((b) => b.name)).toEqual(["b", "d", "c", "a", "e", "f"]);
    const nr: NrCalls = { value: 0 };
    expect(drive(head.__raw_notifier_call_chain(7, 1, -1, nr))).toBe(NOTIFY_OK);
    expect(log).toEqual(["b:7:1", "d:7:1", "c:7:1", "a:7:1", "e:7:1", "f:7:1"]);
    expect(nr.value).toBe(6);
  });

  it("stops after a NOTIFY_STOP_MASK return and counts the stopping call; NOTIFY_DONE goes on", () => {
    for (const [stop_ret, name] of [
      [NOTIFY_STOP, "NOTIFY_STOP"],
      [NOTIFY_BAD, "NOTIFY_BAD"],
      [notifier_from_errno(-ENOMEM), "errno"],
    ] as const) {
      const head = new RawNotifierHead("test_chain");
      const log: string[] = [];
      head.notifier_chain_register(nb("first", 3, log, NOTIFY_DONE));
      head.notifier_chain_register(nb("stopper", 2, log, stop_ret));
      head.notifier_chain_register(nb("never", 1, log));
      const nr: NrCalls = { value: 0 };
      const ret = drive(head.__raw_notifier_call_chain(5, 0, -1, nr));
      expect([name, ret, nr.value, log]).toEqual([name, stop_ret, 2, ["first:5:0", "stopper:5:0"]]);
    }
  });

  it("calls at most nr_to_call blocks, and returns NOTIFY_DONE when it calls none", () => {
    const head = new RawNotifierHead("test_chain");
    const log: string[] = [];
    for (const n of ["a", "b", "c"]) head.notifier_chain_register(nb(n, 0, log));
    const nr: NrCalls = { value: 0 };
    drive(head.__raw_notifier_call_chain(6, 2, 2, nr));
    expect(log).toEqual(["a:6:2", "b:6:2"]);
    expect(nr.value).toBe(2);
    expect(drive(head.__raw_notifier_call_chain(6, 2, 0, nr))).toBe(NOTIFY_DONE);
    expect(log).toHaveLength(2);
  });

  it("unregister: a block that removes itself mid-walk still hands on to its successor", () => {
    const head = new RawNotifierHead("test_chain");
    const log: string[] = [];
    const self: NotifierBlock = {
      name: "self",
      priority: 5,
      *notifier_call() {
        log.push("self");
        expect(head.notifier_chain_unregister(self)).toBe(0);
        return NOTIFY_OK;
      },
    };
    head.notifier_chain_register(nb("after", 0, log));
    head.notifier_chain_register(self);
    drive(head.raw_notifier_call_chain(1, 0));
    expect(log).toEqual(["self", "after:1:0"]);
    expect(head.blocks().map((b) => b.name)).toEqual(["after"]);
    expect(head.notifier_chain_unregister(self)).toBe(-2);
  });

  it("registering the same block twice is a BUG", () => {
    const head = new RawNotifierHead("test_chain");
    const b = nb("twice", 0, []);
    head.notifier_chain_register(b);
    expect(() => head.notifier_chain_register(b)).toThrow(/twice is already on test_chain/);
  });

  it("a callback that sleeps holds up the rest of the walk in the caller's task", () => {
    const { k } = hotplug_kernel(1);
    const head = new RawNotifierHead("test_chain");
    const at: [string, number][] = [];
    const stamp = (name: string): NotifierBlock => ({
      name,
      priority: 0,
      *notifier_call() {
        at.push([name, k.engine.now]);
        if (name === "sleeper") yield SLEEP(ms(50));
        return NOTIFY_OK;
      },
    });
    head.notifier_chain_register(stamp("sleeper"));
    head.notifier_chain_register(stamp("next"));
    const t = k.spawn({
      comm: "walker",
      *threadfn() {
        return yield* head.raw_notifier_call_chain(1, 0);
      },
    });
    k.run(ms(20));
    expect(t.state).toBe("S");
    expect(head.walks).toHaveLength(1);
    expect(head.walks[0]!.current?.name).toBe("sleeper");
    expect(head.still_to_call(head.walks[0]!).map((b) => b.name)).toEqual(["next"]);
    k.run();
    expect(at).toEqual([
      ["sleeper", 0],
      ["next", ms(50)],
    ]);
    expect(t.exit_code).toBe(NOTIFY_OK);
    expect(head.walks).toHaveLength(0);
  });

  it("the atomic walk turns a callback that blocks into 'scheduling while atomic'", () => {
    const head = new RawNotifierHead("test_chain", (a) => (a === CPU_DYING ? "CPU_DYING" : "?"));
    const log: string[] = [];
    head.notifier_chain_register(nb("fine", 1, log));
    head.notifier_chain_register(
      nb("spinner", 0, log, NOTIFY_OK, function* () {
        yield RUN(1000);
      }),
    );
    let caught: unknown = null;
    try {
      head.raw_notifier_call_chain_atomic(CPU_DYING, 1);
    } catch (e) {
      caught = e;
    }
    expect(is_kernel_bug(caught)).toBe(true);
    expect((caught as Error).message).toMatch(/^scheduling while atomic: spinner at CPU_DYING/);
    expect(log).toEqual([`fine:${CPU_DYING}:1`, `spinner:${CPU_DYING}:1`]);
    expect(head.walks).toHaveLength(0);
  });
});
