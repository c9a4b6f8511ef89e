/**
 * @ksim/workload: the user space of a ksim scenario, model code on @ksim/core.
 * Workload tasks burn CPU, run and sleep in turn, or are released on a grid;
 * "cpuhp-stress" writes .../cpuN/online by the scenario's script and its
 * random stress loop, as a shell loop would.
 */
export { create_workload_task, jitter_ns, start_task_at } from "./workload.js";
export type { WorkloadOptions } from "./workload.js";
export { CpuhpStress, op_result } from "./cpuhp_stress.js";
export type { CpuhpStressOp, CpuhpStressOptions } from "./cpuhp_stress.js";
export { scenario_notifier } from "./notifier.js";
