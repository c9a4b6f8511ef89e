import type { HotplugOpRecord, WaitNodeInfo } from "@ksim/core";
import type { Outcome } from "./scenario/types.js";

/** The JSON report of `ksim run --json` (CONTRACT.md §3). */

export interface HungTask {
  pid: number;
  comm: string;
  state: string;
  blocked_since_ns: number;
  /** The kernel function it is blocked in (wchan), e.g. "kthread_stop". */
  in: string;
}

export interface CycleEdge {
  node: string;
  waits_for: string;
  because: string;
  /** `node` and `waits_for` as typed nodes: kind, name, and the pid or CPU they are. */
  from: WaitNodeInfo;
  to: WaitNodeInfo;
}

/** Who reported a hang: khungtaskd inside the model, or ksim's watchdog outside it. */
export type HangDetector = "khungtaskd" | "watchdog";

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
  /** Why the run stopped before its duration without an outcome of its own (a --max-events or --max-wall bound), else null. */
  stopped_early: string | null;
  hang?: {
    detected_at_ns: number;
    detected_by: HangDetector;
    hung_tasks: HungTask[];
    cycle: CycleEdge[];
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
  /** Kernel log lines (khungtaskd's report, BUG messages), as printk would print them. */
  dmesg: string[];
}

/** `ksim run` exit status: 0 when the outcome is the expected one, else 1. */
export function run_exit_code(r: RunResult, expected: Outcome | null): number {
  return r.outcome === (expected ?? "ok") ? 0 : 1;
}
