/**
 * rt-app's per-thread log: one row per phase iteration (thread_body() in
 * src/rt-app.c fills a timing_point_t; log_timing() in rt-app_utils.c
 * prints it). Times are simulated microseconds on CLOCK_MONOTONIC, which in
 * ksim starts at boot.
 */

/** What rt-app measures during one phase iteration (its log_data_t). */
export interface PhaseMeasure {
  perf: number;
  /** Time spent in run events, preemption included [us]. */
  duration: number;
  c_duration: number;
  c_period: number;
  slack: number;
  wu_latency: number;
}

/** One row of the log (timing_point_t). */
export interface TimingPoint {
  readonly ind: number;
  readonly perf: number;
  readonly run: number;
  readonly period: number;
  readonly start: number;
  readonly end: number;
  readonly rel_st: number;
  readonly slack: number;
  readonly c_duration: number;
  readonly c_period: number;
  readonly wu_lat: number;
}

export function new_measure(): PhaseMeasure {
  return { perf: 0, duration: 0, c_duration: 0, c_period: 0, slack: 0, wu_latency: 0 };
}

/** timespec_to_usec(): whole microseconds, rounding down (also below zero, as a normalised timespec does). */
export function ns_to_us(ns: number): number {
  return Math.floor(ns / 1000);
}

/**
 * The rows of one thread, in a ring of `limit` rows as rt-app's log_size
 * buffer: when it is full the oldest rows go.
 */
export class TimingLog {
  private readonly rows: TimingPoint[] = [];
  private head = 0;
  constructor(private readonly limit: number) {}

  push(row: TimingPoint): void {
    if (this.limit <= 0) return;
    if (this.rows.length < this.limit) this.rows.push(row);
    else {
      this.rows[this.head] = row;
      this.head = (this.head + 1) % this.limit;
    }
  }

  /** Oldest first. */
  all(): TimingPoint[] {
    return [...this.rows.slice(this.head), ...this.rows.slice(0, this.head)];
  }
}

const pad = (v: number | string, w: number): string => String(v).padStart(w, " ");

/** The header line thread_body() prints. */
export const LOG_HEADER =
  `${"#idx"} ${pad("perf", 8)} ${pad("run", 8)} ${pad("period", 8)} ${pad("start", 15)} ${pad("end", 15)} ` +
  `${pad("rel_st", 15)} ${pad("slack", 10)} ${pad("c_duration", 10)} ${pad("c_period", 10)} ${pad("wu_lat", 10)}`;

/** One row as log_timing() prints it ("%4d %8lu %8lu %8lu %15llu %15llu %15llu %10ld %10lu %10lu %10lu"). */
export function format_row(t: TimingPoint): string {
  return (
    `${pad(t.ind, 4)} ${pad(t.perf, 8)} ${pad(t.run, 8)} ${pad(t.period, 8)} ${pad(t.start, 15)} ${pad(t.end, 15)} ` +
    `${pad(t.rel_st, 15)} ${pad(t.slack, 10)} ${pad(t.c_duration, 10)} ${pad(t.c_period, 10)} ${pad(t.wu_lat, 10)}`
  );
}

export function format_log(rows: readonly TimingPoint[]): string {
  return [LOG_HEADER, ...rows.map(format_row)].join("\n") + "\n";
}
