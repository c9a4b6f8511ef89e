export {
  HUNG_TASK,
  HungTaskDetector,
  hung_task_subsystem,
  timeout_jiffies,
  type HungTaskOps,
  type HungTaskOptions,
  type OnHung,
} from "./hung_task.js";
