/** include/linux/kthread.h */
import type { KernelCall } from "./effects.js";
import type { TaskStruct } from "./task.js";

export type ThreadFn<D> = (data: D) => KernelCall<number>;

export interface KthreadOps {
  /** Asks kthreadd for a new thread and waits for it; it sleeps until first woken. */
  kthread_create<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct>;
  kthread_run<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct>;
  /**
   * Only for a thread that is not running: a one-CPU affinity (and
   * rt.nr_cpus_allowed 1, PF_THREAD_BOUND). It does not move the thread;
   * its next wake-up places it on `cpu` through select_fallback_rq().
   */
  kthread_bind(p: TaskStruct, cpu: number): void;
  /** Sets should_stop, wakes the thread and waits for it to exit; returns its exit code. */
  kthread_stop(k: TaskStruct): KernelCall<number>;
  kthread_should_stop(): boolean;
  kthread_park(k: TaskStruct): KernelCall<number>;
  kthread_unpark(k: TaskStruct): void;
  kthread_should_park(): boolean;
  kthread_parkme(): KernelCall;
  readonly kthreadd_task: TaskStruct | null;
}

