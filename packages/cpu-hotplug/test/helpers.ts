import {
  NOTIFY_BAD,
  NOTIFY_OK,
  NOTIFY_STOP,
  NSEC_PER_MSEC,
  RUN,
  SLEEP,
  cpu_event_name,
  in_atomic,
  smp_processor_id,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type StopMachineOps,
  type TaskStruct,
} from "@ksim/core";
import { make_test_kernel, type TestKernel } from "@ksim/core/testing";
import { CpuHotplug, CpuHotplug2635, type CpuHotplugArch } from "../src/index.js";

export const ms = (n: number): number => n * NSEC_PER_MSEC;

export interface KernelOpts {
  trace?: boolean;
  arch?: CpuHotplugArch;
  stop_machine?: StopMachineOps | ((k: Kernel) => StopMachineOps);
  /** The kernel.c of 2.6.35 instead of 2.6.34. */
  v2635?: boolean;
}

/**
 * A test kernel whose hotplug is a CpuHotplug. The hotplug reads the Kernel
 * record only when it runs, so it is built against a record filled in
 * after make_test_kernel returns.
 */
export function hotplug_kernel(cpus: number, opts: KernelOpts = {}): { k: TestKernel; hp: CpuHotplug } {
  const late = {} as Kernel;
  const hp_opts = { nr_cpus: cpus, ...(opts.arch ? { arch: opts.arch } : {}) };
  const hp = opts.v2635 ? new CpuHotplug2635(late, hp_opts) : new CpuHotplug(late, hp_opts);
  const k = make_test_kernel({
    cpus,
    hotplug: hp,
    ...(opts.trace ? { trace: true } : {}),
    ...(opts.stop_machine ? { stop_machine: opts.stop_machine } : {}),
  });
  Object.assign(late, k);
  hp.init();
  return { k, hp };
}

/** hotplug_kernel, with every CPU brought up by an "init" task (pid 1) running smp_init. */
export function boot(cpus: number, opts: KernelOpts = {}): { k: TestKernel; hp: CpuHotplug } {
  const { k, hp } = hotplug_kernel(cpus, opts);
  k.spawn({
    comm: "init",
    cpu: 0,
    *threadfn() {
      return yield* hp.smp_init();
    },
  });
  k.run();
  return { k, hp };
}

/** A task on `cpu` that runs `body` once; its result lands in `out.value`. */
export function caller(
  k: TestKernel,
  body: () => KernelCall<number>,
  cpu = 0,
  comm = "cpuhp",
): { task: TaskStruct; out: { value: number | null } } {
  const out: { value: number | null } = { value: null };
  const task = k.spawn({
    comm,
    cpu,
    *threadfn() {
      out.value = yield* body();
      return 0;
    },
  });
  return { task, out };
}

/** What a recording notifier saw on one call. */
export interface Seen {
  event: string;
  nb: string;
  cpu: number;
  t: number;
  online: boolean;
  active: boolean;
  atomic: boolean;
}

export type Action = "ok" | "bad" | "stop" | number | { sleep: number } | { run: number };

/**
 * A notifier that records each call (event, its name, the CPU it ran on,
 * the time, the target CPU's masks) and then does what `actions` says for
 * that event: return NOTIFY_BAD / NOTIFY_STOP / a raw value, sleep, or
 * consume CPU time; NOTIFY_OK by default.
 */
export function recorder(
  hp: CpuHotplug,
  k: Kernel,
  name: string,
  priority: number,
  seen: Seen[],
  actions: Partial<Record<number, Action>> = {},
): NotifierBlock {
  return {
    name,
    priority,
    *notifier_call(_nb, action, hcpu): KernelCall<number> {
      seen.push({
        event: cpu_event_name(action),
        nb: name,
        cpu: smp_processor_id(),
        t: k.engine.now,
        online: hp.cpu_online(hcpu),
        active: hp.cpu_active(hcpu),
        atomic: in_atomic(),
      });
      const a = actions[action] ?? "ok";
      if (a === "bad") return NOTIFY_BAD;
      if (a === "stop") return NOTIFY_STOP;
      if (typeof a === "number") return a;
      if (typeof a === "object") {
        if ("sleep" in a) yield SLEEP(a.sleep);
        else yield RUN(a.run);
      }
      return NOTIFY_OK;
    },
  };
}

/** seen, as "EVENT name@cpu" lines. */
export function lines(seen: readonly Seen[]): string[] {
  return seen.map((s) => `${s.event} ${s.nb}@${s.cpu}`);
}
