/** The machine's own kernel parts, for start_kernel to assemble. */
export { create_workload_task, jitter_ns, type WorkloadOptions } from "./workload.js";
export { CpuhpStress, op_result, type CpuhpStressOp, type CpuhpStressOptions } from "./cpuhp_stress.js";
export { HungTaskDetector, type HungTaskOptions, type OnHung } from "./hung_task.js";
export { KstopMachine, STOPMACHINE_EXIT, STOPMACHINE_NONE, STOPMACHINE_PREPARE, STOPMACHINE_RUN } from "./stop_machine.js";
