/**
 * @ksim/core: the engine and ksim's include/linux. Every export is named
 * here; a reader learns the model from this file and the types it names.
 */

// BUG / WARN as outcomes
export {
  KernelBug,
  BUG,
  BUG_ON,
  WARN_ON,
  is_kernel_bug,
} from "./bug.js";
export type {
  KernelBugKind,
} from "./bug.js";

// process context (current, smp_processor_id)
export {
  new_exec_context,
  switch_exec_context,
  exec_context,
  current,
  smp_processor_id,
  raw_smp_processor_id,
  in_interrupt,
  in_atomic,
  preempt_disable,
  preempt_enable,
  run_atomic,
} from "./context.js";
export type {
  ExecContext,
} from "./context.js";

// cpumasks
export {
  NR_CPUS,
  CpuMask,
} from "./cpumask.js";

// what a task body yields
export {
  EFFECT_RUN,
  EFFECT_SCHEDULE,
  EFFECT_SLEEP,
  RUN,
  SCHEDULE,
  SLEEP,
  schedule,
  sched_yield,
} from "./effects.js";
export type {
  RunEffect,
  ScheduleEffect,
  SleepEffect,
  Effect,
  KernelCall,
} from "./effects.js";

// the discrete-event engine
export {
  Engine,
} from "./engine.js";
export type {
  RunEnd,
  EngineBug,
  TiePolicy,
} from "./engine.js";

// the process-context executor every scheduler shares
export {
  CpuExec,
  ProcessExecutor,
  type SelectTaskRqReason,
} from "./executor.js";

// the event queue
export {
  SimEvent,
  EventQueue,
} from "./heap.js";

// include/linux/timer.h
export {
  MAX_SCHEDULE_TIMEOUT,
  TimerList,
  jiffies_to_msecs,
  msecs_to_jiffies,
  tick_nsec,
} from "./timer.js";
export type { TimerOps, TimerStats } from "./timer.js";

// include/linux/hrtimer.h
export {
  HRTIMER_NORESTART,
  HRTIMER_RESTART,
  HRTIMER_STATE_INACTIVE,
  HRTIMER_STATE_ENQUEUED,
  HRTIMER_STATE_CALLBACK,
  HRTIMER_STATE_MIGRATE,
  HrTimer,
} from "./hrtimer.js";
export type {
  HrtimerRestart,
  HrtimerMode,
  ClockId,
  HrtimerStats,
  HrtimerOps,
} from "./hrtimer.js";

// include/linux/errno.h
export {
  EPERM,
  ENOENT,
  EINTR,
  EIO,
  ENXIO,
  EAGAIN,
  ENOMEM,
  EBUSY,
  EEXIST,
  ENODEV,
  EINVAL,
  ENOSPC,
  ENOSYS,
  ETIMEDOUT,
  errno_name,
  errno_from_name,
  errno_names,
} from "./errno.js";

// include/linux/notifier.h
export {
  NOTIFY_DONE,
  NOTIFY_OK,
  NOTIFY_STOP_MASK,
  NOTIFY_BAD,
  NOTIFY_STOP,
  notifier_from_errno,
  notifier_to_errno,
  notify_name,
} from "./notifier.js";
export type {
  NotifierBlock,
  NotifierCallNoSleep,
} from "./notifier.js";

// include/linux/cpu.h
export {
  CPU_ONLINE,
  CPU_UP_PREPARE,
  CPU_UP_CANCELED,
  CPU_DOWN_PREPARE,
  CPU_DOWN_FAILED,
  CPU_DEAD,
  CPU_DYING,
  CPU_POST_DEAD,
  CPU_STARTING,
  CPU_TASKS_FROZEN,
  CPU_ONLINE_FROZEN,
  CPU_UP_PREPARE_FROZEN,
  CPU_UP_CANCELED_FROZEN,
  CPU_DOWN_PREPARE_FROZEN,
  CPU_DOWN_FAILED_FROZEN,
  CPU_DEAD_FROZEN,
  CPU_DYING_FROZEN,
  CPU_STARTING_FROZEN,
  cpu_event_name,
  cpu_event_from_name,
} from "./cpu.js";
export type {
  NotificationRecord,
  HotplugOpRecord,
  CpuHotplugOps,
} from "./cpu.js";

// include/linux/clockchips.h: the local timer interrupt hotplug masks
export { LocalTimerIrqs, type LocalTimerDevice } from "./clockchips.js";

// include/linux/stop_machine.h
export type {
  StopMachineOps,
  CpuStopFn,
  CpuStopWork,
  CpuStopOps,
} from "./stop_machine.js";

// include/linux/kthread.h
export type {
  ThreadFn,
  KthreadOps,
} from "./kthread.js";

// include/linux/sched.h
export type {
  SchedStats,
  SchedOps,
  RtRqStats,
} from "./sched.js";

// the machine's services
export {
  define_service,
  SCHED,
  HRTIMER,
  CPU_HOTPLUG,
  KTHREAD,
  STOP_MACHINE,
  CPU_STOP,
  TIMER,
} from "./kernel.js";
export type {
  KernelConfig,
  ServiceKey,
  Kernel,
} from "./kernel.js";

// the boot contract (init/main.c)
export {
  INIT_LEVELS,
  init_level_may_block,
  AssemblyError,
  assemble_kernel,
  order_initcalls,
  do_initcall_level,
  do_initcalls,
  start_kernel,
} from "./boot.js";
export type {
  InitLevel,
  Initcall,
  Subsystem,
  SubsystemFactory,
  AssemblyOptions,
  Assembly,
} from "./boot.js";

// interrupt context
export {
  in_irq,
} from "./irq.js";

// random streams
export {
  Prng,
} from "./prng.js";

// task_struct and priorities
export {
  MAX_USER_RT_PRIO,
  MAX_RT_PRIO,
  MAX_PRIO,
  DEFAULT_PRIO,
  NICE_TO_PRIO,
  PRIO_TO_NICE,
  PF_EXITING,
  PF_KTHREAD,
  PF_THREAD_BOUND,
  rt_policy,
  TaskStruct,
  set_task_policy,
  get_task_struct,
  put_task_struct,
  cpu_all_mask,
} from "./task.js";
export type {
  TaskState,
  SchedPolicy,
  Waker,
  SchedEntity,
  SchedRtEntity,
  TaskSpec,
  WaitNode,
  WaitEdge,
  Waitable,
  WaitExplain,
} from "./task.js";

// time and durations
export {
  NSEC_PER_USEC,
  NSEC_PER_MSEC,
  NSEC_PER_SEC,
  NSEC_PER_MIN,
  NSEC_PER_HOUR,
  KTIME_MAX,
  DurationError,
  parse_duration,
  format_duration,
  format_trace_ts,
} from "./time.js";
export type {
  Nanoseconds,
} from "./time.js";

// tracepoints
export {
  TraceBus,
} from "./trace.js";
export type {
  TraceValue,
  TraceEvents,
  TraceRecord,
  TraceSink,
  CpuCurrent,
} from "./trace.js";

// completions, wait queues, mutexes
export {
  WaitQueueHead,
  Completion,
  wait_for_completion,
  complete,
  complete_all,
  completion_done,
  init_completion,
  wait_event,
  wake_up,
  block_on,
  unblock,
  can_sleep,
  Mutex,
  mutex_lock,
  mutex_unlock,
  mutex_is_locked,
} from "./wait.js";

// the wait-for graph
export {
  wait_node_name,
  WaitForGraph,
  wait_node_info,
} from "./waitfor.js";
export type {
  WaitExplainer,
  WaitChain,
  WaitNodeInfo,
} from "./waitfor.js";
