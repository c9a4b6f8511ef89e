/**
 * Turns the point events of the trace bus into intervals: which task ran on
 * each CPU (sched_switch to sched_switch), when each rt_rq was throttled
 * (sched_rt_throttle to sched_rt_unthrottle), when each CPU was offline
 * (cpu_online 0 to cpu_online 1), which CPU's hrtimer base held a watched
 * timer (hrtimer_start / hrtimer_migrate to hrtimer_cancel / expiry), and
 * each hotplug operation (cpuhp_op begin to end). The Perfetto writer and
 * the HTML report both read the machine through it, so they agree.
 */
import type { TraceRecord, TraceValue } from "@ksim/core";

export type TaskClass = "RT" | "NORMAL" | "idle";

export interface RunningTask {
  pid: number;
  comm: string;
  /** Kernel prio: 0..99 RT, 100..139 normal, 140 idle. */
  prio: number;
  since: number;
}

export interface OpenOp {
  op: string;
  cpu: number;
  /** The CPU the calling task ran on. */
  from_cpu: number;
  since: number;
}

/** Where each interval goes when it closes. `end_state` is the prev_state of the switch, or "running" at the end. */
export interface IntervalSink {
  slice?(cpu: number, task: RunningTask, end: number, end_state: string): void;
  throttled?(cpu: number, start: number, end: number): void;
  offline?(cpu: number, start: number, end: number): void;
  timer_base?(timer: string, cpu: number, start: number, end: number, ended_by: string): void;
  hotplug_op?(op: OpenOp, end: number, result: string): void;
}

/** The default timer whose base CPU is followed: the RT bandwidth timer of the seed hang. */
export const WATCHED_TIMERS: readonly string[] = ["sched_rt_period_timer"];

export function task_class(pid: number, prio: number): TaskClass {
  if (pid === 0) return "idle";
  return prio < 100 ? "RT" : "NORMAL";
}

export function num(f: Readonly<Record<string, TraceValue>>, key: string): number {
  const v = f[key];
  return typeof v === "number" ? v : Number(v);
}

export function str(f: Readonly<Record<string, TraceValue>>, key: string): string {
  const v = f[key];
  return v === undefined ? "" : String(v);
}

export class IntervalTracker {
  /** Per CPU: the task that runs there since the last sched_switch (undefined: not seen yet). */
  running: (RunningTask | undefined)[] = [];
  throttled_since: (number | undefined)[] = [];
  offline_since: (number | undefined)[] = [];
  /** Watched timer name -> the base CPU it is queued on, and since when. */
  timers = new Map<string, { cpu: number; since: number }>();
  op: OpenOp | null = null;
  /** One more than the highest CPU number seen. */
  nr_cpus = 0;
  last_ts = 0;

  constructor(
    readonly watched: ReadonlySet<string>,
    public out: IntervalSink = {},
  ) {}

  /** A copy of the state, reporting to `out`: the collector replays its window from one. */
  clone(out: IntervalSink): IntervalTracker {
    const t = new IntervalTracker(this.watched, out);
    t.running = this.running.map((r) => (r ? { ...r } : undefined));
    t.throttled_since = [...this.throttled_since];
    t.offline_since = [...this.offline_since];
    t.timers = new Map([...this.timers].map(([k, v]) => [k, { ...v }]));
    t.op = this.op ? { ...this.op } : null;
    t.nr_cpus = this.nr_cpus;
    t.last_ts = this.last_ts;
    return t;
  }

  private see_cpu(cpu: number): void {
    if (cpu >= this.nr_cpus) this.nr_cpus = cpu + 1;
  }

  write(rec: TraceRecord): void {
    const f = rec.fields;
    const ts = rec.ts;
    this.last_ts = ts;
    if (rec.cpu >= 0) this.see_cpu(rec.cpu);
    switch (rec.event) {
      case "sched_switch": {
        const cpu = rec.cpu;
        const prev = this.running[cpu];
        if (prev) this.out.slice?.(cpu, prev, ts, str(f, "prev_state"));
        this.running[cpu] = { pid: num(f, "next_pid"), comm: str(f, "next_comm"), prio: num(f, "next_prio"), since: ts };
        break;
      }
      case "sched_rt_throttle":
        if (this.throttled_since[rec.cpu] === undefined) this.throttled_since[rec.cpu] = ts;
        break;
      case "sched_rt_unthrottle": {
        const since = this.throttled_since[rec.cpu];
        if (since !== undefined) this.out.throttled?.(rec.cpu, since, ts);
        this.throttled_since[rec.cpu] = undefined;
        break;
      }
      case "cpu_online": {
        const cpu = num(f, "target_cpu");
        this.see_cpu(cpu);
        const since = this.offline_since[cpu];
        if (num(f, "online") === 0) {
          if (since === undefined) this.offline_since[cpu] = ts;
        } else {
          if (since !== undefined) this.out.offline?.(cpu, since, ts);
          this.offline_since[cpu] = undefined;
        }
        break;
      }
      case "hrtimer_start":
      case "hrtimer_migrate": {
        const name = str(f, "hrtimer");
        if (!this.watched.has(name)) break;
        const cpu = rec.event === "hrtimer_migrate" ? num(f, "to_cpu") : rec.cpu;
        const cur = this.timers.get(name);
        if (cur) {
          if (cur.cpu === cpu) break;
          this.out.timer_base?.(name, cur.cpu, cur.since, ts, rec.event === "hrtimer_migrate" ? "migrated" : "restarted");
        }
        this.timers.set(name, { cpu, since: ts });
        break;
      }
      case "hrtimer_cancel":
      case "hrtimer_expire_entry": {
        const name = str(f, "hrtimer");
        const cur = this.timers.get(name);
        if (!cur) break;
        // migrate_hrtimer_list() traces a cancel on the old base before the start on the new one.
        this.out.timer_base?.(name, cur.cpu, cur.since, ts, rec.event === "hrtimer_cancel" ? "cancelled" : "expired");
        this.timers.delete(name);
        break;
      }
      case "cpuhp_op": {
        if (str(f, "phase") === "begin") {
          this.op = { op: str(f, "op"), cpu: num(f, "target_cpu"), from_cpu: rec.cpu, since: ts };
        } else if (this.op) {
          this.out.hotplug_op?.(this.op, ts, str(f, "result"));
          this.op = null;
        }
        break;
      }
      default:
        break;
    }
  }

  /** Closes every open interval at `end` (the end of the run). */
  close_all(end: number): void {
    for (let cpu = 0; cpu < this.nr_cpus; cpu++) {
      const r = this.running[cpu];
      if (r) this.out.slice?.(cpu, r, end, "running");
      const th = this.throttled_since[cpu];
      if (th !== undefined) this.out.throttled?.(cpu, th, end);
      const off = this.offline_since[cpu];
      if (off !== undefined) this.out.offline?.(cpu, off, end);
    }
    for (const [name, t] of this.timers) this.out.timer_base?.(name, t.cpu, t.since, end, "still queued");
    if (this.op) this.out.hotplug_op?.(this.op, end, "incomplete");
    this.running = [];
    this.throttled_since = [];
    this.offline_since = [];
    this.timers.clear();
    this.op = null;
  }
}
