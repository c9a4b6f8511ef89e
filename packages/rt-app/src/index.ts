/**
 * @ksim/rt-app: rt-app workloads (scheduler-tools/rt-app's JSON threads and
 * phases) as tasks of a ksim kernel, with rt-app's own per-thread logs.
 */
export { get, is_object, JsonSyntaxError, parse_json } from "./json.js";
export type { JsonObject, JsonValue } from "./json.js";
export {
  CALIBRATED_NS_PER_LOOP,
  is_rt_app_document,
  MAX_CPU,
  MAX_EVENTS,
  MAX_THREADS,
  MEM_NS_PER_BYTE,
  min_cpus,
  parse_rt_app,
  RtAppError,
  validate_rt_app,
} from "./parse.js";
export type { RtAppEvent, RtAppIgnoredKey, RtAppPhase, RtAppPolicy, RtAppSched, RtAppThread, RtAppWorkload } from "./types.js";
export { format_log, format_row, LOG_HEADER } from "./log.js";
export type { TimingPoint } from "./log.js";
export { FORKS_LIMIT, rt_app_deadlock, start_rt_app } from "./run.js";
export type { RtAppDeadlock, RtAppInstance, RtAppLog, RtAppOptions, RtAppRun } from "./run.js";
export { FUTEX_WCHAN } from "./sync.js";
