export {
  HUNG_TASK,
  HungTaskDetector,
  hung_task_subsystem,
  type HungTaskOps,
  type HungTaskOptions,
  type OnHung,
} from "./hung_task.js";
