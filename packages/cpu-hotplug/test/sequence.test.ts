import {
  CPU_DEAD,
  CPU_DOWN_PREPARE,
  CPU_DYING,
  CPU_ONLINE,
  CPU_POST_DEAD,
  CPU_STARTING,
  CPU_UP_PREPARE,
  EAGAIN,
  EBUSY,
  EINVAL,
  ENOMEM,
  SLEEP,
  notifier_from_errno,
  type KernelCall,
  type StopMachineOps,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { boot, caller, hotplug_kernel, lines, ms, recorder, type Seen } from "./helpers.js";

describe("boot", () => {
  it("only the boot CPU is online until cpu_up; smp_init brings the others up in order", () => {
    const { k, hp } = hotplug_kernel(3, {});
    expect(hp.cpu_online_mask.toString()).toBe("0");
    expect(hp.cpu_active_mask.toString()).toBe("0");
    expect(hp.cpu_present_mask.toString()).toBe("0-2");
    k.spawn({
      comm: "init",
      *threadfn() {
        return yield* hp.smp_init();
      },
    });
    k.run();
    expect(hp.cpu_online_mask.toString()).toBe("0-2");
    expect(hp.cpu_active_mask.toString()).toBe("0-2");
    expect(hp.log.map((r) => [r.op, r.cpu, r.result])).toEqual([
      ["cpu_up", 1, "ok"],
      ["cpu_up", 2, "ok"],
    ]);
  });
});

describe("cpu_down (2.6.34 _cpu_down)", () => {
  it("sends DOWN_PREPARE, DYING on the dying CPU, then DEAD and POST_DEAD on the caller's CPU", () => {
    const { k, hp } = boot(2, { trace: true });
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "low", 0, seen));
    hp.register_cpu_notifier(recorder(hp, k, "high", 10, seen));
    const locks: string[] = [];
    hp.register_cpu_notifier({
      name: "locks",
      priority: -5,
      *notifier_call(_nb, action) {
        const owner = (m: { owner: { comm: string } | null }): string => m.owner?.comm ?? "-";
        locks.push(`${action}: hotplug.lock=${owner(hp.cpu_hotplug.lock)} add_remove=${owner(hp.cpu_add_remove_lock)}`);
        return 1;
      },
    });
    k.records.length = 0;
    const { task, out } = caller(k, () => hp.cpu_down(1));
    k.run();

    expect(out.value).toBe(0);
    expect(lines(seen)).toEqual([
      "CPU_DOWN_PREPARE high@0",
      "CPU_DOWN_PREPARE low@0",
      "CPU_DYING high@1",
      "CPU_DYING low@1",
      "CPU_DEAD high@0",
      "CPU_DEAD low@0",
      "CPU_POST_DEAD high@0",
      "CPU_POST_DEAD low@0",
    ]);
    // The target CPU's masks as each event saw them: inactive from DOWN_PREPARE, offline from DYING.
    expect(seen.filter((s) => s.nb === "high").map((s) => [s.event, s.online, s.active, s.atomic])).toEqual([
      ["CPU_DOWN_PREPARE", true, false, false],
      ["CPU_DYING", false, false, true],
      ["CPU_DEAD", false, false, false],
      ["CPU_POST_DEAD", false, false, false],
    ]);
    // POST_DEAD runs after cpu_hotplug_done, still under cpu_add_remove_lock.
    expect(locks).toEqual([
      `${CPU_DOWN_PREPARE}: hotplug.lock=cpuhp add_remove=cpuhp`,
      `${CPU_DYING}: hotplug.lock=cpuhp add_remove=cpuhp`,
      `${CPU_DEAD}: hotplug.lock=cpuhp add_remove=cpuhp`,
      `${CPU_POST_DEAD}: hotplug.lock=- add_remove=cpuhp`,
    ]);
    expect(hp.cpu_online_mask.toString()).toBe("0");
    expect(hp.cpu_active_mask.toString()).toBe("0");
    expect(hp.num_online_cpus()).toBe(1);

    const rec = hp.log[hp.log.length - 1]!;
    expect(rec).toMatchObject({ op: "cpu_down", cpu: 1, from_cpu: 0, pid: task.pid, start_ns: 0, end_ns: 0, result: "ok" });
    expect(rec.notifications.slice(0, 3)).toEqual([
      { event: "CPU_DOWN_PREPARE", notifier: "high", ret: "NOTIFY_OK" },
      { event: "CPU_DOWN_PREPARE", notifier: "low", ret: "NOTIFY_OK" },
      { event: "CPU_DOWN_PREPARE", notifier: "locks", ret: "NOTIFY_OK" },
    ]);
    expect(rec.notifications).toHaveLength(12);

    // The trace: the op's begin and end, the online bit cleared on CPU 1, each call on its CPU.
    const ev = k.records.filter((r) => r.event !== "sched_switch" && r.event !== "sched_wakeup_new");
    expect(ev[0]).toMatchObject({ event: "cpuhp_op", cpu: 0, fields: { op: "cpu_down", target_cpu: 1, phase: "begin" } });
    expect(ev.find((r) => r.event === "cpu_online")).toMatchObject({ cpu: 1, fields: { target_cpu: 1, online: 0 } });
    const dying = ev.filter((r) => r.event === "cpuhp_notify" && r.fields["event"] === "CPU_DYING");
    expect(dying.map((r) => [r.cpu, r.fields["notifier"]])).toEqual([
      [1, "high"],
      [1, "low"],
      [1, "locks"],
    ]);
    expect(ev.filter((r) => r.event === "cpuhp_op").map((r) => r.fields["phase"])).toEqual(["begin", "end"]);
    expect(ev.filter((r) => r.event === "cpuhp_op")[1]).toMatchObject({ cpu: 0, fields: { result: "ok" } });
  });

  it("a caller on the dying CPU is moved off it: DEAD and POST_DEAD run on a live CPU, and its affinity comes back", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n", 0, seen));
    const { task, out } = caller(k, () => hp.cpu_down(1), 1);
    k.run();
    expect(out.value).toBe(0);
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE n@1", "CPU_DYING n@1", "CPU_DEAD n@0", "CPU_POST_DEAD n@0"]);
    expect(hp.log[hp.log.length - 1]!.from_cpu).toBe(1);
    expect(task.cpus_allowed.toString()).toBe("0-1");
    expect(task.cpu).toBe(0);
    // The yield / cpu_relax loop took one turn while CPU 1 still ran the caller.
    expect(hp.log[hp.log.length - 1]!.end_ns).toBe(1000);
  });

  it("waits for the dying CPU to switch to its idle task before CPU_DEAD", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n", 0, seen));
    // A busy task on CPU 1 that is still current when take_cpu_down returns.
    k.spawn({
      comm: "hog",
      cpu: 1,
      *threadfn() {
        for (;;) yield { op: 0, ns: ms(100) } as const;
      },
    });
    let idle_at_dead: boolean | null = null;
    hp.register_cpu_notifier({
      name: "probe",
      priority: -1,
      *notifier_call(_nb, action) {
        if (action === CPU_DEAD) idle_at_dead = k.sched.idle_cpu(1);
        return 1;
      },
    });
    const { out } = caller(k, function* () {
      yield SLEEP(ms(1));
      return yield* hp.cpu_down(1);
    });
    k.run(ms(10));
    expect(out.value).toBe(0);
    expect(idle_at_dead).toBe(true);
    expect(hp.log[hp.log.length - 1]).toMatchObject({ start_ns: ms(1), end_ns: ms(1) + 1000 });
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE n@0", "CPU_DYING n@1", "CPU_DEAD n@0", "CPU_POST_DEAD n@0"]);
    // check_for_tasks() warns about the runnable task left on the dead CPU.
    expect(k.dmesg).toContain("Task hog (pid = 2) is on cpu 1 (state = R, flags = 0)");
  });

  it("NOTIFY_BAD at DOWN_PREPARE: DOWN_FAILED goes to exactly the notifiers before the refuser, -EINVAL", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n1", 30, seen));
    hp.register_cpu_notifier(recorder(hp, k, "n2", 20, seen));
    hp.register_cpu_notifier(recorder(hp, k, "refuser", 10, seen, { [CPU_DOWN_PREPARE]: "bad" }));
    hp.register_cpu_notifier(recorder(hp, k, "n4", 0, seen));
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(-EINVAL);
    expect(lines(seen)).toEqual([
      "CPU_DOWN_PREPARE n1@0",
      "CPU_DOWN_PREPARE n2@0",
      "CPU_DOWN_PREPARE refuser@0",
      "CPU_DOWN_FAILED n1@0",
      "CPU_DOWN_FAILED n2@0",
    ]);
    // Inactive while DOWN_PREPARE ran, active again for DOWN_FAILED.
    expect(seen.map((s) => s.active)).toEqual([false, false, false, true, true]);
    const rec = hp.log[hp.log.length - 1]!;
    expect(rec.result).toBe("EINVAL");
    expect(rec.notifications[2]).toEqual({ event: "CPU_DOWN_PREPARE", notifier: "refuser", ret: "NOTIFY_BAD" });
    expect(hp.cpu_online(1) && hp.cpu_active(1)).toBe(true);
    expect(hp.cpu_hotplug.lock.owner).toBeNull();
    expect(hp.cpu_add_remove_lock.owner).toBeNull();
    expect(k.dmesg).toContain("_cpu_down: attempt to take down CPU 1 failed");
  });

  it("a refusal by the first notifier sends DOWN_FAILED to nobody", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "refuser", 10, seen, { [CPU_DOWN_PREPARE]: "bad" }));
    hp.register_cpu_notifier(recorder(hp, k, "other", 0, seen));
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(-EINVAL);
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE refuser@0"]);
  });

  it("2.6.34 rolls back only on NOTIFY_BAD itself: NOTIFY_STOP or an errno at DOWN_PREPARE cuts the chain short, the CPU still goes", () => {
    for (const ret of ["stop", notifier_from_errno(-ENOMEM)] as const) {
      const { k, hp } = boot(2);
      const seen: Seen[] = [];
      hp.register_cpu_notifier(recorder(hp, k, "stopper", 5, seen, { [CPU_DOWN_PREPARE]: ret }));
      hp.register_cpu_notifier(recorder(hp, k, "low", 0, seen));
      const { out } = caller(k, () => hp.cpu_down(1));
      k.run();
      expect(out.value).toBe(0);
      expect(lines(seen)).toEqual([
        "CPU_DOWN_PREPARE stopper@0",
        "CPU_DYING stopper@1",
        "CPU_DYING low@1",
        "CPU_DEAD stopper@0",
        "CPU_DEAD low@0",
        "CPU_POST_DEAD stopper@0",
        "CPU_POST_DEAD low@0",
      ]);
    }
  });

  it("a failing __cpu_disable (stop_machine error): DOWN_FAILED to every notifier, the errno returned, CPU back to active", () => {
    // x86 of 2.6.34 will not take CPU 0 down.
    const { k, hp } = boot(2, { arch: { cpu_disable: (cpu) => (cpu === 0 ? -EBUSY : 0) } });
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "a", 1, seen));
    hp.register_cpu_notifier(recorder(hp, k, "b", 0, seen));
    const { task, out } = caller(k, () => hp.cpu_down(0), 1);
    k.run();
    expect(out.value).toBe(-EBUSY);
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE a@1", "CPU_DOWN_PREPARE b@1", "CPU_DOWN_FAILED a@1", "CPU_DOWN_FAILED b@1"]);
    expect(hp.cpu_online_mask.toString()).toBe("0-1");
    expect(hp.cpu_active_mask.toString()).toBe("0-1");
    expect(task.cpus_allowed.toString()).toBe("0-1");
    expect(hp.log[hp.log.length - 1]!.result).toBe("EBUSY");
  });

  it("a stop_machine that fails without running take_cpu_down has the same rollback", () => {
    const failing: StopMachineOps = {
      *stop_machine(): KernelCall<number> {
        return -EAGAIN;
      },
    };
    const { k, hp } = boot(2, { stop_machine: failing });
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "a", 0, seen));
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(-EAGAIN);
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE a@0", "CPU_DOWN_FAILED a@0"]);
    expect(hp.log[hp.log.length - 1]!.result).toBe("EAGAIN");
  });

  it("refuses the last online CPU (-EBUSY), an offline CPU (-EINVAL), and everything while hotplug is disabled", () => {
    const { k, hp } = boot(3);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n", 0, seen));
    const results: number[] = [];
    caller(k, function* () {
      results.push(yield* hp.cpu_down(2));
      results.push(yield* hp.cpu_down(2)); // offline now
      results.push(yield* hp.cpu_down(1));
      results.push(yield* hp.cpu_down(0)); // the last one
      results.push(yield* hp.cpu_down(1)); // offline and last: -EBUSY is checked first
      results.push(yield* hp.cpu_up(0)); // online
      results.push(yield* hp.cpu_up(3)); // not possible
      hp.cpu_hotplug_disabled = true;
      results.push(yield* hp.cpu_up(1));
      hp.cpu_hotplug_disabled = false;
      results.push(yield* hp.cpu_up(1));
      return 0;
    });
    k.run();
    expect(results).toEqual([0, -EINVAL, 0, -EBUSY, -EBUSY, -EINVAL, -EINVAL, -EBUSY, 0]);
    expect(hp.log.slice(2).map((r) => `${r.op}(${r.cpu}) ${r.result} ${r.notifications.length}`)).toEqual([
      "cpu_down(2) ok 4",
      "cpu_down(2) EINVAL 0",
      "cpu_down(1) ok 4",
      "cpu_down(0) EBUSY 0",
      "cpu_down(1) EBUSY 0",
      "cpu_up(0) EINVAL 0",
      "cpu_up(3) EINVAL 0",
      "cpu_up(1) EBUSY 0",
      "cpu_up(1) ok 3",
    ]);
    expect(k.dmesg).toContain("can't online cpu 3 because it is not configured as may-hotadd at boot time");
    expect(hp.cpu_online_mask.toString()).toBe("0-1");
  });
});

