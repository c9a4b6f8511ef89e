/**
 * `--trace FILE`: Chrome trace-event JSON ({"traceEvents":[...]}), which
 * ui.perfetto.dev and chrome://tracing open. Events are written as the run
 * produces them (a slice when it closes), so memory stays flat however long
 * the run; the array is closed by finish() or close().
 *
 * Layout: process 1 "machine" holds a track per CPU with a slice per running
 * task and instants for wake-ups, timer expiries and the like; beside each
 * CPU an "rt_throttled" and an "offline" track; a "hotplug" track with each
 * operation and every notifier call; a track per watched timer showing the
 * CPU whose base holds it; counters "CPU n rt_time". Process 2 shows a hang's
 * wait-for cycle: a track per node, linked by flow arrows in cycle order.
 */
import type { TraceRecord, TraceSink } from "@ksim/core";
import type { RunResult } from "./result.js";
import { BufferedFile } from "./file.js";
import { IntervalTracker, num, str, task_class, WATCHED_TIMERS, type IntervalSink } from "./intervals.js";

const MACHINE_PID = 1;
const CYCLE_PID = 2;
// Perfetto keys thread names by tid alone and treats tid 0 as the swapper
// thread, so the tracks of CPU n use tids 1000 + n, not n.
const TID_CPU = 1000;
const TID_THROTTLED = 2000;
const TID_OFFLINE = 3000;
const TID_HOTPLUG = 4000;
const TID_TIMER = 5000;
const TID_CYCLE = 6000;
/** Stagger of the cycle's slices, so the flow arrows follow the cycle's order. */
const CYCLE_STEP_NS = 1000;

export interface PerfettoOptions {
  /** Timers whose base CPU gets a track; default ["sched_rt_period_timer"]. */
  timers?: readonly string[];
}

type TraceEvent = Record<string, unknown>;

function us(ns: number): number {
  return ns / 1000;
}

export class PerfettoSink implements TraceSink {
  private readonly file: BufferedFile;
  private readonly tracker: IntervalTracker;
  private readonly timer_tids = new Map<string, number>();
  private cpus_named = 0;
  private first = true;
  /** Events written so far. */
  events = 0;

  constructor(path: string, opts: PerfettoOptions = {}) {
    this.file = new BufferedFile(path);
    this.file.write('{"traceEvents":[\n');
    const timers = opts.timers ?? WATCHED_TIMERS;
    timers.forEach((t, i) => this.timer_tids.set(t, TID_TIMER + i));
    this.tracker = new IntervalTracker(new Set(timers), this.interval_sink());
    this.meta("thread_name", MACHINE_PID, TID_HOTPLUG, { name: "hotplug" });
    this.meta("thread_sort_index", MACHINE_PID, TID_HOTPLUG, { sort_index: 100000 });
    for (const [name, tid] of this.timer_tids) {
      this.meta("thread_name", MACHINE_PID, tid, { name: `${name} base CPU` });
      this.meta("thread_sort_index", MACHINE_PID, tid, { sort_index: 100000 + tid });
    }
  }

  private emit(ev: TraceEvent): void {
    this.file.write(this.first ? JSON.stringify(ev) : `,\n${JSON.stringify(ev)}`);
    this.first = false;
    this.events++;
  }

  private meta(name: string, pid: number, tid: number, args: Record<string, unknown>): void {
    this.emit({ name, ph: "M", pid, tid, args });
  }

  private name_cpus(upto: number): void {
    for (let cpu = this.cpus_named; cpu < upto; cpu++) {
      this.meta("thread_name", MACHINE_PID, TID_CPU + cpu, { name: `CPU ${cpu}` });
      this.meta("thread_sort_index", MACHINE_PID, TID_CPU + cpu, { sort_index: cpu * 3 });
      this.meta("thread_name", MACHINE_PID, TID_THROTTLED + cpu, { name: `CPU ${cpu} rt_throttled` });
      this.meta("thread_sort_index", MACHINE_PID, TID_THROTTLED + cpu, { sort_index: cpu * 3 + 1 });
      this.meta("thread_name", MACHINE_PID, TID_OFFLINE + cpu, { name: `CPU ${cpu} offline` });
      this.meta("thread_sort_index", MACHINE_PID, TID_OFFLINE + cpu, { sort_index: cpu * 3 + 2 });
    }
    if (upto > this.cpus_named) this.cpus_named = upto;
  }

