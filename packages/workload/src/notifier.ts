/**
 * A driver's CPU notifier from the scenario (register_cpu_notifier from a
 * module's init): at each event it returns NOTIFY_OK, NOTIFY_BAD,
 * notifier_from_errno(-errno), or sleeps in msleep() first.
 */
import {
  CPU_TASKS_FROZEN,
  cpu_event_name,
  current,
  HrTimer,
  HRTIMER_NORESTART,
  NOTIFY_BAD,
  NOTIFY_OK,
  notifier_from_errno,
  SCHEDULE,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type TaskStruct,
} from "@ksim/core";
import type { ExtraNotifier } from "@ksim/scenario";

export function scenario_notifier(k: Kernel, n: ExtraNotifier): NotifierBlock {
  const timer = new HrTimer(`${n.name} msleep`);
  let sleeper: TaskStruct | null = null;
  k.hrtimer.hrtimer_init(timer, "CLOCK_MONOTONIC", "REL");
  timer.function = () => {
    if (sleeper) k.sched.wake_up_process(sleeper);
    return HRTIMER_NORESTART;
  };
  return {
    name: n.name,
    priority: n.priority,
    *notifier_call(_nb, action): KernelCall<number> {
      const what = n.actions[cpu_event_name(action)] ?? n.actions[cpu_event_name(action & ~CPU_TASKS_FROZEN)];
      if (!what || what.kind === "ok") return NOTIFY_OK;
      if (what.kind === "bad") return NOTIFY_BAD;
      if (what.kind === "errno") return notifier_from_errno(-what.errno);
      // msleep(): TASK_UNINTERRUPTIBLE until the timer fires.
      const p = current();
      sleeper = p;
      k.hrtimer.hrtimer_start(timer, what.ns, "REL");
      p.state = "D";
      p.wchan = "msleep";
      yield SCHEDULE;
      sleeper = null;
      return NOTIFY_OK;
    },
  };
}