describe("cpu_up (2.6.34 _cpu_up)", () => {
  it("sends UP_PREPARE, STARTING on the new CPU with interrupts off, then ONLINE once it is online and active", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    const results: number[] = [];
    caller(k, function* () {
      results.push(yield* hp.cpu_down(1));
      hp.register_cpu_notifier(recorder(hp, k, "low", 0, seen));
      hp.register_cpu_notifier(recorder(hp, k, "high", 10, seen));
      results.push(yield* hp.cpu_up(1));
      return 0;
    });
    k.run();
    expect(results).toEqual([0, 0]);
    expect(seen.map((s) => [`${s.event} ${s.nb}@${s.cpu}`, s.online, s.active, s.atomic])).toEqual([
      ["CPU_UP_PREPARE high@0", false, false, false],
      ["CPU_UP_PREPARE low@0", false, false, false],
      ["CPU_STARTING high@1", false, false, true],
      ["CPU_STARTING low@1", false, false, true],
      ["CPU_ONLINE high@0", true, true, false],
      ["CPU_ONLINE low@0", true, true, false],
    ]);
    expect(hp.log[hp.log.length - 1]).toMatchObject({ op: "cpu_up", cpu: 1, from_cpu: 0, result: "ok" });
    expect(hp.cpu_online_mask.toString()).toBe("0-1");
  });

  it("NOTIFY_BAD at UP_PREPARE: UP_CANCELED to exactly the notifiers before the refuser; the CPU stays down", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    const results: number[] = [];
    caller(k, function* () {
      results.push(yield* hp.cpu_down(1));
      hp.register_cpu_notifier(recorder(hp, k, "n1", 30, seen));
      hp.register_cpu_notifier(recorder(hp, k, "n2", 20, seen));
      hp.register_cpu_notifier(recorder(hp, k, "refuser", 10, seen, { [CPU_UP_PREPARE]: "bad" }));
      hp.register_cpu_notifier(recorder(hp, k, "n4", 0, seen));
      results.push(yield* hp.cpu_up(1));
      return 0;
    });
    k.run();
    expect(results).toEqual([0, -EINVAL]);
    expect(lines(seen)).toEqual([
      "CPU_UP_PREPARE n1@0",
      "CPU_UP_PREPARE n2@0",
      "CPU_UP_PREPARE refuser@0",
      "CPU_UP_CANCELED n1@0",
      "CPU_UP_CANCELED n2@0",
    ]);
    expect(hp.log[hp.log.length - 1]!.result).toBe("EINVAL");
    expect(hp.cpu_online(1) || hp.cpu_active(1)).toBe(false);
    expect(k.dmesg).toContain("_cpu_up: attempt to bring up CPU 1 failed");
  });

  it("a CPU that fails to boot: UP_CANCELED to every notifier that heard UP_PREPARE", () => {
    const { k, hp } = boot(2, { arch: { cpu_up: (cpu) => (cpu === 1 ? -EAGAIN : 0) } });
    // boot() could not bring CPU 1 up.
    expect(hp.log.map((r) => r.result)).toEqual(["EAGAIN"]);
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "a", 1, seen));
    hp.register_cpu_notifier(recorder(hp, k, "b", 0, seen));
    const { out } = caller(k, () => hp.cpu_up(1));
    k.run();
    expect(out.value).toBe(-EAGAIN);
    expect(lines(seen)).toEqual(["CPU_UP_PREPARE a@0", "CPU_UP_PREPARE b@0", "CPU_UP_CANCELED a@0", "CPU_UP_CANCELED b@0"]);
    expect(seen.some((s) => s.event === "CPU_STARTING" || s.event === "CPU_ONLINE")).toBe(false);
  });

  it("a notifier that blocks at CPU_STARTING is 'scheduling while atomic'", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    caller(k, function* () {
      yield* hp.cpu_down(1);
      hp.register_cpu_notifier(recorder(hp, k, "napper", 0, seen, { [CPU_STARTING]: { sleep: ms(1) } }));
      return yield* hp.cpu_up(1);
    });
    expect(() => k.run()).toThrow(/scheduling while atomic: napper at CPU_STARTING/);
    expect(k.engine.bug?.kind).toBe("BUG");
  });

  it("CPU_ONLINE's return value is ignored", () => {
    const { k, hp } = boot(2);
    const seen: Seen[] = [];
    const results: number[] = [];
    caller(k, function* () {
      results.push(yield* hp.cpu_down(1));
      hp.register_cpu_notifier(recorder(hp, k, "grumpy", 0, seen, { [CPU_ONLINE]: "bad" }));
      results.push(yield* hp.cpu_up(1));
      return 0;
    });
    k.run();
    expect(results).toEqual([0, 0]);
    expect(lines(seen)).toEqual(["CPU_UP_PREPARE grumpy@0", "CPU_STARTING grumpy@1", "CPU_ONLINE grumpy@0"]);
  });
});
