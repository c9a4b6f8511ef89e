/** include/linux/stop_machine.h */
import type { CpuMask } from "./cpumask.js";
import type { KernelCall } from "./effects.js";

export interface StopMachineOps {
  /**
   * __stop_machine(): runs `fn` with interrupts off on the first CPU of
   * `cpus` while every online CPU is held; returns fn's result.
   */
  stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number>;
  /**
   * stop_machine_create() (2.6.34 only): makes the kstop workqueue if no
   * user holds it, and takes a reference; 0 or -ENOMEM. 2.6.34's cpu_down
   * calls it before cpu_maps_update_begin; 2.6.35 has no such step.
   */
  stop_machine_create?(): KernelCall<number>;
  /** stop_machine_destroy() (2.6.34 only): the last reference stops the kstop threads. */
  stop_machine_destroy?(): KernelCall;
}

/**
 * cpu_stop_fn_t: runs on a CPU's stopper thread, which preempts everything
 * else there; returns 0 or -errno. It runs with preemption off, so it may
 * not sleep; it may spin, as stop_machine_cpu_stop does: then it is a
 * generator that yields only RUN effects (CPU time) and returns its result.
 */
export type CpuStopFn = (arg: unknown) => number | KernelCall<number>;

/** struct cpu_stop_work: what stop_one_cpu_nowait() queues; the caller owns it. */
export interface CpuStopWork {
  fn: CpuStopFn | null;
  arg: unknown;
}

/**
 * 2.6.35's cpu_stop (kernel/stop_machine.c): one stopper thread per CPU,
 * SCHED_FIFO MAX_RT_PRIO-1, named migration/N, runs queued works in order.
 * A work queued on a CPU whose stopper is disabled (offline, or dying past
 * CPU_POST_DEAD) fails with -ENOENT.
 */
export interface CpuStopOps {
  /** Runs fn on `cpu`'s stopper and waits for it; its result, or -ENOENT. */
  stop_one_cpu(cpu: number, fn: CpuStopFn, arg: unknown): KernelCall<number>;
  /** Queues `work` (filled with fn and arg) on `cpu`'s stopper and returns at once. */
  stop_one_cpu_nowait(cpu: number, fn: CpuStopFn, arg: unknown, work: CpuStopWork): void;
  /** Runs fn on every CPU of `cpus` and waits; 0, the last -errno of fn, or -ENOENT. */
  stop_cpus(cpus: CpuMask, fn: CpuStopFn, arg: unknown): KernelCall<number>;
}
