/**
 * A driver's CPU notifier from the scenario (register_cpu_notifier from a
 * module's init): at each event it returns NOTIFY_OK, NOTIFY_BAD,
 * notifier_from_errno(-errno), or sleeps in msleep() first.
 */
import {
  CPU_TASKS_FROZEN,
  cpu_event_name,
  NOTIFY_BAD,
  NOTIFY_OK,
  notifier_from_errno,
  NSEC_PER_MSEC,
  TIMER,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
} from "@ksim/core";
import type { ExtraNotifier } from "@ksim/scenario";

/** A scenario's notifier_block, with what it does at each event. */
interface ScenarioNotifierBlock extends NotifierBlock {
  readonly k: Kernel;
  readonly actions: ExtraNotifier["actions"];
}

/**
 * The callback is declared once and finds its notifier through its argument
 * (container_of): V8 gives every generator function object made per
 * machine a map of its own in the old generation, which would keep a young
 * machine alive through every scavenge.
 */
export function scenario_notifier(k: Kernel, n: ExtraNotifier): NotifierBlock {
  const nb: ScenarioNotifierBlock = { name: n.name, priority: n.priority, notifier_call: scenario_notifier_call, k, actions: n.actions };
  return nb;
}

function* scenario_notifier_call(self: NotifierBlock, action: number): KernelCall<number> {
  const nb = self as ScenarioNotifierBlock;
  const what = nb.actions[cpu_event_name(action)] ?? nb.actions[cpu_event_name(action & ~CPU_TASKS_FROZEN)];
  if (!what || what.kind === "ok") return NOTIFY_OK;
  if (what.kind === "bad") return NOTIFY_BAD;
  if (what.kind === "errno") return notifier_from_errno(-what.errno);
  // msleep() takes whole milliseconds: a block of a fraction of one sleeps
  // the next whole one. The timer wheel rounds it up to jiffies, plus one.
  yield* nb.k.service(TIMER).msleep(Math.ceil(what.ns / NSEC_PER_MSEC));
  return NOTIFY_OK;
}
