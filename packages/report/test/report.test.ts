import { describe, expect, it } from "vitest";
import { fmt_count } from "../src/count.js";
import { format_json_report, format_text_report, json_report, render_html_report, type RunResult } from "../src/index.js";

// The version a report prints is the one the result carries (the machine that made it), not this package's.
const PKG_VERSION = "3.2.1";

// ---- fixtures ---------------------------------------------------------------------

/** A RunResult shaped like seed-hang's: cpuhp-stress stuck in kthread_stop(migration/1). */
function hang_result(): RunResult {
  return {
    ksim: PKG_VERSION,
    scenario: "seed-hang",
    seed: 1,
    outcome: "hang",
    simulated_ns: 243_000_000_000,
    events: 1_234_567,
    wall_ms: 85,
    kernel: { version: "2.6.34", subsystems: [{ name: "sched", implementation: "kernel/sched.c of 2.6.34" }] },
    stopped_early: null,
    hang: {
      detected_at_ns: 243_000_000_000,
      detected_by: "khungtaskd",
      hung_tasks: [{ pid: 9, comm: "cpuhp-stress", state: "D", blocked_since_ns: 3_000_412_000, in: "kthread_stop" }],
      cycle: [
        { node: "task cpuhp-stress/9", waits_for: "task migration/1", because: "kthread_stop(migration/1) waits for the thread to exit", from: { kind: "task", name: "task cpuhp-stress/9" }, to: { kind: "task", name: "task migration/1" } },
        { node: "task migration/1", waits_for: "rt_rq 0", because: "migration/1 (FIFO 99) is runnable on CPU 0, where the RT class may not run while rt_rq 0 is throttled", from: { kind: "task", name: "task migration/1" }, to: { kind: "rt_rq", name: "rt_rq 0" } },
        { node: "rt_rq 0", waits_for: "hrtimer sched_rt_period_timer", because: "rt_rq 0 is throttled until sched_rt_period_timer replenishes its runtime", from: { kind: "rt_rq", name: "rt_rq 0" }, to: { kind: "hrtimer", name: "hrtimer sched_rt_period_timer" } },
        { node: "hrtimer sched_rt_period_timer", waits_for: "notifier hrtimer_cpu_notify (CPU_DEAD)", because: "the timer sits on offline CPU 1's clock base until migrate_hrtimers() moves it", from: { kind: "hrtimer", name: "hrtimer sched_rt_period_timer" }, to: { kind: "notifier", name: "notifier hrtimer_cpu_notify (CPU_DEAD)" } },
        { node: "notifier hrtimer_cpu_notify (CPU_DEAD)", waits_for: "task cpuhp-stress/9", because: "the notifier is called by cpuhp-stress after migration_call returns", from: { kind: "notifier", name: "notifier hrtimer_cpu_notify (CPU_DEAD)" }, to: { kind: "task", name: "task cpuhp-stress/9" } },
      ],
    },
    cpus: [
      { cpu: 0, online: true, rt_throttled: true, rt_time_ns: 950_000_000 },
      { cpu: 1, online: false, rt_throttled: false, rt_time_ns: 0 },
    ],
    tasks: [
      { pid: 1, comm: "kthreadd", policy: "NORMAL", priority: 0, cpu: 0, state: "S", runtime_ns: 120_000 },
      { pid: 3, comm: "migration/1", policy: "FIFO", priority: 99, cpu: 0, state: "R", runtime_ns: 2_000_000 },
      { pid: 9, comm: "cpuhp-stress", policy: "NORMAL", priority: 0, cpu: 0, state: "D", runtime_ns: 1_500_000 },
      { pid: 10, comm: "rt-hog0", policy: "FIFO", priority: 50, cpu: 0, state: "R", runtime_ns: 228_000_000_000 },
    ],
    hotplug: [
      {
        op: "cpu_down",
        cpu: 1,
        from_cpu: 0,
        start_ns: 3_000_000_000,
        end_ns: null,
        result: "incomplete",
        notifications: [
          { event: "CPU_DOWN_PREPARE", notifier: "migration_call", ret: "NOTIFY_OK" },
          { event: "CPU_DOWN_PREPARE", notifier: "hrtimer_cpu_notify", ret: "NOTIFY_OK" },
          { event: "CPU_DOWN_PREPARE", notifier: "update_runtime", ret: "NOTIFY_OK" },
          { event: "CPU_DYING", notifier: "migration_call", ret: "NOTIFY_OK" },
          { event: "CPU_DEAD", notifier: "migration_call", ret: "" },
        ],
      },
    ],
    stats: { context_switches: 4321, rt_throttles: 3, timer_migrations: 0, hotplug_ops: 1 },
    dmesg: [
      "[    3.000500] CPU 1 is now offline",
      "[  243.000000] INFO: task cpuhp-stress:9 blocked for more than 120 seconds.",
      '[  243.000000] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
      "[  243.000000] cpuhp-stress  D 0000000000000000     0     9      2 0x00000000",
    ],
  };
}

