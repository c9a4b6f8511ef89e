/**
 * A kernel version is an assembly: for each subsystem, the implementation
 * of that kernel, configured from the scenario. Versions differ by which
 * factory is plugged in, never by `if (version)` inside a subsystem.
 */
import type { SubsystemFactory } from "@ksim/core";
import { cpu_hotplug_2635_subsystem, cpu_hotplug_subsystem } from "@ksim/cpu-hotplug";
import { hrtimer_subsystem } from "@ksim/hrtimer";
import { hung_task_subsystem, type OnHung } from "@ksim/hung-task";
import { kthread_subsystem } from "@ksim/kthread";
import { softirq_subsystem } from "@ksim/softirq";
import { sched_2635_subsystem, sched_subsystem, type SchedParams, type SchedParams2635 } from "@ksim/sched";
import type { KernelVersion, ScenarioSpec } from "@ksim/scenario";
import { cpu_stop_machine_subsystem, cpu_stop_subsystem, kstop_subsystem } from "@ksim/stop-machine";
import { timer_subsystem, type TimersOptions } from "@ksim/timer";

/**
 * The subsystems of a 2.6.34 kernel, in boot order within a level:
 * start_kernel() runs init_timers(), hrtimers_init(), softirq_init() in that
 * order (so timers_nb, hrtimers_nb precede cpu_callback among the priority-0
 * notifiers), and the early initcalls go in link order (sched.o before
 * softirq.o).
 */
export const SUBSYSTEM_NAMES = ["cpu_hotplug", "sched", "timer", "hrtimer", "softirq", "kthread", "stop_machine", "hung_task"] as const;
/** Every subsystem some version has: 2.6.35 adds cpu_stop. */
export type SubsystemName = (typeof SUBSYSTEM_NAMES)[number] | "cpu_stop";

/** The subsystems each version is made of, in boot order within a level. */
export const KERNEL_SUBSYSTEMS: Readonly<Record<KernelVersion, readonly SubsystemName[]>> = {
  "2.6.34": SUBSYSTEM_NAMES,
  "2.6.35": ["cpu_hotplug", "cpu_stop", "sched", "timer", "hrtimer", "softirq", "kthread", "stop_machine", "hung_task"],
};

/** What the machine wants to hear from its subsystems. */
export interface AssemblyHooks {
  on_hung: OnHung;
}

/** How many hotplug operations the log keeps (the oldest are forgotten first). */
const HOTPLUG_LOG_LIMIT = 10_000;

/** The scheduler's parameters of a scenario's kernel section, 2.6.35's knobs. */
export function sched_params_2635(spec: ScenarioSpec): SchedParams2635 {
  const kp = spec.kernel;
  const prio = kp.notifier_priority;
  return {
    nr_cpus: kp.cpus,
    sched_rt_runtime_us: kp.sched_rt_runtime_us,
    sched_rt_period_us: kp.sched_rt_period_us,
    rt_runtime_share: kp.rt_runtime_share,
    ...(kp.topology ? { topology: { ...kp.topology } } : {}),
    ...(prio["migration_call"] !== undefined ? { migration_call_priority: prio["migration_call"] } : {}),
    ...(prio["update_runtime"] !== undefined ? { update_runtime_priority: prio["update_runtime"] } : {}),
  };
}

/** The scheduler's parameters of a scenario's kernel section (2.6.34). */
export function sched_params(spec: ScenarioSpec): SchedParams {
  return { ...sched_params_2635(spec), migration_thread_stop: spec.kernel.migration_thread_stop };
}

/** The kernel version a scenario's machine models. */
export function kernel_version(spec: ScenarioSpec): KernelVersion {
  return spec.kernel.version;
}

/** The timer wheel's options: 2.6.35 added timer slack to mod_timer(). */
function timer_opts(spec: ScenarioSpec, timer_slack: boolean): TimersOptions {
  const prio = spec.kernel.notifier_priority["timer_cpu_notify"];
  return { timer_slack, ...(prio !== undefined ? { priority: prio } : {}) };
}

/** The subsystems both versions share, configured from the scenario. */
function common(spec: ScenarioSpec, hooks: AssemblyHooks) {
  const kp = spec.kernel;
  const prio = kp.notifier_priority;
  const hrtimer_prio = prio["hrtimer_cpu_notify"];
  return {
    softirq: softirq_subsystem(prio["cpu_callback"] !== undefined ? { priority: prio["cpu_callback"] } : {}),
    hotplug_opts: { nr_cpus: kp.cpus, boot_cpu: 0, log_limit: HOTPLUG_LOG_LIMIT },
    hrtimer: hrtimer_subsystem(hrtimer_prio !== undefined ? { priority: hrtimer_prio } : {}),
    kthread: kthread_subsystem(),
    hung_task: hung_task_subsystem({ hung_task_timeout_secs: kp.hung_task_timeout_secs, on_hung: hooks.on_hung }),
  };
}

/** Linux 2.6.34 as released (or patched, by its knobs), subsystem by subsystem. */
function assembly_2634(spec: ScenarioSpec, hooks: AssemblyHooks): Map<SubsystemName, SubsystemFactory> {
  const c = common(spec, hooks);
  return new Map<SubsystemName, SubsystemFactory>([
    ["cpu_hotplug", cpu_hotplug_subsystem(c.hotplug_opts)],
    ["sched", sched_subsystem(sched_params(spec))],
    ["timer", timer_subsystem(timer_opts(spec, false))],
    ["hrtimer", c.hrtimer],
    ["softirq", c.softirq],
    ["kthread", c.kthread],
    ["stop_machine", kstop_subsystem()],
    ["hung_task", c.hung_task],
  ]);
}

/**
 * Linux 2.6.35: cpu_stop replaced both the migration threads and the kstop
 * workqueue. cpu_stop and the stop_machine on top of it come from
 * @ksim/stop-machine (cpu_stop_subsystem, cpu_stop_machine_subsystem).
 */
function assembly_2635(spec: ScenarioSpec, hooks: AssemblyHooks): Map<SubsystemName, SubsystemFactory> {
  const c = common(spec, hooks);
  return new Map<SubsystemName, SubsystemFactory>([
    ["cpu_hotplug", cpu_hotplug_2635_subsystem(c.hotplug_opts)],
    ["cpu_stop", cpu_stop_subsystem()],
    ["sched", sched_2635_subsystem(sched_params_2635(spec))],
    ["timer", timer_subsystem(timer_opts(spec, true))],
    ["hrtimer", c.hrtimer],
    ["softirq", c.softirq],
    ["kthread", c.kthread],
    ["stop_machine", cpu_stop_machine_subsystem()],
    ["hung_task", c.hung_task],
  ]);
}

const ASSEMBLIES: Readonly<Record<KernelVersion, (spec: ScenarioSpec, hooks: AssemblyHooks) => Map<SubsystemName, SubsystemFactory>>> = {
  "2.6.34": assembly_2634,
  "2.6.35": assembly_2635,
};

/** The scenario's kernel version, subsystem by subsystem, in KERNEL_SUBSYSTEMS order. */
export function kernel_assembly(spec: ScenarioSpec, hooks: AssemblyHooks): Map<SubsystemName, SubsystemFactory> {
  return ASSEMBLIES[kernel_version(spec)](spec, hooks);
}
