import { CPU_HOTPLUG, type CpuHotplugOps, type Kernel, type KernelCall, type Subsystem, type SubsystemFactory } from "@ksim/core";
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
      { name: "smp_init", level: "smp", fn: () => smp_init(hp, k) },
    ],
  };
}

/**
 * init/main.c's smp_init(): bring up the CPUs, then say so. One generator
 * function for every machine: V8 gives each generator function object a map
 * of its own, in the old generation, which would keep its machine alive
 * through every scavenge.
 */
function* smp_init(hp: CpuHotplug, k: Kernel): KernelCall {
  yield* hp.smp_init();
  k.printk(`Brought up ${hp.num_online_cpus()} CPUs`);
}
