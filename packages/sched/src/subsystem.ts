import { SCHED, type Kernel, type SchedOps, type Subsystem, type SubsystemFactory } from "@ksim/core";
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
      initcalls: [
        {
          // sched_init(): the runqueues exist; init_rt_bandwidth; the boot CPU's rq joins the root domain.
          name: "sched_init",
          level: "start_kernel",
          fn: () => {
            s.init();
            s.set_rq_online(boot_cpu);
          },
        },
        // early_initcall(migration_init): the boot CPU's migration thread, then migration_call on the chain.
        { name: "migration_init", level: "early", fn: () => migration_init(s, boot_cpu) },
        // kernel_init(): smp_init(); sched_init_smp();
        { name: "sched_init_smp", level: "smp", after: ["smp_init"], fn: () => sched_init_smp(s) },
        // do_basic_setup(): cpuset_init_smp() registers the domain rebuild on hotplug.
        { name: "cpuset_init_smp", level: "smp", after: ["sched_init_smp"], fn: () => cpuset_init_smp(s) },
      ],
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
      initcalls: [
        {
          name: "sched_init",
          level: "start_kernel",
          fn: () => {
            s.init();
            s.set_rq_online(boot_cpu);
          },
        },
        // early_initcall(migration_init): migration_call for the boot CPU, then on the chain; no thread.
        { name: "migration_init", level: "early", fn: () => migration_init_2635(s, boot_cpu) },
        { name: "sched_init_smp", level: "smp", after: ["smp_init"], fn: () => sched_init_smp(s) },
      ],
    };
  };
}