/** A run that ended in a BUG. */
function bug_result(): RunResult {
  const r = hang_result();
  delete r.hang;
  return {
    ...r,
    scenario: "my-bug",
    outcome: "bug",
    simulated_ns: 5_500_000_000,
    bug: { at_ns: 5_500_000_000, message: "kernel BUG at kernel/sched.c: task rt-hog1/11 running on offline CPU 1" },
    stopped_early: null,
    dmesg: ["[    5.500000] kernel BUG at kernel/sched.c: task rt-hog1/11 running on offline CPU 1"],
  };
}

/** A run with no hang, and many hotplug operations. */
function ok_result(ops = 3): RunResult {
  const r = hang_result();
  delete r.hang;
  const hotplug: RunResult["hotplug"] = [];
  for (let i = 0; i < ops; i++) {
    const start = 1_000_000_000 * (i + 1);
    hotplug.push({
      op: i % 2 === 0 ? "cpu_down" : "cpu_up",
      cpu: 1,
      from_cpu: 0,
      start_ns: start,
      end_ns: start + 1_500_000,
      result: i === 4 ? "EBUSY" : "ok",
      notifications: [{ event: i % 2 === 0 ? "CPU_DOWN_PREPARE" : "CPU_UP_PREPARE", notifier: "migration_call", ret: "NOTIFY_OK" }],
    });
  }
  return {
    ...r,
    scenario: "seed-fix-post-dead",
    outcome: "ok",
    simulated_ns: 60_000_000_000,
    cpus: r.cpus.map((c) => ({ ...c, online: true, rt_throttled: false })),
    hotplug,
    stats: { ...r.stats, hotplug_ops: ops },
    stopped_early: null,
    dmesg: [],
  };
}

// ---- text --------------------------------------------------------------------------

/** The lines of a section, from its heading to the next blank line. */
function section(report: string, heading: string): string[] {
  const lines = report.split("\n");
  const start = lines.findIndex((l) => l.startsWith(heading));
  expect(start, `section ${heading}`).toBeGreaterThanOrEqual(0);
  const end = lines.indexOf("", start);
  return lines.slice(start, end < 0 ? undefined : end);
}

describe("which kernel ran", () => {
  const r35 = (): RunResult => ({
    ...hang_result(),
    kernel: {
      version: "2.6.35",
      subsystems: [
        { name: "cpu_hotplug", implementation: "kernel/cpu.c and kernel/notifier.c of 2.6.35 (rollback on any errno)" },
        { name: "sched", implementation: "kernel/sched.c, sched_rt.c, sched_fair.c of 2.6.35 (migration through cpu_stop)" },
      ],
    },
  });

  it("the text report names the version and each subsystem's implementation, within 80 columns", () => {
    expect(section(format_text_report(r35()), "kernel:")).toEqual([
      "kernel: Linux 2.6.35",
      "  cpu_hotplug  kernel/cpu.c and kernel/notifier.c of 2.6.35 (rollback on any",
      "               errno)",
      "  sched        kernel/sched.c, sched_rt.c, sched_fair.c of 2.6.35 (migration",
      "               through cpu_stop)",
    ]);
  });

  it("the HTML page has the version in its subtitle and a row per subsystem", () => {
    const html = render_html_report(r35());
    expect(html).toContain("Linux 2.6.35 · seed 1");
    expect(html).toContain("<h2>Kernel: Linux 2.6.35</h2>");
    expect(html).toContain('<tr><td class="mono">sched</td><td>kernel/sched.c, sched_rt.c, sched_fair.c of 2.6.35 (migration through cpu_stop)</td></tr>');
  });
});