  private slice(name: string, cat: string, tid: number, start: number, end: number, args: Record<string, unknown>, pid = MACHINE_PID): void {
    this.emit({ name, cat, ph: "X", ts: us(start), dur: us(end - start), pid, tid, args });
  }

  private instant(name: string, cat: string, tid: number, ts: number, args: Record<string, unknown>): void {
    this.emit({ name, cat, ph: "i", s: "t", ts: us(ts), pid: MACHINE_PID, tid, args });
  }

  private interval_sink(): IntervalSink {
    return {
      slice: (cpu, t, end, end_state) => {
        if (t.pid === 0) return; // idle: an empty stretch of the track
        this.slice(t.comm, task_class(t.pid, t.prio), TID_CPU + cpu, t.since, end, { pid: t.pid, prio: t.prio, prev_state: end_state });
      },
      throttled: (cpu, start, end) => this.slice("rt_throttled", "sched", TID_THROTTLED + cpu, start, end, { cpu }),
      offline: (cpu, start, end) => this.slice("offline", "hotplug", TID_OFFLINE + cpu, start, end, { cpu }),
      timer_base: (timer, cpu, start, end, ended_by) =>
        this.slice(`on CPU ${cpu}`, "hrtimer", this.timer_tids.get(timer) ?? TID_TIMER, start, end, { timer, cpu, ended_by }),
      hotplug_op: (op, end, result) =>
        this.slice(`${op.op}(${op.cpu})`, "hotplug", TID_HOTPLUG, op.since, end, { cpu: op.cpu, from_cpu: op.from_cpu, result }),
    };
  }

  write(rec: TraceRecord): void {
    if (rec.cpu >= this.cpus_named) this.name_cpus(rec.cpu + 1);
    this.tracker.write(rec);
    const f = rec.fields;
    const cpu_tid = TID_CPU + Math.max(0, rec.cpu);
    switch (rec.event) {
      case "sched_switch":
      case "hrtimer_start":
      case "hrtimer_cancel":
      case "hrtimer_expire_exit":
        break; // drawn as slices, or noise in a viewer
      case "sched_wakeup":
      case "sched_wakeup_new":
        this.instant(`${rec.event} ${str(f, "comm")}/${num(f, "pid")}`, "sched", cpu_tid, rec.ts, { ...f });
        break;
      case "hrtimer_expire_entry":
        this.instant(`hrtimer_expire ${str(f, "hrtimer")}`, "hrtimer", cpu_tid, rec.ts, { ...f });
        break;
      case "sched_rt_throttle":
      case "sched_rt_unthrottle":
        this.emit({ name: `CPU ${rec.cpu} rt_time`, ph: "C", ts: us(rec.ts), pid: MACHINE_PID, args: { ms: num(f, "rt_time") / 1e6 } });
        this.instant(rec.event, "sched", cpu_tid, rec.ts, { ...f });
        break;
      case "cpuhp_notify":
        this.instant(`${str(f, "event")} ${str(f, "notifier")}`, "hotplug", TID_HOTPLUG, rec.ts, { ...f, on_cpu: rec.cpu });
        break;
      case "cpu_online":
        if (num(f, "target_cpu") >= this.cpus_named) this.name_cpus(num(f, "target_cpu") + 1);
        this.instant(`CPU ${num(f, "target_cpu")} ${num(f, "online") ? "online" : "offline"}`, "hotplug", TID_HOTPLUG, rec.ts, { ...f });
        break;
      case "cpuhp_op":
        this.instant(`${str(f, "op")}(${num(f, "target_cpu")}) ${str(f, "phase")}`, "hotplug", TID_HOTPLUG, rec.ts, { ...f });
        break;
      case "hrtimer_migrate": {
        const tid = this.timer_tids.get(str(f, "hrtimer")) ?? cpu_tid;
        this.instant(`hrtimer_migrate ${str(f, "hrtimer")}`, "hrtimer", tid, rec.ts, { ...f });
        break;
      }
      default:
        this.instant(rec.event, "kernel", cpu_tid, rec.ts, { ...f, comm: rec.comm, pid: rec.pid });
        break;
    }
  }

