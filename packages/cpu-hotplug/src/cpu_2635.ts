/**
 * kernel/cpu.c of 2.6.35: the 2.6.34 sequence with two differences.
 * __cpu_notify() turns the chain's result into an errno with
 * notifier_to_errno(), so any errno a notifier returns (NOTIFY_BAD is
 * -EPERM) rolls CPU_DOWN_PREPARE / CPU_UP_PREPARE back and is what
 * cpu_down / cpu_up return; and _cpu_down no longer changes the caller's
 * affinity: take_cpu_down moves the caller off the dying CPU instead.
 */
import { notifier_to_errno, type TaskStruct } from "@ksim/core";
import { CpuHotplug } from "./cpu.js";

export class CpuHotplug2635 extends CpuHotplug {
  /** __cpu_notify(): notifier_to_errno() of the walk's last result. */
  protected override prepare_error(ret: number): number {
    return notifier_to_errno(ret);
  }

  /** cpu_notify_nofail(): BUG_ON(cpu_notify(val, v)), any errno. */
  protected override nofail_refused(ret: number): boolean {
    return notifier_to_errno(ret) !== 0;
  }

  /** The caller's affinity is left alone. */
  protected override keep_caller_off(_p: TaskStruct): null {
    return null;
  }

  /** take_cpu_down(): if (task_cpu(param->caller) == cpu) move_task_off_dead_cpu(cpu, param->caller). */
  protected override take_caller_off(cpu: number, caller: TaskStruct): void {
    if (caller.cpu === cpu) this.k.sched.move_task_off_dead_cpu(cpu, caller);
  }
}
