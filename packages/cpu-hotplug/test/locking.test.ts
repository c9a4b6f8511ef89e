import { CPU_DEAD, CPU_DOWN_PREPARE, CPU_DYING, CPU_POST_DEAD, SLEEP, type WaitNode } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { boot, caller, lines, ms, recorder, type Seen } from "./helpers.js";

const notifier = (name: string, event: string): WaitNode => ({ kind: "notifier", name, event });

describe("locks and the wait-for graph", () => {
  it("a notifier that sleeps 50 ms holds up the rest of its chain; the later notifier waits for the caller's task", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "hrtimer_cpu_notify", 0, seen));
    hp.register_cpu_notifier(recorder(hp, k, "migration_call", 10, seen, { [CPU_DEAD]: { sleep: ms(50) } }));
    const { task, out } = caller(k, () => hp.cpu_down(1), 0, "cpuhp-stress");
    k.run(ms(20));

    expect(out.value).toBeNull();
    expect(task.state).toBe("S");
    expect(hp.log[hp.log.length - 1]).toMatchObject({ op: "cpu_down", end_ns: null, result: "incomplete" });
    const edge = k.waitfor.explain(notifier("hrtimer_cpu_notify", "CPU_DEAD"));
    expect(edge?.to).toEqual({ kind: "task", task });
    expect(edge?.because).toBe(
      `cpu_down(1) in task cpuhp-stress/${task.pid} is blocked in migration_call (priority 10), which runs before hrtimer_cpu_notify (priority 0) in the CPU_DEAD chain`,
    );
    // An event the operation has not reached yet.
    expect(k.waitfor.explain(notifier("hrtimer_cpu_notify", "CPU_POST_DEAD"))?.because).toBe(
      `cpu_down(1) in task cpuhp-stress/${task.pid} has not sent CPU_POST_DEAD yet: it is blocked in migration_call (priority 10) in the CPU_DEAD chain`,
    );
    // No edge for the notifier being called, one already called, an event already past, or an unknown name.
    expect(k.waitfor.explain(notifier("migration_call", "CPU_DEAD"))).toBeNull();
    expect(k.waitfor.explain(notifier("hrtimer_cpu_notify", "CPU_DOWN_PREPARE"))).toBeNull();
    expect(k.waitfor.explain(notifier("nobody", "CPU_DEAD"))).toBeNull();
    // The chain from the notifier ends at the sleeping task, which will wake by itself.
    expect(k.waitfor.follow(notifier("hrtimer_cpu_notify", "CPU_DEAD")).path).toHaveLength(1);

    k.run();
    expect(out.value).toBe(0);
    expect(seen.filter((s) => s.event === "CPU_DEAD").map((s) => [s.nb, s.t])).toEqual([
      ["migration_call", 0],
      ["hrtimer_cpu_notify", ms(50)],
    ]);
    expect(hp.log[hp.log.length - 1]).toMatchObject({ end_ns: ms(50), result: "ok" });
    expect(k.waitfor.explain(notifier("hrtimer_cpu_notify", "CPU_POST_DEAD"))).toBeNull();
  });

  it("before any event: the notifier waits for the task stuck in cpu_hotplug_begin, which waits for a get_online_cpus reader", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n", 0, seen));
    const reader = k.spawn({
      comm: "reader",
      cpu: 0,
      *threadfn() {
        yield* hp.get_online_cpus();
        yield SLEEP(ms(30));
        yield* hp.put_online_cpus();
        return 0;
      },
    });
    const { task: writer, out } = caller(k, () => hp.cpu_down(1));
    k.run(ms(10));

    expect(hp.cpu_hotplug.refcount).toBe(1);
    expect([writer.state, writer.wchan]).toEqual(["D", "cpu_hotplug_begin"]);
    // set_cpu_active(cpu, false) comes after cpu_hotplug_begin in 2.6.34.
    expect(hp.cpu_active(1)).toBe(true);
    const chain = k.waitfor.follow(notifier("n", "CPU_DOWN_PREPARE")).path;
    expect(chain.map((e) => e.because)).toEqual([
      `cpu_down(1) in task cpuhp/${writer.pid} has not sent CPU_DOWN_PREPARE yet: it is in cpu_hotplug_begin, waiting for get_online_cpus() readers`,
      `cpuhp/${writer.pid} waits in cpu_hotplug_begin for 1 get_online_cpus() reference(s); task reader/${reader.pid} holds one`,
    ]);

    k.run();
    expect(out.value).toBe(0);
    expect(lines(seen)[0]).toBe("CPU_DOWN_PREPARE n@0");
    expect(seen[0]!.t).toBe(ms(30));
    expect(hp.cpu_hotplug.refcount).toBe(0);
  });

  it("CPU_POST_DEAD runs after cpu_hotplug.lock is released: a reader blocked through CPU_DEAD gets in before POST_DEAD", () => {
    const { k, hp } = boot(3);
    const seen: Seen[] = [];
    const reader_log: string[] = [];
    // The reader runs on CPU 2, which stays up.
    const reader = k.spawn({
      comm: "reader",
      cpu: 2,
      *threadfn() {
        yield SLEEP(ms(5));
        reader_log.push(`get ${k.engine.now / 1e6}ms`);
        yield* hp.get_online_cpus();
        reader_log.push(`got ${k.engine.now / 1e6}ms`);
        yield SLEEP(ms(100));
        yield* hp.put_online_cpus();
        return 0;
      },
    });
    let at_dead_end = "";
    let at_post_dead = "";
    hp.register_cpu_notifier(recorder(hp, k, "slow", 10, seen, { [CPU_DEAD]: { sleep: ms(10) } }));
    hp.register_cpu_notifier({
      name: "probe",
      priority: 0,
      *notifier_call(_nb, action) {
        if (action === CPU_DEAD) at_dead_end = `${reader.state} ${reader.wchan} refcount=${hp.cpu_hotplug.refcount}`;
        if (action === CPU_POST_DEAD) {
          yield SLEEP(ms(1));
          at_post_dead = `${reader.state} refcount=${hp.cpu_hotplug.refcount} ${reader_log.join(", ")}`;
        }
        return 1;
      },
    });
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(0);
    // At the end of CPU_DEAD (t = 10 ms) the reader is still blocked on cpu_hotplug.lock.
    expect(at_dead_end).toBe("D get_online_cpus refcount=0");
    // POST_DEAD comes after cpu_hotplug_done(): the reader got its reference at 10 ms.
    expect(at_post_dead).toBe("S refcount=1 get 5ms, got 10ms");
    expect(hp.log[hp.log.length - 1]).toMatchObject({ end_ns: ms(11), result: "ok" });
  });

  it("a second operation blocks in D on cpu_add_remove_lock until the first returns", () => {
    const { k, hp } = boot(3);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "slowprep", 0, seen, { [CPU_DOWN_PREPARE]: { sleep: ms(50) } }));
    const a = caller(k, () => hp.cpu_down(1), 0, "cpuhp-a");
    const b = caller(k, () => hp.cpu_down(2), 0, "cpuhp-b");
    k.run(ms(10));

    expect([b.task.state, b.task.wchan]).toEqual(["D", "cpu_maps_update_begin"]);
    expect(k.waitfor.explain({ kind: "task", task: b.task })?.because).toBe(
      `cpuhp-b/${b.task.pid} waits for cpu_add_remove_lock, held by cpuhp-a/${a.task.pid}`,
    );
    const [ra, rb] = hp.log.slice(-2);
    expect(ra).toMatchObject({ op: "cpu_down", cpu: 1, pid: a.task.pid, result: "incomplete" });
    expect(rb).toMatchObject({ op: "cpu_down", cpu: 2, pid: b.task.pid, start_ns: 0, result: "incomplete", notifications: [] });
    // The waiting operation's events are explained by the one holding the lock.
    expect(k.waitfor.explain(notifier("slowprep", "CPU_DYING"))?.to).toEqual({ kind: "task", task: a.task });

    k.run();
    expect([a.out.value, b.out.value]).toEqual([0, 0]);
    expect(seen.map((s) => `${s.event} @${s.t / 1e6}`)).toEqual([
      "CPU_DOWN_PREPARE @0",
      "CPU_DYING @50",
      "CPU_DEAD @50",
      "CPU_POST_DEAD @50",
      "CPU_DOWN_PREPARE @50",
      "CPU_DYING @100",
      "CPU_DEAD @100",
      "CPU_POST_DEAD @100",
    ]);
    expect(hp.log.slice(-2).map((r) => [r.start_ns, r.end_ns, r.result])).toEqual([
      [0, ms(50), "ok"],
      [0, ms(100), "ok"],
    ]);
    expect(hp.cpu_online_mask.toString()).toBe("0");
  });

  it("get_online_cpus in a notifier of the writer's own task passes; nested readers count", () => {
    const { k, hp } = boot(2);
    const refs: number[] = [];
    hp.register_cpu_notifier({
      name: "reader_in_chain",
      priority: 0,
      *notifier_call(_nb, action) {
        if (action === CPU_DEAD || action === CPU_POST_DEAD) {
          yield* hp.get_online_cpus();
          refs.push(hp.cpu_hotplug.refcount);
          yield* hp.put_online_cpus();
        }
        return 1;
      },
    });
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(0);
    // At CPU_DEAD the writer passes without a reference; at POST_DEAD it is an ordinary reader.
    expect(refs).toEqual([0, 1]);
    expect(hp.cpu_hotplug.refcount).toBe(0);
  });

  it("put_online_cpus without get_online_cpus is a BUG", () => {
    const { k, hp } = boot(1);
    caller(k, function* () {
      yield* hp.put_online_cpus();
      return 0;
    });
    expect(() => k.run()).toThrow(/put_online_cpus by cpuhp\/2 without get_online_cpus/);
  });

  it("a notifier that blocks at CPU_DYING (interrupts off, on the dying CPU) is 'scheduling while atomic'", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "ok_first", 5, seen));
    hp.register_cpu_notifier(recorder(hp, k, "sleeper", 0, seen, { [CPU_DYING]: { sleep: ms(1) } }));
    caller(k, () => hp.cpu_down(1));
    expect(() => k.run()).toThrow(/scheduling while atomic: sleeper at CPU_DYING/);
    expect(k.engine.bug).toMatchObject({ kind: "BUG", at_ns: 0 });
    expect(lines(seen)).toEqual([
      "CPU_DOWN_PREPARE ok_first@0",
      "CPU_DOWN_PREPARE sleeper@0",
      "CPU_DYING ok_first@1",
      "CPU_DYING sleeper@1",
    ]);
    expect(hp.log[hp.log.length - 1]!.result).toBe("incomplete");
  });
});
