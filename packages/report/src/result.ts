import type { HotplugOpRecord, WaitNodeInfo } from "@ksim/core";
import type { Outcome } from "@ksim/scenario";

/** The result of one run, the data of `ksim run --json` (CONTRACT.md §3) and of every report. */

export interface HungTask {
  pid: number;
  comm: string;
  state: string;
  blocked_since_ns: number;
  /** The kernel function it is blocked in (wchan), e.g. "kthread_stop". */
  in: string;
}

/** khungtaskd (kernel/hung_task.c), or ksim's own watchdog outside the model. */
export type HangDetector = "khungtaskd" | "watchdog";

export interface CycleEdge {
  node: string;
  waits_for: string;
  because: string;
  /** `node` and `waits_for` as typed nodes: kind, name, and the pid or CPU they are. */
  from: WaitNodeInfo;
  to: WaitNodeInfo;
}

/** The subsystems a run's machine was assembled from. */
export interface KernelInfo {
  version: string;
  subsystems: { name: string; implementation: string }[];
}

export interface RunResult {
  ksim: string;
  scenario: string;
  seed: number;
  outcome: Outcome;
  simulated_ns: number;
  events: number;
  wall_ms: number;
  /** The kernel the machine modelled and the implementation of each subsystem. */
  kernel: KernelInfo;
  hang?: {
    detected_at_ns: number;
    hung_tasks: HungTask[];
    cycle: CycleEdge[];
    /**
     * With no cycle: the wait-for edges from the first hung task to where the
     * waits end (the last node waits on nothing that will move). Absent when
     * `cycle` has edges.
     */
    chain?: CycleEdge[];
    /** Who reported the hang: khungtaskd, or ksim's watchdog when khungtaskd was itself stuck. */
    detected_by: HangDetector;
  };
  bug?: { at_ns: number; message: string };
  cpus: { cpu: number; online: boolean; rt_throttled: boolean; rt_time_ns: number }[];
  tasks: {
    pid: number;
    comm: string;
    policy: string;
    priority: number;
    cpu: number;
    state: string;
    runtime_ns: number;
  }[];
  hotplug: Omit<HotplugOpRecord, "pid">[];
  stats: {
    context_switches: number;
    rt_throttles: number;
    timer_migrations: number;
    hotplug_ops: number;
  };
  /**
   * Why the run ended before its duration and before any hang or bug (a
   * `max_events` or `max_wall_ms` limit, e.g. "event limit 500 reached"); null
   * when it ran its course.
   */
  stopped_early: string | null;
  /** Kernel log lines (khungtaskd's report, BUG messages), as printk would print them. */
  dmesg: string[];
}

/**
 * ksim's exit statuses, one list for every command: 0 the expected outcome,
 * 1 another, 2 bad input or usage, 70 ksim itself failed (sysexits.h
 * EX_SOFTWARE), 130 interrupted (SIGINT).
 */
export const ExitCode = Object.freeze({
  OK: 0,
  UNEXPECTED: 1,
  USAGE: 2,
  INTERNAL: 70,
  INTERRUPTED: 130,
} as const);
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** `ksim run` exit status: OK when the outcome is the expected one (default ok), else UNEXPECTED. */
export function run_exit_code(r: RunResult, expected: Outcome | null): ExitCode {
  return r.outcome === (expected ?? "ok") ? ExitCode.OK : ExitCode.UNEXPECTED;
}
