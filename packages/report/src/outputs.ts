/**
 * Trace outputs of a run: `--trace` (Chrome/Perfetto JSON), `--ftrace`
 * (kernel trace text) and `--html` (a self-contained report). The CLI does
 *
 *   const outs = open_outputs({ trace: "t.json", ftrace: "t.txt", html: "r.html" });
 *   const result = run_scenario(spec, { trace: outs.sinks });
 *   outs.finish(result);
 *
 * The JSON and text are streamed to their files while the run goes; the HTML
 * report keeps a bounded window of records (the last 20,000 by default) and
 * is written by finish(). Files are opened by open_outputs, so a path that
 * cannot be written fails before the run starts.
 */
import type { TraceSink } from "@ksim/core";
import { TraceCollector } from "./collector.js";
import { BufferedFile } from "./file.js";
import { FtraceSink } from "./ftrace.js";
import { render_html_report } from "./html.js";
import { PerfettoSink } from "./perfetto.js";
import type { RunResult } from "./result.js";

export interface OutputPaths {
  /** Chrome/Perfetto trace-event JSON. */
  trace?: string | undefined;
  /** Kernel trace text (/sys/kernel/debug/tracing/trace). */
  ftrace?: string | undefined;
  /** The HTML report. */
  html?: string | undefined;
}

export interface OutputOptions {
  /** Records the HTML report keeps (its timeline's window); default 20,000. */
  html_window_records?: number;
  /** Timers whose base CPU is drawn; default ["sched_rt_period_timer"]. */
  timers?: readonly string[];
}

export interface Outputs {
  /** Pass to run_scenario / MachineOptions.trace; empty when no output was asked for. */
  readonly sinks: TraceSink[];
  /** Ends every output with the run's result and closes the files. */
  finish(result: RunResult): void;
  /** Closes the files without a result (a run that threw); the JSON stays valid. */
  close(): void;
}

export class OutputError extends Error {
  constructor(
    readonly option: string,
    readonly path: string,
    cause: unknown,
  ) {
    super(`${option} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = "OutputError";
  }
}

function open<T>(option: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new OutputError(option, path, e);
  }
}

export function open_outputs(paths: OutputPaths, opts: OutputOptions = {}): Outputs {
  const sinks: TraceSink[] = [];
  const opened: { close(): void }[] = [];
  const timers = opts.timers ? { timers: opts.timers } : {};
  try {
    const perfetto = paths.trace ? open("--trace", paths.trace, () => new PerfettoSink(paths.trace!, timers)) : null;
    if (perfetto) opened.push(perfetto);
    const ftrace = paths.ftrace ? open("--ftrace", paths.ftrace, () => new FtraceSink(paths.ftrace!)) : null;
    if (ftrace) opened.push({ close: () => ftrace.finish() });
    const html_file = paths.html ? open("--html", paths.html, () => new BufferedFile(paths.html!)) : null;
    if (html_file) opened.push(html_file);
    const collector = html_file
      ? new TraceCollector({ ...timers, ...(opts.html_window_records !== undefined ? { max_records: opts.html_window_records } : {}) })
      : null;
    for (const s of [perfetto, ftrace, collector]) if (s) sinks.push(s);
    return {
      sinks,
      finish(result: RunResult): void {
        perfetto?.finish(result);
        ftrace?.finish(result);
        if (html_file && collector) {
          html_file.write(render_html_report(result, collector.window()));
          html_file.close();
        }
      },
      close(): void {
        for (const o of opened) o.close();
      },
    };
  } catch (e) {
    for (const o of opened) o.close();
    throw e;
  }
}
