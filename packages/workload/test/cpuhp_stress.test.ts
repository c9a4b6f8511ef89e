import {
  CPU_DOWN_PREPARE,
  CpuMask,
  NOTIFY_OK,
  NSEC_PER_MSEC,
  Prng,
  RUN,
  type KernelCall,
  type NotifierBlock,
} from "@ksim/core";
import { make_test_kernel, type FakeHotplug, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { CpuhpStress, op_result, type CpuhpStressOp } from "../src/index.js";
import type { ScriptOp, StressHotplug } from "@ksim/scenario";

const ms = (n: number) => n * NSEC_PER_MSEC;

/** A notifier that takes `ns` of CPU time at CPU_DOWN_PREPARE, so an op has a duration. */
function slow_down_prepare(ns: number): NotifierBlock {
  return {
    name: "slow",
    priority: 0,
    *notifier_call(_nb, action): KernelCall<number> {
      if (action === CPU_DOWN_PREPARE) yield RUN(ns);
      return NOTIFY_OK;
    },
  };
}

/** Which CPU cpuhp-stress was on each time it was switched in. */
function cpus_run_on(k: TestKernel, pid: number): [number, number][] {
  return k.records.filter((r) => r.event === "sched_switch" && r.fields.next_pid === pid).map((r) => [r.ts, r.cpu]);
}

const brief = (o: CpuhpStressOp) => [o.op, o.cpu, o.ran_on, o.start_ns, o.end_ns, op_result(o)];

describe("cpuhp-stress", () => {
  it("performs the script at its times, each write from its `on` CPU", () => {
    const k = make_test_kernel({ cpus: 4, trace: true });
    k.hotplug.register_cpu_notifier(slow_down_prepare(ms(2)));
    const script: ScriptOp[] = [
      { at_ns: ms(10), op: "cpu_down", cpu: 1, on: 0 },
      { at_ns: ms(20), op: "cpu_down", cpu: 2, on: 3 },
      { at_ns: ms(30), op: "cpu_up", cpu: 1, on: 0 },
    ];
    const seen: string[] = [];
    const st = new CpuhpStress(k, {
      script,
      stress: null,
      prng: new Prng(1, "stress"),
      on_op: (o) => seen.push(`${o.op}(${o.cpu}) ${op_result(o)}`),
    });
    const p = st.task;
    expect([p.comm, p.policy, p.static_prio, p.cpus_allowed.to_list()]).toEqual(["cpuhp-stress", "NORMAL", 120, [0]]);
    k.run(ms(100));
    expect(st.ops.map(brief)).toEqual([
      ["cpu_down", 1, 0, ms(10), ms(12), "ok"],
      ["cpu_down", 2, 3, ms(20), ms(22), "ok"],
      ["cpu_up", 1, 0, ms(30), ms(30), "ok"],
    ]);
    expect(seen).toEqual([
      "cpu_down(1) incomplete",
      "cpu_down(1) ok",
      "cpu_down(2) incomplete",
      "cpu_down(2) ok",
      "cpu_up(1) incomplete",
      "cpu_up(1) ok",
    ]);
    expect(k.hotplug.cpu_online_mask.to_list()).toEqual([0, 1, 3]);
    // it woke on CPU 3 for the second write, and back on CPU 0 for the third
    expect(cpus_run_on(k, p.pid)).toEqual([
      [0, 0],
      [ms(10), 0],
      [ms(20), 3],
      [ms(30), 0],
    ]);
    expect(p.state).toBe("X");
    expect(st.nr_ops).toBe(3);
    expect(st.current_op).toBeNull();
  });

  it("competes for its CPU like any SCHED_NORMAL task: an RT task there delays the write", () => {
    const k = make_test_kernel({ cpus: 2 });
    k.spawn({
      comm: "rt",
      policy: "FIFO",
      rt_priority: 10,
      cpus_allowed: CpuMask.cpumask_of(0),
      cpu: 0,
      *threadfn() {
        yield RUN(ms(15));
        return 0;
      },
    });
    const st = new CpuhpStress(k, { script: [{ at_ns: ms(10), op: "cpu_down", cpu: 1, on: 0 }], stress: null, prng: new Prng(1, "s") });
    k.run(ms(100));
    expect(st.ops.map((o) => [o.due_ns, o.start_ns, o.ran_on])).toEqual([[ms(10), ms(15), 0]]);
  });

  it("script times count from the time base (the end of boot)", () => {
    const k = make_test_kernel({ cpus: 2 });
    const st = new CpuhpStress(k, { script: [{ at_ns: ms(5), op: "cpu_down", cpu: 1, on: 0 }], stress: null, prng: new Prng(1, "s"), time_base_ns: ms(50) });
    k.run(ms(100));
    expect(st.ops.map((o) => o.start_ns)).toEqual([ms(55)]);
  });

  const stress: StressHotplug = { interval_ns: [ms(5), ms(20)], cpus: [1, 2, 3], on: 0 };

  function stress_run(seed: number): { ops: CpuhpStressOp[]; online: number[] } {
    const k = make_test_kernel({ cpus: 4 });
    const hp = k.hotplug as FakeHotplug;
    const online_before: boolean[] = [];
    const st = new CpuhpStress(k, {
      script: [],
      stress,
      prng: new Prng(seed, "cpuhp-stress"),
      on_op: (o) => {
        if (o.ret === null) online_before.push(hp.cpu_online(o.cpu));
      },
    });
    k.run(ms(1000));
    // each op toggled its CPU: down if it was online, up if it was not
    st.ops.forEach((o, i) => expect(o.op).toBe(online_before[i] ? "cpu_down" : "cpu_up"));
    return { ops: st.ops, online: hp.cpu_online_mask.to_list() };
  }

  it("stress: toggles a random candidate CPU after a random wait in [lo, hi], from CPU `on`", () => {
    const { ops } = stress_run(1);
    expect(ops.length).toBeGreaterThan(1000 / 20 - 1);
    expect(ops.length).toBeLessThanOrEqual(1000 / 5);
    expect(ops.every((o) => [1, 2, 3].includes(o.cpu) && o.ran_on === 0 && o.ret === 0 && o.source === "stress")).toBe(true);
    const gaps = ops.map((o, i) => o.start_ns - (i === 0 ? 0 : ops[i - 1]!.end_ns!));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(ms(5));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(ms(20));
    // every candidate was picked, and both directions happened
    expect(new Set(ops.map((o) => o.cpu)).size).toBe(3);
    expect(ops.filter((o) => o.op === "cpu_up").length).toBeGreaterThan(10);
  });

  it("stress: deterministic for a seed, different for another", () => {
    const a = stress_run(7);
    expect(stress_run(7)).toEqual(a);
    const b = stress_run(8);
    expect(b.ops.map(brief)).not.toEqual(a.ops.map(brief));
  });

  it("script and stress together: each operation when it falls due", () => {
    const k = make_test_kernel({ cpus: 4 });
    const st = new CpuhpStress(k, {
      script: [{ at_ns: ms(50), op: "cpu_down", cpu: 3, on: 1 }],
      stress: { interval_ns: [ms(30), ms(30)], cpus: [2], on: 0 },
      prng: new Prng(1, "s"),
    });
    k.run(ms(100));
    expect(st.ops.map((o) => [o.source, o.op, o.cpu, o.start_ns, o.ran_on])).toEqual([
      ["stress", "cpu_down", 2, ms(30), 0],
      ["script", "cpu_down", 3, ms(50), 1],
      ["stress", "cpu_up", 2, ms(60), 0],
      ["stress", "cpu_down", 2, ms(90), 0],
    ]);
  });

  it("keeps at most max_records operations, newest last", () => {
    const k = make_test_kernel({ cpus: 2 });
    const st = new CpuhpStress(k, {
      script: [],
      stress: { interval_ns: [ms(1), ms(1)], cpus: [1], on: 0 },
      prng: new Prng(1, "s"),
      max_records: 4,
    });
    k.run(ms(10));
    expect(st.nr_ops).toBe(10);
    expect(st.ops.map((o) => o.start_ns)).toEqual([ms(7), ms(8), ms(9), ms(10)]);
  });
});