  /** Closes the open slices at the end of the run, marks a hang's cycle or a bug, and closes the file. */
  finish(result: RunResult): void {
    if (this.file.closed) return;
    const end = result.simulated_ns;
    this.name_cpus(result.cpus.length);
    this.tracker.close_all(end);
    this.meta("process_name", MACHINE_PID, 0, { name: `machine: ${result.scenario} seed ${result.seed} (${result.outcome})` });
    this.meta("process_sort_index", MACHINE_PID, 0, { sort_index: 1 });
    if (result.hang) this.mark_cycle(result);
    if (result.bug) {
      this.emit({ name: `BUG: ${result.bug.message}`, ph: "i", s: "g", ts: us(result.bug.at_ns), pid: MACHINE_PID, tid: TID_HOTPLUG, args: { ...result.bug } });
    }
    this.close(result);
  }

  private mark_cycle(result: RunResult): void {
    const hang = result.hang;
    if (!hang) return;
    const at = hang.detected_at_ns;
    const hung = hang.hung_tasks.map((t) => `${t.comm}/${t.pid} (${t.state}) in ${t.in}`).join(", ");
    this.emit({ name: "hang detected (khungtaskd)", ph: "i", s: "g", ts: us(at), pid: MACHINE_PID, tid: TID_HOTPLUG, args: { hung_tasks: hung } });
    const cycle = hang.cycle;
    if (cycle.length === 0) return;
    this.meta("process_name", CYCLE_PID, 0, { name: "hang: wait-for cycle" });
    this.meta("process_sort_index", CYCLE_PID, 0, { sort_index: 0 });
    const since = Math.min(at, ...hang.hung_tasks.map((t) => t.blocked_since_ns));
    const n = cycle.length;
    cycle.forEach((e, i) => {
      this.meta("thread_name", CYCLE_PID, TID_CYCLE + i, { name: e.node });
      this.meta("thread_sort_index", CYCLE_PID, TID_CYCLE + i, { sort_index: i });
      const start = Math.min(since + i * CYCLE_STEP_NS, at);
      this.emit({
        name: `waits for ${e.waits_for}`,
        cat: "waitfor",
        ph: "X",
        ts: us(start),
        dur: us(at - start),
        pid: CYCLE_PID,
        tid: TID_CYCLE + i,
        args: { node: e.node, waits_for: e.waits_for, because: e.because, step: `${i + 1} of ${n}` },
        bind_id: 1,
        ...(i === 0 ? { flow_out: true } : { flow_in: true, flow_out: true }),
      });
    });
    // The last edge leads back to the first node: the flow ends there, closing the loop.
    const close_at = Math.min(since + n * CYCLE_STEP_NS, at);
    this.emit({
      name: "cycle closes",
      cat: "waitfor",
      ph: "X",
      ts: us(close_at),
      dur: us(Math.max(0, Math.min(CYCLE_STEP_NS, at - close_at))),
      pid: CYCLE_PID,
      tid: TID_CYCLE,
      args: { node: cycle[0]?.node ?? "" },
      bind_id: 1,
      flow_in: true,
    });
  }

  /** Ends the JSON document and closes the file (also after a failed run); a second call does nothing. */
  close(result?: RunResult): void {
    if (this.file.closed) return;
    if (!result) this.tracker.close_all(this.tracker.last_ts);
    const other = result
      ? { ksim: result.ksim, scenario: result.scenario, seed: result.seed, outcome: result.outcome, simulated_ns: result.simulated_ns }
      : {};
    this.file.write(`\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(other)}}\n`);
    this.file.close();
  }
}
