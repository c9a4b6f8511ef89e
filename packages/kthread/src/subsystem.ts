import { KTHREAD, type Kernel, type KthreadOps, type Subsystem, type SubsystemFactory } from "@ksim/core";
import { Kthreads } from "./kthread.js";

/** kthreadd, started by rest_init() right after init. */
export function kthread_subsystem(): SubsystemFactory {
  return (k: Kernel): Subsystem<KthreadOps> => {
    const kt = new Kthreads(k);
    return {
      name: "kthread",
      implementation: "kernel/kthread.c of 2.6.34",
      provides: KTHREAD,
      ops: kt,
      initcalls: [{ name: "kthreadd", level: "rest_init", fn: () => void kt.init() }],
    };
  };
}
