import { NSEC_PER_MSEC, type KernelCall, type TaskSpec, type TaskStruct } from "@ksim/core";
import { make_test_kernel, type TestKernel } from "@ksim/core/testing";
import { Kthreads } from "../src/index.js";

export const ms = (n: number): number => n * NSEC_PER_MSEC;

/** A test kernel with kthreadd started (it gets pid 1). */
export function boot(cpus = 2, trace = false): { k: TestKernel; kt: Kthreads; kthreadd: TaskStruct } {
  const k = make_test_kernel({ cpus, trace });
  const kt = new Kthreads(k);
  k.kthread = kt;
  const kthreadd = kt.init();
  return { k, kt, kthreadd };
}

/** Spawn a controlling task (NORMAL unless told) whose body is `body`. */
export function control(k: TestKernel, body: () => KernelCall<number>, spec: Partial<TaskSpec> = {}): TaskStruct {
  return k.spawn({ comm: "ctl", cpu: 0, ...spec, threadfn: body });
}