describe("text report", () => {
  it("a hang: the outcome, khungtaskd's lines, the hung task and the cycle, node by node", () => {
    const text = format_text_report(hang_result(), { expected: "hang" });
    expect(text.split("\n").slice(0, 3)).toEqual([
      `ksim ${PKG_VERSION}: seed-hang, seed 1`,
      "outcome: HANG detected at 243.000000 s (as expected)",
      "ran 243.000000 s simulated, 1,234,567 events, 85 ms wall clock",
    ]);
    // khungtaskd's report, not the unrelated line before it.
    expect(section(text, "khungtaskd:")).toEqual([
      "khungtaskd:",
      "  [  243.000000] INFO: task cpuhp-stress:9 blocked for more than 120 seconds.",
      '  [  243.000000] "echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
      "  [  243.000000] cpuhp-stress  D 0000000000000000     0     9      2 0x00000000",
    ]);
    expect(section(text, "hung tasks:")).toEqual([
      "hung tasks:",
      "  PID  COMM          STATE  BLOCKED SINCE  IN",
      "    9  cpuhp-stress  D         3.000412 s  kthread_stop",
    ]);
    const cycle = section(text, "wait-for cycle");
    expect(cycle[0]).toBe("wait-for cycle (5 edges):");
    // Each node on its own line, in the order of the edges, closing on the first.
    const nodes = cycle.filter((l) => /^ {2}\S/.test(l)).map((l) => l.trim());
    expect(nodes).toEqual([
      "task cpuhp-stress/9",
      "task migration/1",
      "rt_rq 0",
      "hrtimer sched_rt_period_timer",
      "notifier hrtimer_cpu_notify (CPU_DEAD)",
      "task cpuhp-stress/9   (back to the start: a cycle)",
    ]);
    expect(cycle.filter((l) => l.trim() === "▼")).toHaveLength(5);
    // Each reason sits between its two nodes.
    const i = cycle.indexOf("  task migration/1");
    expect(cycle[i - 2]).toBe("   │ kthread_stop(migration/1) waits for the thread to exit");
    // A long reason wraps onto a second arrow line, not past the edge of the terminal.
    expect(cycle).toContain("   │ while rt_rq 0 is throttled");
  });

  it("fits 80 columns, except kernel log lines quoted as printed", () => {
    for (const r of [hang_result(), bug_result(), ok_result(30)]) {
      const text = format_text_report(r);
      const dmesg = new Set(r.dmesg.map((l) => `  ${l}`));
      for (const line of text.split("\n")) if (!dmesg.has(line)) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });

  it("the per-CPU table, the tasks and the stats", () => {
    const text = format_text_report(hang_result());
    expect(section(text, "cpus:")).toEqual([
      "cpus:",
      "  CPU  ONLINE  RT_THROTTLED     RT_TIME",
      "    0  yes     yes           950.000 ms",
      "    1  no      no                  0 ns",
    ]);
    expect(section(text, "tasks:")).toContain("   10  rt-hog0       FIFO      50    0  R       228.000 s");
    expect(section(text, "stats:")).toEqual([
      "stats:",
      "  context switches 4,321, rt throttles 3, timer migrations 0, hotplug ops 1",
    ]);
  });

  it("the hotplug log: time, op, cpu, from cpu, result, duration; notifications grouped by event", () => {
    const text = format_text_report(hang_result());
    expect(section(text, "hotplug")).toEqual([
      "hotplug (1 operation):",
      "       START  OP        CPU  FROM  RESULT      DURATION",
      "  3.000000 s  cpu_down    1     0  incomplete  (240.000 s so far)",
      "      CPU_DOWN_PREPARE: migration_call, hrtimer_cpu_notify, update_runtime",
      "      CPU_DYING: migration_call",
      "      CPU_DEAD: migration_call -> (no return)",
    ]);
  });

  it("a long hotplug log shows the latest operations and counts the rest by result", () => {
    const text = format_text_report(ok_result(25), { expected: "ok" });
    const log = section(text, "hotplug");
    expect(log[0]).toBe("hotplug (25 operations):");
    expect(log[1]).toBe("  ... 5 earlier operations not shown (4 ok, 1 EBUSY)");
    expect(log.filter((l) => /^\s+\d+\.\d{6} s {2}cpu_(up|down)/.test(l))).toHaveLength(20);
    expect(log[3]).toBe("   6.000000 s  cpu_up      1     0  ok      1.500 ms");
    expect(text).toContain("outcome: OK: no hang and no bug (as expected)\n");
    expect(text).not.toContain("khungtaskd");
    expect(text).not.toContain("wait-for cycle");
  });

  it("a bug: its time and message; an unmet expectation says so", () => {
    const text = format_text_report(bug_result(), { expected: "ok" });
    expect(text).toContain("outcome: BUG at 5.500000 s (expected ok)\n");
    expect(section(text, "bug:")).toEqual(["bug:", "  kernel BUG at kernel/sched.c: task rt-hog1/11 running on offline CPU 1"]);
    expect(text).not.toContain("hung tasks:");
  });

  it("an empty hotplug log", () => {
    expect(format_text_report(ok_result(0))).toContain("\nhotplug: no operations\n");
  });
});

// ---- JSON --------------------------------------------------------------------------

describe("JSON report", () => {
  it("is the contract's document, keys in its order, ksim = the version the result carries", () => {
    const doc = JSON.parse(format_json_report(hang_result())) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual([
      "ksim", "scenario", "seed", "outcome", "simulated_ns", "events", "wall_ms",
      "hang", "cpus", "tasks", "hotplug", "stats", "dmesg", "kernel", "stopped_early",
    ]);
    expect(doc["ksim"]).toBe(PKG_VERSION);
    expect(doc["hang"]).toEqual({
      detected_at_ns: 243e9,
      detected_by: "khungtaskd",
      hung_tasks: [{ pid: 9, comm: "cpuhp-stress", state: "D", blocked_since_ns: 3_000_412_000, in: "kthread_stop" }],
      cycle: hang_result().hang!.cycle,
    });
    expect(doc["stopped_early"]).toBeNull();
    expect(doc["cpus"]).toEqual([
      { cpu: 0, online: true, rt_throttled: true, rt_time_ns: 950e6 },
      { cpu: 1, online: false, rt_throttled: false, rt_time_ns: 0 },
    ]);
    expect(doc["stats"]).toEqual({ context_switches: 4321, rt_throttles: 3, timer_migrations: 0, hotplug_ops: 1 });
    expect((doc["dmesg"] as string[])[1]).toBe("[  243.000000] INFO: task cpuhp-stress:9 blocked for more than 120 seconds.");
  });

  it("hotplug entries carry no pid, whatever the machine recorded", () => {
    const r = hang_result();
    (r.hotplug[0] as Record<string, unknown>)["pid"] = 9;
    const doc = json_report(r) as { hotplug: Record<string, unknown>[] };
    expect(Object.keys(doc.hotplug[0]!)).toEqual(["op", "cpu", "from_cpu", "start_ns", "end_ns", "result", "notifications"]);
    expect(doc.hotplug[0]!["end_ns"]).toBeNull();
    expect(doc.hotplug[0]!["result"]).toBe("incomplete");
    expect((doc.hotplug[0]!["notifications"] as unknown[])[4]).toEqual({ event: "CPU_DEAD", notifier: "migration_call", ret: "" });
  });

  it("hang only for a hang, bug only for a bug", () => {
    const bug = json_report(bug_result());
    expect(bug["bug"]).toEqual({ at_ns: 5.5e9, message: "kernel BUG at kernel/sched.c: task rt-hog1/11 running on offline CPU 1" });
    expect("hang" in bug).toBe(false);
    const ok = json_report(ok_result());
    expect("hang" in ok || "bug" in ok).toBe(false);
    // A stale hang record on an ok result does not leak into the report.
    const odd: RunResult = { ...ok_result(), hang: hang_result().hang! };
    expect("hang" in json_report(odd)).toBe(false);
    expect("bug" in json_report(hang_result())).toBe(false);
  });

  it("is one JSON document ending in a newline", () => {
    const out = format_json_report(ok_result(2));
    expect(out.endsWith("}\n")).toBe(true);
    expect(() => JSON.parse(out) as unknown).not.toThrow();
  });
});

describe("counts", () => {
  it("are grouped by thousands as en-US writes them, negative and past 2^53 too", () => {
    for (const n of [0, 7, 999, 1000, 65_536, 1_234_567, -1234, -999_999, 2 ** 53 - 1, 1e20]) {
      expect(fmt_count(n)).toBe(n.toLocaleString("en-US"));
    }
    expect(fmt_count(1.5)).toBe("1.5");
    expect(format_text_report(hang_result(), { expected: "hang" })).toContain(" 1,234,567 events,");
  });
});
