import {
  Completion,
  CPU_DOWN_PREPARE,
  CPU_UP_PREPARE,
  CpuMask,
  EBUSY,
  ENOMEM,
  EPERM,
  SCHEDULE,
  complete,
  notifier_from_errno,
  preempt_disable,
  preempt_enable,
  type Kernel,
  type KernelCall,
  type StopMachineOps,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { boot, caller, lines, recorder, type Action, type Seen } from "./helpers.js";

/** A chain n1 (30), n2 (20), refuser (10), n4 (0); the refuser answers `action` at `event`. */
function chain(v2635: boolean, event: number, action: Action) {
  const { k, hp } = boot(2, { v2635 });
  const seen: Seen[] = [];
  hp.register_cpu_notifier(recorder(hp, k, "n1", 30, seen));
  hp.register_cpu_notifier(recorder(hp, k, "n2", 20, seen));
  hp.register_cpu_notifier(recorder(hp, k, "refuser", 10, seen, { [event]: action }));
  hp.register_cpu_notifier(recorder(hp, k, "n4", 0, seen));
  return { k, hp, seen };
}

describe("2.6.35's __cpu_notify rolls back on any errno", () => {
  it.each([
    ["notifier_from_errno(-EBUSY)", notifier_from_errno(-EBUSY), -EBUSY, "EBUSY"],
    ["notifier_from_errno(-ENOMEM)", notifier_from_errno(-ENOMEM), -ENOMEM, "ENOMEM"],
    // notifier_to_errno(NOTIFY_BAD) is NOTIFY_OK - 2: -EPERM, no longer -EINVAL.
    ["NOTIFY_BAD", "bad" as const, -EPERM, "EPERM"],
  ])("%s at CPU_DOWN_PREPARE: DOWN_FAILED to the notifiers before it, that errno returned", (_name, action, errno, result) => {
    const { k, hp, seen } = chain(true, CPU_DOWN_PREPARE, action);
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(errno);
    expect(lines(seen)).toEqual([
      "CPU_DOWN_PREPARE n1@0",
      "CPU_DOWN_PREPARE n2@0",
      "CPU_DOWN_PREPARE refuser@0",
      "CPU_DOWN_FAILED n1@0",
      "CPU_DOWN_FAILED n2@0",
    ]);
    expect(hp.log[hp.log.length - 1]!.result).toBe(result);
    expect(hp.cpu_online(1) && hp.cpu_active(1)).toBe(true);
    expect(k.dmesg).toContain("_cpu_down: attempt to take down CPU 1 failed");
  });

  it("the same errno on 2.6.34 only cuts the chain short: the CPU goes down and cpu_down returns 0", () => {
    const { k, hp, seen } = chain(false, CPU_DOWN_PREPARE, notifier_from_errno(-EBUSY));
    const { out } = caller(k, () => hp.cpu_down(1));
    k.run();
    expect(out.value).toBe(0);
    expect(lines(seen).slice(0, 4)).toEqual([
      "CPU_DOWN_PREPARE n1@0",
      "CPU_DOWN_PREPARE n2@0",
      "CPU_DOWN_PREPARE refuser@0",
      "CPU_DYING n1@1",
    ]);
    expect(hp.cpu_online(1)).toBe(false);
  });

  it("an errno at CPU_UP_PREPARE: UP_CANCELED to the notifiers before it, that errno returned, the CPU stays down", () => {
    for (const v2635 of [true, false]) {
      const { k, hp } = boot(2, { v2635 });
      const seen: Seen[] = [];
      const results: number[] = [];
      caller(k, function* () {
        results.push(yield* hp.cpu_down(1));
        hp.register_cpu_notifier(recorder(hp, k, "n1", 30, seen));
        hp.register_cpu_notifier(recorder(hp, k, "refuser", 10, seen, { [CPU_UP_PREPARE]: notifier_from_errno(-ENOMEM) }));
        hp.register_cpu_notifier(recorder(hp, k, "n4", 0, seen));
        results.push(yield* hp.cpu_up(1));
        return 0;
      });
      k.run();
      if (v2635) {
        expect(results).toEqual([0, -ENOMEM]);
        expect(lines(seen)).toEqual(["CPU_UP_PREPARE n1@0", "CPU_UP_PREPARE refuser@0", "CPU_UP_CANCELED n1@0"]);
        expect(hp.cpu_online(1)).toBe(false);
      } else {
        expect(results).toEqual([0, 0]);
        expect(hp.cpu_online(1)).toBe(true);
      }
    }
  });
});

/**
 * __stop_machine as cpu_stop does it: a FIFO 99 stopper on the target CPU
 * runs fn with preemption off, while the caller, preempted on its way to
 * the wait, is still on the runqueue (state R).
 */
function stopper_stop_machine(k: Kernel): StopMachineOps {
  return {
    *stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number> {
      const cpu = cpus.first();
      const done = new Completion("stop_machine");
      let ret = 0;
      let finished = false;
      const t = k.sched.create_task({
        comm: `migration/${cpu}`,
        policy: "FIFO",
        rt_priority: 99,
        cpu,
        cpus_allowed: CpuMask.cpumask_of(cpu),
        *threadfn() {
          preempt_disable();
          try {
            ret = fn();
          } finally {
            preempt_enable();
          }
          finished = true;
          complete(done);
          return 0;
        },
      });
      k.sched.wake_up_new_task(t);
      while (!finished) yield SCHEDULE;
      return ret;
    },
  };
}

describe("2.6.35's _cpu_down leaves the caller's affinity alone", () => {
  it("a caller pinned to the dying CPU is moved off by take_cpu_down; DEAD and POST_DEAD run on CPU 0", () => {
    const { k, hp } = boot(2, { v2635: true, stop_machine: stopper_stop_machine });
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n", 0, seen));
    const task = k.sched.create_task({
      comm: "cpuhp",
      cpu: 1,
      cpus_allowed: CpuMask.of([1]),
      *threadfn() {
        return yield* hp.cpu_down(1);
      },
    });
    k.sched.wake_up_new_task(task);
    k.run();
    expect(task.exit_code).toBe(0);
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE n@1", "CPU_DYING n@1", "CPU_DEAD n@0", "CPU_POST_DEAD n@0"]);
    expect(task.cpu).toBe(0);
  });

  it("2.6.34 moves the caller by its affinity instead, and restores what it can", () => {
    const { k, hp } = boot(2, { v2635: false, stop_machine: stopper_stop_machine });
    const seen: Seen[] = [];
    hp.register_cpu_notifier(recorder(hp, k, "n", 0, seen));
    const task = k.sched.create_task({
      comm: "cpuhp",
      cpu: 1,
      cpus_allowed: CpuMask.of([0, 1]),
      *threadfn() {
        return yield* hp.cpu_down(1);
      },
    });
    k.sched.wake_up_new_task(task);
    k.run();
    expect(task.exit_code).toBe(0);
    expect(lines(seen)).toEqual(["CPU_DOWN_PREPARE n@1", "CPU_DYING n@1", "CPU_DEAD n@0", "CPU_POST_DEAD n@0"]);
    expect(task.cpus_allowed.toString()).toBe("0-1");
  });
});
