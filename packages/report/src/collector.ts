/**
 * The HTML report's memory of the run: the last `max_records` trace records
 * (a ring buffer), plus the machine's state where that window starts. A
 * record pushed out of the ring is folded into an IntervalTracker, so the
 * report still knows who was running, what was throttled or offline and
 * where the timer was queued when its window opens. Memory is bounded by
 * max_records whatever the run's length.
 */
import type { TraceRecord, TraceSink } from "@ksim/core";
import { IntervalTracker, WATCHED_TIMERS } from "./intervals.js";

/** The default window: the last 20,000 records before the end of the run. */
export const DEFAULT_WINDOW_RECORDS = 20_000;

export interface CollectorOptions {
  /** Records kept (the window); default 20,000. */
  max_records?: number;
  /** Timers whose base CPU is followed; default ["sched_rt_period_timer"]. */
  timers?: readonly string[];
}

/** What the collector hands the HTML report. */
export interface TraceWindow {
  /** The kept records, oldest first. */
  records: readonly TraceRecord[];
  /** The machine's state just before records[0] (a copy; replay the records into a clone of it). */
  base: IntervalTracker;
  /** Records seen in the whole run. */
  total_records: number;
  /** Records older than the window, folded into `base`. */
  dropped_records: number;
  /** The window's size limit. */
  max_records: number;
  /** Time of the first kept record (0 when nothing was dropped). */
  start_ns: number;
}

export class TraceCollector implements TraceSink {
  readonly max_records: number;
  private readonly ring: TraceRecord[] = [];
  private head = 0;
  private readonly base: IntervalTracker;
  private total = 0;

  constructor(opts: CollectorOptions = {}) {
    const max = opts.max_records ?? DEFAULT_WINDOW_RECORDS;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max_records: expected a positive integer, got ${max}`);
    this.max_records = max;
    this.base = new IntervalTracker(new Set(opts.timers ?? WATCHED_TIMERS));
  }

  write(rec: TraceRecord): void {
    // Copied: the bus does not promise its record outlives the call.
    const copy: TraceRecord = { ts: rec.ts, cpu: rec.cpu, pid: rec.pid, comm: rec.comm, event: rec.event, fields: { ...rec.fields } };
    this.total++;
    if (this.ring.length < this.max_records) {
      this.ring.push(copy);
      return;
    }
    const old = this.ring[this.head]!;
    this.base.write(old);
    this.ring[this.head] = copy;
    this.head = (this.head + 1) % this.max_records;
  }

  window(): TraceWindow {
    const records = this.ring.length < this.max_records ? [...this.ring] : [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
    const dropped = this.total - records.length;
    return {
      records,
      base: this.base.clone({}),
      total_records: this.total,
      dropped_records: dropped,
      max_records: this.max_records,
      start_ns: dropped > 0 ? (records[0]?.ts ?? 0) : 0,
    };
  }
}
