import { BUG } from "./bug.js";
import type { TaskStruct } from "./task.js";

/**
 * Where code runs right now: the task whose body is being stepped (or the
 * task an interrupt arrived on), its CPU, and the irq and atomic depths.
 * The executor and the interrupt path set it; model code reads it through
 * current() and smp_processor_id(), as kernel code does.
 */
export interface ExecContext {
  task: TaskStruct | null;
  cpu: number;
  irq: number;
  atomic: number;
}

export const ctx: ExecContext = { task: null, cpu: -1, irq: 0, atomic: 0 };

export function current(): TaskStruct {
  const t = ctx.task;
  if (t === null) BUG("current used outside process context");
  return t;
}

export function smp_processor_id(): number {
  if (ctx.cpu < 0) BUG("smp_processor_id used outside any CPU context");
  return ctx.cpu;
}

export function in_interrupt(): boolean {
  return ctx.irq > 0;
}

export function in_atomic(): boolean {
  return ctx.irq > 0 || ctx.atomic > 0;
}
