import type { SchedOps } from "./sched.js";

/**
 * Runs `fn` as an interrupt on `cpu` would (irq_enter .. irq_exit): what
 * wakes a task "as if by a timer there", with smp_processor_id() == cpu.
 */
export function in_irq<T>(sched: SchedOps, cpu: number, fn: () => T): T {
  sched.irq_enter(cpu);
  try {
    return fn();
  } finally {
    sched.irq_exit(cpu);
  }
}
