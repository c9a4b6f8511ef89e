/**
 * kernel.version through the whole app: the version-only knob refused, the
 * 2.6.35 assembly's state, and 2.6.34's results unchanged and labelled.
 */
import type { TraceRecord } from "@ksim/core";
import { load_scenario } from "@ksim/scenario";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { KERNEL_SUBSYSTEMS, kernel_assembly } from "../src/kernels.js";
import { run_campaign } from "../src/campaigns.js";
import { build_machine } from "../src/machine.js";

function ksim(...argv: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const code = main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    exit: () => undefined,
  }) as number;
  return { code, stdout, stderr };
}

describe("kernel.version", () => {
  it("migration_thread_stop under 2.6.35 is refused with exit 2, naming the field and the version", () => {
    const r = ksim("run", "seed-hang", "--set", "kernel.version=2.6.35", "--set", "kernel.migration_thread_stop=CPU_POST_DEAD");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ksim: seed-hang: kernel\.migration_thread_stop: not a knob of kernel 2\.6\.35: /);
  });

  it("the 2.6.35 assembly: 2.6.35's hotplug and scheduler, cpu_stop between them", () => {
    const { spec } = load_scenario("seed-hang", { sets: ["kernel.version=2.6.35"] });
    const names = [...kernel_assembly(spec, { on_hung: () => undefined }).keys()];
    expect(names).toEqual(KERNEL_SUBSYSTEMS["2.6.35"]);
  });

  it("seed-hang on 2.6.35 ends ok: cpu_down(1) returns 0, and migration/1 is stopped at CPU_POST_DEAD after hrtimer_cpu_notify moved the period timer", () => {
    const records: TraceRecord[] = [];
    const { spec } = load_scenario("seed-hang", { sets: ["kernel.version=2.6.35"] });
    const r = build_machine(spec, { trace: [{ write: (rec) => records.push(rec) }] }).run();
    expect(r.outcome).toBe("ok");
    const down = r.hotplug.find((op) => op.op === "cpu_down" && op.cpu === 1)!;
    expect([down.result, down.end_ns !== null]).toEqual(["ok", true]);
    // migration/1 is cpu_stop's stopper: cpu_stop_cpu_callback is called at CPU_POST_DEAD, after hrtimer_cpu_notify at CPU_DEAD.
    const calls = down.notifications.map((n) => `${n.event} ${n.notifier}`);
    expect(calls.indexOf("CPU_POST_DEAD cpu_stop_cpu_callback")).toBeGreaterThan(calls.indexOf("CPU_DEAD hrtimer_cpu_notify"));
    const at = (pred: (x: TraceRecord) => boolean) => records.findIndex(pred);
    const migrated = at((x) => x.event === "hrtimer_migrate" && x.fields["hrtimer"] === "sched_rt_period_timer" && x.fields["from_cpu"] === 1);
    const stopped = at((x) => (x.event as string) === "sched_kthread_stop" && x.fields["comm"] === "migration/1");
    const exited = at((x) => x.event === "sched_process_exit" && x.fields["comm"] === "migration/1");
    expect(migrated).toBeGreaterThanOrEqual(0);
    expect(stopped).toBeGreaterThan(migrated);
    expect(exited).toBeGreaterThan(stopped);
    expect(r.tasks.some((t) => t.comm === "migration/1")).toBe(false);
  });

  it("the errno rollback differs: EBUSY at CPU_DOWN_PREPARE is ignored by 2.6.34 (only NOTIFY_BAD rolls back) and returned by 2.6.35", () => {
    const veto = 'notifiers=[{"name":"mydrv","priority":20,"actions":{"CPU_DOWN_PREPARE":{"errno":"EBUSY"},"CPU_DOWN_FAILED":"ok"}}]';
    const results: Record<string, [string, boolean, string[]]> = {};
    // 2.6.34 with the patch, so its cpu_down can finish; the knob is 2.6.34's only.
    for (const sets of [["kernel.version=2.6.34", "kernel.migration_thread_stop=CPU_POST_DEAD"], ["kernel.version=2.6.35"]]) {
      const r = build_machine(load_scenario("seed-hang", { sets: [...sets, veto] }).spec).run();
      const down = r.hotplug.find((op) => op.op === "cpu_down")!;
      const events = [...new Set(down.notifications.map((n) => n.event))];
      results[r.kernel.version] = [down.result, r.cpus[1]!.online, events];
    }
    expect(results).toEqual({
      // 2.6.34's _cpu_down: `if (err == NOTIFY_BAD)`; notifier_from_errno(-EBUSY) is not NOTIFY_BAD, so the CPU goes down.
      "2.6.34": ["ok", false, ["CPU_DOWN_PREPARE", "CPU_DYING", "CPU_DEAD", "CPU_POST_DEAD"]],
      // 2.6.35's __cpu_notify: any errno rolls back (CPU_DOWN_FAILED to those already called: none) and is returned.
      "2.6.35": ["EBUSY", true, ["CPU_DOWN_PREPARE"]],
    });
  });

  it("seed-stress on 2.6.35: 10 seeds x 48 h, every one clean", async () => {
    const { spec } = load_scenario("seed-stress", { sets: ["kernel.version=2.6.35"], duration: "48h" });
    const summary = await run_campaign({ spec, seeds: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], jobs: 0, expected: "ok" });
    expect([summary.runs, summary.ok, summary.hang, summary.bug, summary.error]).toEqual([10, 10, 0, 0, 0]);
    expect(summary.simulated_ns).toBe(10 * 48 * 3600e9);
    // 480 simulated hours on one thread: minutes on a loaded 2-core machine.
  }, 1_800_000);

  it("2.6.34 is the default: seed-hang still hangs, and the report says which kernel and implementations ran", () => {
    const m = build_machine(load_scenario("seed-hang").spec);
    const r = m.run();
    expect(r.outcome).toBe("hang");
    expect(r.kernel.version).toBe("2.6.34");
    expect(r.kernel.subsystems.map((s) => s.name)).toEqual(KERNEL_SUBSYSTEMS["2.6.34"]);
    expect(r.kernel.subsystems.find((s) => s.name === "sched")?.implementation).toContain("2.6.34");
    const text = ksim("run", "seed-hang");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("kernel: Linux 2.6.34\n  cpu_hotplug   kernel/cpu.c and kernel/notifier.c of 2.6.34\n");
  });
});
