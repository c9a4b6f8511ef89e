/**
 * `--ftrace FILE`: the trace as /sys/kernel/debug/tracing/trace prints it
 * (kernel/trace/trace_output.c, trace_print_context: "%16s-%-5d [%03d]
 * %5lu.%06lu: ", then "<event>: " and the event's TP_printk). Lines are
 * written as they come, so the file grows with the run and nothing is kept.
 */
import type { TraceRecord, TraceSink, TraceValue } from "@ksim/core";
import type { RunResult } from "./result.js";
import { BufferedFile } from "./file.js";
import { num, str } from "./intervals.js";

type Fields = Readonly<Record<string, TraceValue>>;

/** print_func_help_header() of 2.6.34, under print_trace_header's "# tracer:" line. */
export const FTRACE_HEADER =
  "# tracer: nop\n" +
  "#\n" +
  "#           TASK-PID    CPU#    TIMESTAMP  FUNCTION\n" +
  "#              | |       |          |         |\n";

/** The context columns: comm right-aligned to 16, pid left-aligned to 5, cpu as 3 digits. */
export function ftrace_context(rec: TraceRecord): string {
  // trace_find_cmdline() names pid 0 "<idle>".
  const comm = rec.pid === 0 ? "<idle>" : rec.comm;
  const secs = Math.floor(rec.ts / 1e9);
  const usecs = Math.floor((rec.ts % 1e9) / 1e3);
  const cpu = rec.cpu < 0 ? 0 : rec.cpu;
  return `${comm.padStart(16)}-${String(rec.pid).padEnd(5)} [${String(cpu).padStart(3, "0")}] ${String(secs).padStart(5)}.${String(usecs).padStart(6, "0")}: `;
}

function kv(f: Fields): string {
  return Object.keys(f)
    .map((k) => `${k}=${String(f[k])}`)
    .join(" ");
}

/**
 * The TP_printk of each tracepoint: include/trace/events/sched.h and timer.h
 * of 2.6.34. An hrtimer's %p prints the timer's name (ksim has no
 * addresses) and %pf the callback's name, as the kernel's symbol lookup
 * would. Events with no kernel tracepoint (cpuhp_*, sched_rt_*) print
 * their fields as key=value.
 */
export function ftrace_event_text(rec: TraceRecord): string {
  const f = rec.fields;
  // Subsystems declare their own events (kthread's sched_kthread_stop); the
  // writer depends on none of them, so it matches event names as strings.
  const event: string = rec.event;
  switch (event) {
    case "sched_switch":
      return (
        `prev_comm=${str(f, "prev_comm")} prev_pid=${num(f, "prev_pid")} prev_prio=${num(f, "prev_prio")} ` +
        `prev_state=${str(f, "prev_state")} ==> ` +
        `next_comm=${str(f, "next_comm")} next_pid=${num(f, "next_pid")} next_prio=${num(f, "next_prio")}`
      );
    case "sched_wakeup":
    case "sched_wakeup_new":
      return `comm=${str(f, "comm")} pid=${num(f, "pid")} prio=${num(f, "prio")} success=${num(f, "success")} target_cpu=${String(num(f, "target_cpu")).padStart(3, "0")}`;
    case "sched_migrate_task":
      return `comm=${str(f, "comm")} pid=${num(f, "pid")} prio=${num(f, "prio")} orig_cpu=${num(f, "orig_cpu")} dest_cpu=${num(f, "dest_cpu")}`;
    case "sched_process_exit":
      return `comm=${str(f, "comm")} pid=${num(f, "pid")} prio=${num(f, "prio")}`;
    case "sched_kthread_stop":
      return `comm=${str(f, "comm")} pid=${num(f, "pid")}`;
    case "sched_kthread_stop_ret":
      return `ret=${num(f, "ret")}`;
    case "hrtimer_start":
      return `hrtimer=${str(f, "hrtimer")} function=${str(f, "function")} expires=${num(f, "expires")} softexpires=${num(f, "softexpires")}`;
    case "hrtimer_expire_entry":
      return `hrtimer=${str(f, "hrtimer")} now=${num(f, "now")} function=${str(f, "function")}`;
    case "hrtimer_expire_exit":
    case "hrtimer_cancel":
      return `hrtimer=${str(f, "hrtimer")}`;
    default:
      return kv(f);
  }
}

export function ftrace_line(rec: TraceRecord): string {
  return `${ftrace_context(rec)}${rec.event}: ${ftrace_event_text(rec)}\n`;
}

/** A TraceSink that streams kernel-format trace text to a file. */
export class FtraceSink implements TraceSink {
  private readonly file: BufferedFile;
  /** Lines written so far. */
  entries = 0;

  constructor(path: string) {
    this.file = new BufferedFile(path);
    this.file.write(FTRACE_HEADER);
  }

  write(rec: TraceRecord): void {
    this.file.write(ftrace_line(rec));
    this.entries++;
  }

  /** Closes the file. The run's outcome goes in as a comment, as trace-cmd's tools skip '#' lines. */
  finish(result?: RunResult): void {
    if (this.file.closed) return;
    if (result) {
      this.file.write(`# ksim ${result.ksim}: ${result.scenario} seed ${result.seed}: outcome ${result.outcome} at ${(result.simulated_ns / 1e9).toFixed(6)} s, ${this.entries} entries\n`);
    }
    this.file.close();
  }
}
