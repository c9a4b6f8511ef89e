/**
 * A custom machine model built with the library API of @ksim/machine:
 *
 * - a user-written CPU notifier (a driver's cpu callback) that records every
 *   hotplug event it is called for, and on which CPU;
 * - a replaced subsystem: an "ideal" stop_machine that runs fn at once on the
 *   target CPU with interrupts off, instead of 2.6.34's kstop RT threads.
 *   Inside one simulation event nothing else runs, so that is exactly
 *   "every other CPU held" at no cost in time (and immune to RT throttling).
 *
 * The machine runs the built-in seed-hang scenario as released and with the
 * CPU_POST_DEAD patch: the hang does not depend on stop_machine.
 */
import {
  cpu_event_name,
  exec_context,
  NOTIFY_OK,
  smp_processor_id,
  type CpuMask,
  type KernelCall,
  type NotifierBlock,
  type StopMachineOps,
} from "@ksim/core";
import { load_scenario, run_scenario, type MachineOptions, type Outcome } from "@ksim/machine";

/** __stop_machine() as one atomic step on the first CPU of `cpus`. */
export class IdealStopMachine implements StopMachineOps {
  calls = 0;

  *stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number> {
    this.calls++;
    const ctx = exec_context();
    const saved = ctx.cpu;
    ctx.cpu = cpus.first();
    ctx.atomic++; // local_irq_disable(): fn may not block
    try {
      return fn();
    } finally {
      ctx.atomic--;
      ctx.cpu = saved;
    }
  }
}

/** A driver's cpu callback: a named function with a switch on the event. */
export function mydrv_cpu_notifier(seen: string[]): NotifierBlock {
  return {
    name: "mydrv_cpu_callback",
    priority: 0,
    *notifier_call(_nb, action, cpu): KernelCall<number> {
      seen.push(`${cpu_event_name(action)}(${cpu}) on CPU ${smp_processor_id()}`);
      return NOTIFY_OK;
    },
  };
}

export interface CustomMachineResult {
  outcome: Outcome;
  /** The wait-for cycle of the hang, as `node -> waits_for` lines. */
  cycle: string[];
  /** What mydrv_cpu_callback was called for. */
  seen: string[];
  /** How many times the replacement stop_machine ran. */
  stop_machine_calls: number;
}

export function run_custom_machine(sets: readonly string[] = []): CustomMachineResult {
  const { spec } = load_scenario("seed-hang", { sets });
  const seen: string[] = [];
  const stopper = new IdealStopMachine();
  // Everything not given here is the machine's own: the 2.6.34 scheduler, hotplug, hrtimers, kthreads.
  const opts: MachineOptions = {
    notifiers: [mydrv_cpu_notifier(seen)],
    stop_machine: () => stopper,
  };
  const result = run_scenario(spec, opts);
  return {
    outcome: result.outcome,
    cycle: (result.hang?.cycle ?? []).map((e) => `${e.node} -> ${e.waits_for}`),
    seen,
    stop_machine_calls: stopper.calls,
  };
}

