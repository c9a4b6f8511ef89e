import { CpuMask, TIMER, type KernelCall, type TaskStruct } from "@ksim/core";
import type { FakeHotplug} from "@ksim/core/testing";
import { make_test_kernel, type TestKernel } from "@ksim/core/testing";
import { Timers, type TimersOptions } from "../src/index.js";

export const ms = 1_000_000;

export interface Wheel {
  k: TestKernel;
  t: Timers;
  hp: FakeHotplug;
}

/** A test kernel with the wheel installed as its TIMER service, init_timers() done. */
export function make_wheel(opts: { cpus?: number; hz?: number; trace?: boolean } & TimersOptions = {}): Wheel {
  const k = make_test_kernel({ cpus: opts.cpus ?? 2, hz: opts.hz ?? 1000, trace: opts.trace ?? false });
  const t = new Timers(k, opts);
  k.services.set(TIMER.name, t);
  t.init();
  return { k, t, hp: k.hotplug as FakeHotplug };
}

/** A task pinned to `cpu`, woken at once. */
export function spawn_on(w: Wheel, cpu: number, comm: string, body: (p: TaskStruct) => KernelCall<number>): TaskStruct {
  return w.k.spawn({ comm, cpus_allowed: CpuMask.cpumask_of(cpu), cpu, threadfn: body });
}
