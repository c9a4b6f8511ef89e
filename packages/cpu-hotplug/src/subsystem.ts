import { CPU_HOTPLUG, type CpuHotplugOps, type Kernel, type Subsystem, type SubsystemFactory } from "@ksim/core";
import { CpuHotplug, type CpuHotplugOptions } from "./cpu.js";
import { CpuHotplug2635 } from "./cpu_2635.js";

/**
 * The hotplug core of a machine: boot_cpu_init() first in start_kernel, and
 * smp_init() from kernel_init, which brings up every other present CPU.
 */
export function cpu_hotplug_subsystem(opts: CpuHotplugOptions): SubsystemFactory {
  return (k: Kernel) => hotplug_subsystem(new CpuHotplug(k, opts), k, "kernel/cpu.c and kernel/notifier.c of 2.6.34");
}

/** 2.6.35's hotplug core: rollback on any errno, no caller affinity change. */
export function cpu_hotplug_2635_subsystem(opts: CpuHotplugOptions): SubsystemFactory {
  return (k: Kernel) =>
    hotplug_subsystem(new CpuHotplug2635(k, opts), k, "kernel/cpu.c and kernel/notifier.c of 2.6.35 (rollback on any errno)");
}

function hotplug_subsystem(hp: CpuHotplug, k: Kernel, implementation: string): Subsystem<CpuHotplugOps> {
  return {
    name: "cpu_hotplug",
    implementation,
    provides: CPU_HOTPLUG,
    ops: hp,
    initcalls: [
      { name: "boot_cpu_init", level: "start_kernel", fn: () => hp.init() },
      {
        name: "smp_init",
        level: "smp",
        *fn() {
          yield* hp.smp_init();
          k.printk(`Brought up ${hp.num_online_cpus()} CPUs`);
        },
      },
    ],
  };
}
