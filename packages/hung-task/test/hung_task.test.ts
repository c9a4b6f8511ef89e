import { Completion, complete, current, MAX_SCHEDULE_TIMEOUT, NSEC_PER_SEC, SCHEDULE, SimEvent, TIMER, wait_for_completion, type TaskStruct, type TimerOps } from "@ksim/core";
import { make_test_kernel, type TestKernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { HungTaskDetector, timeout_jiffies } from "../src/index.js";

const s = (n: number) => n * NSEC_PER_SEC;

/** A task that blocks in D on `x` at time `at` (and again each time it is completed). */
function blocker(k: TestKernel, comm: string, at: number, x: Completion, cpu = 1): TaskStruct {
  const p = k.sched.create_task({
    comm,
    cpu,
    *threadfn() {
      for (;;) yield* wait_for_completion(x, "my_wait");
    },
  });
  k.engine.schedule(new SimEvent(`start-${comm}`, () => k.sched.wake_up_new_task(p)), at);
  return p;
}

describe("khungtaskd", () => {
  it("reports a task stuck in D between T and 2T after it blocked, with the kernel's message", () => {
    for (const [blocked_at, expect_at] of [
      [s(1), s(240)],
      [s(60), s(240)],
      [s(119.5), s(240)],
      [s(120.5), s(360)],
      [s(200), s(360)],
    ] as const) {
      const k = make_test_kernel({ cpus: 2 });
      const reports: [string[], number][] = [];
      const d = new HungTaskDetector(k, {
        hung_task_timeout_secs: 120,
        on_hung: (tasks, now) => {
          reports.push([tasks.map((t) => t.name), now]);
          k.engine.stop("hung task");
        },
      });
      const khungtaskd = d.init();
      expect([khungtaskd.comm, khungtaskd.policy, khungtaskd.static_prio]).toEqual(["khungtaskd", "NORMAL", 120]);
      const p = blocker(k, "stuck", blocked_at, new Completion("never"));
      k.run(s(1000));
      expect(reports).toEqual([[[`stuck/${p.pid}`], expect_at]]);
      expect(expect_at - blocked_at).toBeGreaterThan(s(120));
      expect(expect_at - blocked_at).toBeLessThanOrEqual(s(240));
      expect(k.dmesg).toEqual([
        `INFO: task stuck:${p.pid} blocked for more than 120 seconds.`,
        `"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.`,
      ]);
      expect([p.state, p.wchan, p.blocked_since]).toEqual(["D", "my_wait", blocked_at]);
    }
  });

  it("the switch-count rule: a task in D that switched since the last scan, or never switched, is not hung", () => {
    const k = make_test_kernel({ cpus: 2 });
    const reported: [string, number][] = [];
    const d = new HungTaskDetector(k, {
      hung_task_timeout_secs: 10,
      on_hung: (tasks, now) => reported.push(...tasks.map((t) => [t.comm, now] as [string, number])),
    });
    d.init();
    // Woken every 7 s until 196 s: it is in D at every scan, but its switch count moves.
    const x = new Completion("x");
    const woken = blocker(k, "woken", 0, x);
    for (let t = 7; t < 200; t += 7) k.engine.schedule(new SimEvent("kick", () => complete(x)), s(t));
    // Never switched out: state D but nvcsw + nivcsw = 0 (a freshly created task).
    const fresh = k.sched.create_task({ comm: "fresh", *threadfn() { return 0; } });
    fresh.state = "D";
    k.run(s(205));
    expect(d.scans).toBe(20);
    expect(woken.state).toBe("D");
    expect(woken.nvcsw).toBe(29);
    expect(reported).toEqual([]);
    // Left alone after 196 s: the 200 s scan remembers its count, the 210 s scan
    // reports it, and so does every later scan while the budget lasts.
    k.run(s(235));
    expect(reported).toEqual([
      ["woken", s(210)],
      ["woken", s(220)],
      ["woken", s(230)],
    ]);
  });

  it("the warning budget: 10 warnings by default, then silence", () => {
    const k = make_test_kernel({ cpus: 2 });
    const batches: number[][] = [];
    const d = new HungTaskDetector(k, { hung_task_timeout_secs: 120, on_hung: (tasks) => batches.push(tasks.map((t) => t.pid)) });
    d.init();
    const never = new Completion("never");
    const ps = Array.from({ length: 12 }, (_, i) => blocker(k, `t${i}`, s(1), never));
    k.run(s(1000));
    expect(batches).toEqual([ps.slice(0, 10).map((p) => p.pid)]);
    expect(k.dmesg.length).toBe(20);
    expect(d.sysctl_hung_task_warnings).toBe(0);
    // A budget of 3: a and b at 240 s; at 360 s the tasks are scanned in pid
    // order and a, still hung, takes the last warning before c and d.
    const k2 = make_test_kernel({ cpus: 2 });
    const d3 = new HungTaskDetector(k2, { hung_task_timeout_secs: 120, hung_task_warnings: 3 });
    d3.init();
    const later = new Completion("never");
    blocker(k2, "a", s(1), later);
    blocker(k2, "b", s(1), later);
    blocker(k2, "c", s(130), later);
    blocker(k2, "d", s(130), later);
    k2.run(s(1000));
    const named = k2.dmesg.flatMap((l) => /^INFO: task (\w+):/.exec(l)?.[1] ?? []);
    expect(named).toEqual(["a", "b", "a"]);
    expect(d3.scans).toBe(8);
  });

  it("timeout 0: khungtaskd exists (hung_task_init is a module_init) and sleeps without scanning", () => {
    const k = make_test_kernel({ cpus: 1 });
    const d = new HungTaskDetector(k, { hung_task_timeout_secs: 0 });
    const p = d.init();
    k.run(s(1000));
    expect([...k.sched.for_each_process()].map((t) => [t.comm, t.state, t.wchan])).toEqual([["khungtaskd", "S", "schedule_timeout"]]);
    expect(p.comm).toBe("khungtaskd");
    expect(d.scans).toBe(0);
  });

  it("sleeps on the machine's timer wheel: schedule_timeout_interruptible(timeout * HZ), MAX_SCHEDULE_TIMEOUT for 0", () => {
    const asked: number[] = [];
    for (const [hz, secs] of [[1000, 120], [250, 120], [100, 0]] as const) {
      const k = make_test_kernel({ cpus: 1, hz });
      const wheel: Pick<TimerOps, "schedule_timeout_interruptible"> = {
        *schedule_timeout_interruptible(timeout: number) {
          asked.push(timeout);
          current().state = "S";
          yield SCHEDULE;
          return 0;
        },
      };
      k.services.set(TIMER.name, wheel);
      new HungTaskDetector(k, { hung_task_timeout_secs: secs }).init();
      k.run(s(1));
    }
    expect(asked).toEqual([120_000, 30_000, MAX_SCHEDULE_TIMEOUT]);
    expect(timeout_jiffies(120, 300)).toBe(36_000);
  });
});
