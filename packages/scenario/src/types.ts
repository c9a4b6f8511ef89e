/**
 * A scenario after loading: every default applied, every duration in
 * nanoseconds. The loader (schema.ts) turns a file of CONTRACT.md §1 into
 * this; a machine (@ksim/machine) runs it.
 */

import type { RtAppWorkload } from "@ksim/rt-app";

export type Outcome = "ok" | "hang" | "bug";
export type WorkloadPolicy = "FIFO" | "RR" | "NORMAL";
export type MigrationThreadStop = "CPU_DEAD" | "CPU_POST_DEAD";

/** The kernels ksim can assemble. */
export const KERNEL_VERSIONS = ["2.6.34", "2.6.35"] as const;
export type KernelVersion = (typeof KERNEL_VERSIONS)[number];

export type Behavior =
  | { readonly kind: "busy" }
  | { readonly kind: "cycle"; readonly run_ns: number; readonly sleep_ns: number }
  | { readonly kind: "periodic"; readonly period_ns: number; readonly run_ns: number };

export interface WorkloadTask {
  readonly comm: string;
  readonly policy: WorkloadPolicy;
  /** rt_priority 1..99 for FIFO and RR; nice -20..19 for NORMAL. */
  readonly priority: number;
  /** Affinity; null means every CPU. */
  readonly cpus: readonly number[] | null;
  readonly start_ns: number;
  readonly behavior: Behavior;
  /** 0..1: each run/sleep length varies by up to this fraction. */
  readonly jitter: number;
}

/** What an extra notifier does at one event. */
export type NotifierAction =
  | { readonly kind: "ok" }
  | { readonly kind: "bad" }
  | { readonly kind: "block"; readonly ns: number }
  /** notifier_from_errno(-errno): NOTIFY_BAD with an error number the caller gets back. */
  | { readonly kind: "errno"; readonly errno: number };

export interface ExtraNotifier {
  readonly name: string;
  readonly priority: number;
  /** Keyed by event name (CPU_DOWN_PREPARE, ...); events not listed are "ok". */
  readonly actions: Readonly<Record<string, NotifierAction>>;
}

export interface ScriptOp {
  readonly at_ns: number;
  readonly op: "cpu_down" | "cpu_up";
  readonly cpu: number;
  /** The CPU cpuhp-stress runs on for this operation. */
  readonly on: number;
}

export interface StressHotplug {
  readonly interval_ns: readonly [number, number];
  readonly cpus: readonly number[];
  readonly on: number;
}

export interface KernelParams {
  /** Which kernel's implementations the machine is assembled from. */
  readonly version: KernelVersion;
  readonly cpus: number;
  readonly hz: number;
  readonly sched_rt_runtime_us: number;
  readonly sched_rt_period_us: number;
  readonly rt_runtime_share: boolean;
  readonly hung_task_timeout_secs: number;
  /**
   * Where migration/N of a dead CPU is stopped. A knob of 2.6.34 only
   * (default CPU_DEAD); 2.6.35's cpu_stop always stops it at CPU_POST_DEAD,
   * which is the value a 2.6.35 spec carries.
   */
  readonly migration_thread_stop: MigrationThreadStop;
  /** Built-in notifier name -> registration priority override. */
  readonly notifier_priority: Readonly<Record<string, number>>;
  /** The sched domains' shape; null: one package of `cpus` cores. */
  readonly topology: KernelTopology | null;
}

/** kernel.topology: packages x cores_per_package x threads_per_core CPUs. */
export interface KernelTopology {
  readonly packages: number;
  readonly cores_per_package: number;
  readonly threads_per_core: number;
}

export interface ScenarioSpec {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly duration_ns: number;
  readonly kernel: KernelParams;
  readonly notifiers: readonly ExtraNotifier[];
  readonly tasks: readonly WorkloadTask[];
  readonly script: readonly ScriptOp[];
  readonly stress: { readonly hotplug: StressHotplug } | null;
  readonly expect: { readonly outcome: Outcome } | null;
  /** rt-app files (`rt_app`), read and validated by the loader; their threads join `tasks`. */
  readonly rt_app?: readonly RtAppFile[];
  /** End the run when every rt-app thread has (a bare rt-app file with global.duration -1). */
  readonly rt_app_until_done?: boolean;
  /** The `explore:` section (ksim explore's space), or null. */
  readonly explore?: ExploreSection | null;
  /**
   * `tie_order`: the choice at each of the run's first instants where several
   * events were due at once, as `ksim explore` recorded them; later ties fire
   * in sequence order.
   */
  readonly tie_order?: readonly TieChoice[];
}

/** A value a `vary` dimension takes: whatever `--set` would accept there. */
export type ExploreValue = number | string | boolean;

/** A `sweep` dimension: a number range, or a duration range in nanoseconds. */
export interface ExploreSweep {
  readonly kind: "number" | "duration";
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

/** The scenario's `explore:` section: the space `ksim explore` covers. */
export interface ExploreSection {
  readonly vary: Readonly<Record<string, readonly ExploreValue[]>>;
  readonly sweep: Readonly<Record<string, ExploreSweep>>;
  /** Every order of the events due at the same instant. */
  readonly ties: boolean;
}

/** One recorded tie choice: at this instant, this event fired first among those due. */
export interface TieChoice {
  readonly at_ns: number;
  readonly event: string;
}

export interface RtAppFile {
  /** The path as the scenario names it. */
  readonly path: string;
  readonly workload: RtAppWorkload;
}

/** The built-in notifiers whose priority a scenario may override. */
export const BUILTIN_NOTIFIERS = ["migration_call", "timer_cpu_notify", "hrtimer_cpu_notify", "cpu_callback", "update_runtime"] as const;
