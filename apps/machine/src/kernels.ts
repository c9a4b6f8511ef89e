/**
 * A kernel version is an assembly: for each subsystem, the implementation
 * of that kernel, configured from the scenario. Versions differ by which
 * factory is plugged in, never by `if (version)` inside a subsystem.
 */
import type { SubsystemFactory } from "@ksim/core";
import { cpu_hotplug_subsystem } from "@ksim/cpu-hotplug";
import { hrtimer_subsystem } from "@ksim/hrtimer";
import { kthread_subsystem } from "@ksim/kthread";
import { sched_subsystem, type SchedParams } from "@ksim/sched";
import { hung_task_subsystem, type OnHung } from "./kernel/hung_task.js";
import { kstop_subsystem } from "./kernel/stop_machine.js";
import type { ScenarioSpec } from "@ksim/scenario";

/** The subsystems every ksim kernel is made of, in boot order within a level. */
export const SUBSYSTEM_NAMES = ["cpu_hotplug", "sched", "hrtimer", "kthread", "stop_machine", "hung_task"] as const;
export type SubsystemName = (typeof SUBSYSTEM_NAMES)[number];

/** What the machine wants to hear from its subsystems. */
export interface AssemblyHooks {
  on_hung: OnHung;
}

/** How many hotplug operations the log keeps (the oldest are forgotten first). */
const HOTPLUG_LOG_LIMIT = 10_000;

/** The scheduler's parameters of a scenario's kernel section. */
export function sched_params(spec: ScenarioSpec): SchedParams {
  const kp = spec.kernel;
  const prio = kp.notifier_priority;
  return {
    nr_cpus: kp.cpus,
    sched_rt_runtime_us: kp.sched_rt_runtime_us,
    sched_rt_period_us: kp.sched_rt_period_us,
    rt_runtime_share: kp.rt_runtime_share,
    migration_thread_stop: kp.migration_thread_stop,
    ...(kp.topology ? { topology: { ...kp.topology } } : {}),
    ...(prio["migration_call"] !== undefined ? { migration_call_priority: prio["migration_call"] } : {}),
    ...(prio["update_runtime"] !== undefined ? { update_runtime_priority: prio["update_runtime"] } : {}),
  };
}

/** The kernel version a scenario's machine models. */
export function kernel_version(_spec: ScenarioSpec): string {
  return "2.6.34";
}

/** Linux 2.6.34 as released (or patched, by its knobs), subsystem by subsystem. */
export function kernel_assembly(spec: ScenarioSpec, hooks: AssemblyHooks): Map<SubsystemName, SubsystemFactory> {
  const kp = spec.kernel;
  const hrtimer_prio = kp.notifier_priority["hrtimer_cpu_notify"];
  return new Map<SubsystemName, SubsystemFactory>([
    ["cpu_hotplug", cpu_hotplug_subsystem({ nr_cpus: kp.cpus, boot_cpu: 0, log_limit: HOTPLUG_LOG_LIMIT })],
    ["sched", sched_subsystem(sched_params(spec))],
    ["hrtimer", hrtimer_subsystem(hrtimer_prio !== undefined ? { priority: hrtimer_prio } : {})],
    ["kthread", kthread_subsystem()],
    ["stop_machine", kstop_subsystem()],
    ["hung_task", hung_task_subsystem({ hung_task_timeout_secs: kp.hung_task_timeout_secs, on_hung: hooks.on_hung })],
  ]);
}
