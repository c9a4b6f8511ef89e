import { CPU_STOP, STOP_MACHINE, type CpuStopOps, type Kernel, type StopMachineOps, type Subsystem, type SubsystemFactory } from "@ksim/core";
import { CpuStoppers } from "./cpu_stop.js";
import { CpuStopMachine } from "./cpu_stop_machine.js";

/** 2.6.35's cpu_stop: the migration/N stoppers, made by early_initcall(cpu_stop_init). */
export function cpu_stop_subsystem(): SubsystemFactory {
  return (k: Kernel): Subsystem<CpuStopOps> => {
    const cs = new CpuStoppers(k);
    return {
      name: "cpu_stop",
      implementation: "kernel/stop_machine.c of 2.6.35 (cpu_stop: migration/N stoppers)",
      provides: CPU_STOP,
      ops: cs,
      initcalls: [{ name: "cpu_stop_init", level: "early", fn: () => cs.cpu_stop_init() }],
    };
  };
}

/**
 * 2.6.35's stop_machine: __stop_machine over the machine's cpu_stop. It has
 * no initcall: 2.6.35 removed the kstop workqueue and stop_machine_init.
 */
export function cpu_stop_machine_subsystem(): SubsystemFactory {
  return (k: Kernel): Subsystem<StopMachineOps> => {
    const sm = new CpuStopMachine(k);
    return {
      name: "stop_machine",
      implementation: "kernel/stop_machine.c of 2.6.35 (__stop_machine over cpu_stop)",
      provides: STOP_MACHINE,
      ops: sm,
      initcalls: [],
    };
  };
}
