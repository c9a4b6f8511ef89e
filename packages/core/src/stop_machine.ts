/** include/linux/stop_machine.h */
import type { CpuMask } from "./cpumask.js";
import type { KernelCall } from "./effects.js";

export interface StopMachineOps {
  /**
   * __stop_machine(): runs `fn` with interrupts off on the first CPU of
   * `cpus` while every online CPU is held; returns fn's result.
   */
  stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number>;
}

