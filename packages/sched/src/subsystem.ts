import { SCHED, type Initcall, type Kernel, type KernelCall, type SchedOps, type Subsystem, type SubsystemFactory } from "@ksim/core";
import { cpuset_init_smp, migration_init, sched_init_smp } from "./migration.js";
import { migration_init_2635 } from "./migration_2635.js";
import { Scheduler, type SchedParams } from "./sched.js";
import { Scheduler2635 } from "./sched_2635.js";

export interface SchedSubsystemOptions {
  /** The CPU that boots (default 0). */
  boot_cpu?: number;
  /** Build a subclass of the scheduler (a test's instrumented one, say). */
  make?: (k: Kernel, params: SchedParams) => Scheduler;
}

/** What a machine's boot does with the 2.6.34 scheduler. */
export function sched_subsystem(params: SchedParams, opts: SchedSubsystemOptions = {}): SubsystemFactory {
  const boot_cpu = opts.boot_cpu ?? 0;
  return (k: Kernel): Subsystem<SchedOps> => {
    const s = opts.make ? opts.make(k, params) : new Scheduler(k, params);
    return {
      name: "sched",
      implementation: "kernel/sched.c, sched_rt.c, sched_fair.c of 2.6.34 (per-CPU migration threads)",
      provides: SCHED,
      ops: s,
      initcalls: sched_initcalls(s, () => migration_init(s, boot_cpu), boot_cpu),
    };
  };
}

/** 2.6.35's scheduler has no migration threads, so no knob for when to stop them. */
export type SchedParams2635 = Omit<SchedParams, "migration_thread_stop">;

export interface Sched2635SubsystemOptions {
  /** The CPU that boots (default 0). */
  boot_cpu?: number;
}

/**
 * What a machine's boot does with the 2.6.35 scheduler. It migrates
 * through the CPU_STOP service, which the machine must also have.
 */
export function sched_2635_subsystem(params: SchedParams2635, opts: Sched2635SubsystemOptions = {}): SubsystemFactory {
  const boot_cpu = opts.boot_cpu ?? 0;
  return (k: Kernel): Subsystem<SchedOps> => {
    const s = new Scheduler2635(k, params);
    return {
      name: "sched",
      implementation: "kernel/sched.c, sched_rt.c, sched_fair.c of 2.6.35 (migration through cpu_stop)",
      provides: SCHED,
      ops: s,
      // No migration thread: migration_call for the boot CPU, then on the chain.
      initcalls: sched_initcalls(s, () => migration_init_2635(s, boot_cpu), boot_cpu),
    };
  };
}

/**
 * The scheduler's boot, the same in both versions but for migration_init:
 * sched_init() in start_kernel (the runqueues, init_rt_bandwidth, the boot
 * CPU's rq in the root domain), early_initcall(migration_init),
 * sched_init_smp() right after smp_init(), and do_basic_setup()'s
 * cpuset_init_smp(), which registers the domain rebuild on hotplug.
 */
function sched_initcalls(s: Scheduler, migration_init_fn: () => KernelCall, boot_cpu: number): Initcall[] {
  return [
    {
      name: "sched_init",
      level: "start_kernel",
      fn: () => {
        s.init();
        s.set_rq_online(boot_cpu);
      },
    },
    { name: "migration_init", level: "early", fn: migration_init_fn },
    { name: "sched_init_smp", level: "smp", after: ["smp_init"], fn: () => sched_init_smp(s) },
    { name: "cpuset_init_smp", level: "smp", after: ["sched_init_smp"], after_if_present: ["init_workqueues"], fn: () => cpuset_init_smp(s) },
  ];
}
