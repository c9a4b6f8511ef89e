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
  type HrtimerRestart,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type TaskStruct,
} from "@ksim/core";
import type { ExtraNotifier } from "@ksim/scenario";

/** A scenario's notifier_block, with what it does at each event and the timer of its msleep(). */
interface ScenarioNotifierBlock extends NotifierBlock {
  readonly k: Kernel;
  readonly actions: ExtraNotifier["actions"];
  /** msleep()'s hrtimer_sleeper: the timer, and the task asleep on it. */
  readonly timer: HrTimer;
  sleeper: TaskStruct | null;
}

/**
 * The callbacks are declared once and find their notifier through their
 * arguments (container_of): V8 gives every generator function object made
 * per machine a map of its own in the old generation, and allocates a
 * closure stored in a field there too; either would keep a young machine
 * alive through every scavenge.
 */
export function scenario_notifier(k: Kernel, n: ExtraNotifier): NotifierBlock {
  const timer = new HrTimer(`${n.name} msleep`);
  k.hrtimer.hrtimer_init(timer, "CLOCK_MONOTONIC", "REL");
  const nb: ScenarioNotifierBlock = { name: n.name, priority: n.priority, notifier_call: scenario_notifier_call, k, actions: n.actions, timer, sleeper: null };
  timer.data = nb;
  timer.function = msleep_wakeup;
  return nb;
}

/** hrtimer_wakeup() of the notifier's msleep(). */
function msleep_wakeup(timer: HrTimer): HrtimerRestart {
  const nb = timer.data as ScenarioNotifierBlock;
  if (nb.sleeper) nb.k.sched.wake_up_process(nb.sleeper);
  return HRTIMER_NORESTART;
}
// Nameless, as the per-notifier closure it replaces was: the trace names
// an anonymous callback after its timer ("<notifier> msleep").
Object.defineProperty(msleep_wakeup, "name", { value: "" });

function* scenario_notifier_call(self: NotifierBlock, action: number): KernelCall<number> {
  const nb = self as ScenarioNotifierBlock;
  const what = nb.actions[cpu_event_name(action)] ?? nb.actions[cpu_event_name(action & ~CPU_TASKS_FROZEN)];
  if (!what || what.kind === "ok") return NOTIFY_OK;
  if (what.kind === "bad") return NOTIFY_BAD;
  if (what.kind === "errno") return notifier_from_errno(-what.errno);
  // msleep(): TASK_UNINTERRUPTIBLE until the timer fires.
  const p = current();
  nb.sleeper = p;
  nb.k.hrtimer.hrtimer_start(nb.timer, what.ns, "REL");
  p.state = "D";
  p.wchan = "msleep";
  yield SCHEDULE;
  nb.sleeper = null;
  return NOTIFY_OK;
}
