import { BUG } from "./bug.js";
import type { KernelCall } from "./effects.js";
import type { TaskStruct } from "./task.js";

/**
 * Where code runs right now: the task whose body is being stepped (or the
 * task an interrupt arrived on), its CPU, and the irq and atomic depths.
 * Each Engine owns one; the executor and the interrupt path write it, and
 * model code reads it through current() and smp_processor_id(), as kernel
 * code does.
 */
export interface ExecContext {
  task: TaskStruct | null;
  cpu: number;
  irq: number;
  atomic: number;
}

export function new_exec_context(): ExecContext {
  return { task: null, cpu: -1, irq: 0, atomic: 0 };
}

/**
 * The active context lives under a registered symbol, not in a module
 * variable: a machine assembled from packages that resolved two copies of
 * @ksim/core still has one "current", whichever copy's current() is called.
 */
const ACTIVE = Symbol.for("@ksim/core:active_exec_context");

interface ActiveSlot {
  ctx: ExecContext;
}

function active_slot(): ActiveSlot {
  const g = globalThis as { [ACTIVE]?: ActiveSlot };
  return (g[ACTIVE] ??= { ctx: new_exec_context() });
}

const SLOT = active_slot();

/** Make `c` the context that current() and friends read; returns the previous one. */
export function switch_exec_context(c: ExecContext): ExecContext {
  const prev = SLOT.ctx;
  SLOT.ctx = c;
  return prev;
}

/** The active context record (the running engine's). Executors and test kits write it. */
export function exec_context(): ExecContext {
  return SLOT.ctx;
}

export function current(): TaskStruct {
  const t = SLOT.ctx.task;
  if (t === null) BUG("current used outside process context");
  return t;
}

export function smp_processor_id(): number {
  const cpu = SLOT.ctx.cpu;
  if (cpu < 0) BUG("smp_processor_id used outside any CPU context");
  return cpu;
}

/** raw_smp_processor_id(): the CPU, or -1 outside any CPU context (boot, tests). */
export function raw_smp_processor_id(): number {
  return SLOT.ctx.cpu;
}

export function in_interrupt(): boolean {
  return SLOT.ctx.irq > 0;
}

export function in_atomic(): boolean {
  const c = SLOT.ctx;
  return c.irq > 0 || c.atomic > 0;
}

/** preempt_disable() / preempt_enable(): sleeping in between is "scheduling while atomic". */
export function preempt_disable(): void {
  SLOT.ctx.atomic++;
}

export function preempt_enable(): void {
  const c = SLOT.ctx;
  if (c.atomic <= 0) BUG("preempt_enable without preempt_disable");
  c.atomic--;
}

/**
 * Runs a KernelCall to completion with interrupts off (CPU_DYING notifiers,
 * stop_machine callbacks). A blocking call there is the kernel's
 * "scheduling while atomic" BUG.
 */
export function run_atomic<T>(call: KernelCall<T>, what: string | (() => string)): T {
  preempt_disable();
  try {
    const r = call.next();
    if (r.done !== true) {
      // Name the culprit while the call is still suspended in it, then unwind its finally blocks.
      const name = typeof what === "function" ? what() : what;
      call.return(undefined as T);
      BUG(`scheduling while atomic: ${name} blocked or consumed CPU time with interrupts off`);
    }
    return r.value;
  } finally {
    preempt_enable();
  }
}
