import type { TaskStruct } from "./task.js";

export type TraceValue = string | number | boolean;

/**
 * The tracepoints of ksim, by the kernel's names and fields. A subsystem may
 * add its own by declaration merging:
 * `declare module "@ksim/core" { interface TraceEvents { my_event: {...} } }`.
 */
export interface TraceEvents {
  sched_switch: {
    prev_comm: string;
    prev_pid: number;
    prev_prio: number;
    prev_state: string;
    next_comm: string;
    next_pid: number;
    next_prio: number;
  };
  sched_wakeup: { comm: string; pid: number; prio: number; success: number; target_cpu: number };
  sched_wakeup_new: { comm: string; pid: number; prio: number; success: number; target_cpu: number };
  sched_migrate_task: { comm: string; pid: number; prio: number; orig_cpu: number; dest_cpu: number };
  sched_process_exit: { comm: string; pid: number; prio: number };
  /** rt_runtime -1: RUNTIME_INF, no limit (an offline rq, or throttling off). */
  sched_rt_throttle: { rt_time: number; rt_runtime: number };
  sched_rt_unthrottle: { rt_time: number; rt_runtime: number };
  hrtimer_start: { hrtimer: string; function: string; expires: number; softexpires: number };
  hrtimer_expire_entry: { hrtimer: string; now: number; function: string };
  hrtimer_expire_exit: { hrtimer: string };
  hrtimer_cancel: { hrtimer: string };
  hrtimer_migrate: { hrtimer: string; from_cpu: number; to_cpu: number };
  cpuhp_notify: { event: string; notifier: string; ret: string; target_cpu: number };
  cpuhp_op: { op: string; target_cpu: number; phase: string; result: string };
  cpu_online: { target_cpu: number; online: number };
}

export interface TraceRecord {
  ts: number;
  cpu: number;
  /** The task current on `cpu` when the event happened (idle is pid 0). */
  pid: number;
  comm: string;
  event: keyof TraceEvents;
  fields: Readonly<Record<string, TraceValue>>;
}

export interface TraceSink {
  write(rec: TraceRecord): void;
}

/** Who runs on a CPU, for a record's pid and comm: the executor. */
export interface CpuCurrent {
  current_on(cpu: number): TaskStruct | null;
}

/**
 * Typed trace events. With no sink attached `enabled` is false and emitters
 * skip building their fields: one predictable branch per event.
 */
export class TraceBus {
  enabled = false;
  private readonly sinks: TraceSink[] = [];
  /** Set by the executor; until then a record names the idle task. */
  cpus: CpuCurrent | null = null;

  constructor(private readonly clock: () => number) {}

  attach(sink: TraceSink): void {
    this.sinks.push(sink);
    this.enabled = true;
  }

  detach(sink: TraceSink): void {
    const i = this.sinks.indexOf(sink);
    if (i >= 0) this.sinks.splice(i, 1);
    this.enabled = this.sinks.length > 0;
  }

  emit<K extends keyof TraceEvents>(event: K, cpu: number, fields: TraceEvents[K]): void {
    if (!this.enabled) return;
    const t = cpu >= 0 && this.cpus !== null ? this.cpus.current_on(cpu) : null;
    const rec: TraceRecord = {
      ts: this.clock(),
      cpu,
      pid: t ? t.pid : 0,
      comm: t ? t.comm : "<idle>",
      event,
      fields: fields,
    };
    for (const s of this.sinks) s.write(rec);
  }
}
