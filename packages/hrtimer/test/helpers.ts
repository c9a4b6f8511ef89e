import {
  exec_context,
  HrTimer,
  HRTIMER_NORESTART,
  KernelBug,
  SimEvent,
  smp_processor_id,
  type ClockId,
  type HrtimerMode,
  type HrtimerRestart,
} from "@ksim/core";
import { FakeHotplug, make_test_kernel, type TestKernel } from "@ksim/core/testing";
import { Hrtimers } from "../src/index.js";

export interface Machine {
  k: TestKernel;
  hr: Hrtimers;
  hotplug: FakeHotplug;
}

export function machine(opts: { cpus?: number; priority?: number; trace?: boolean } = {}): Machine {
  const cpus = opts.cpus ?? 2;
  const hotplug = new FakeHotplug(cpus);
  const k = make_test_kernel({ cpus, hotplug, trace: opts.trace ?? true });
  const hr = new Hrtimers(k, opts.priority === undefined ? {} : { priority: opts.priority });
  k.hrtimer = hr;
  hr.init();
  return { k, hr, hotplug };
}

/** Run the machine until `t`, with the clock at `t` even when nothing happens on the way. */
export function run_to(m: Machine, t: number): void {
  m.k.engine.schedule(new SimEvent("run_to", () => {}), t);
  m.k.run(t);
}

/** Run `fn` as code on `cpu` (an interrupt there), as a timer callback or an IPI would. */
export function on_cpu<T>(k: TestKernel, cpu: number, fn: () => T): T {
  k.sched.irq_enter(cpu);
  try {
    return fn();
  } finally {
    k.sched.irq_exit(cpu);
  }
}

/** What a callback saw when it ran. */
export interface Firing {
  name: string;
  at: number;
  cpu: number;
  irq: number;
}

/** A timer whose callback records its firing in `log` and returns `ret` (or what `then` returns). */
export function timer(
  m: Machine,
  name: string,
  log: Firing[],
  then: (t: HrTimer) => HrtimerRestart = () => HRTIMER_NORESTART,
  clock: ClockId = "CLOCK_MONOTONIC",
  mode: HrtimerMode = "ABS",
): HrTimer {
  const t = new HrTimer(name);
  m.hr.hrtimer_init(t, clock, mode);
  t.function = (self) => {
    log.push({ name: self.name, at: m.k.engine.now, cpu: smp_processor_id(), irq: exec_context().irq });
    return then(self);
  };
  return t;
}

/** The KernelBug `fn` throws (fails the test when it throws none). */
export function bug_of(fn: () => unknown): KernelBug {
  try {
    fn();
  } catch (e) {
    if (e instanceof KernelBug) return e;
    throw e;
  }
  throw new Error("expected a KernelBug, none was thrown");
}
