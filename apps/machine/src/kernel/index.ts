/** The machine's own kernel parts, for start_kernel to assemble. */
export { create_workload_task, jitter_ns, CpuhpStress, op_result, type WorkloadOptions, type CpuhpStressOp, type CpuhpStressOptions } from "@ksim/workload";
export { HungTaskDetector, type HungTaskOptions, type OnHung } from "./hung_task.js";
export { KstopMachine, STOPMACHINE_EXIT, STOPMACHINE_NONE, STOPMACHINE_PREPARE, STOPMACHINE_RUN } from "./stop_machine.js";
