/**
 * @ksim/report: what a run or a campaign looks like to a person or a script.
 * One formatter of each kind: the text report, the JSON report (CONTRACT.md
 * §3), the HTML reports (a run, a campaign, a comparison of two), the kernel's trace text (ftrace)
 * and Chrome/Perfetto trace-event JSON. RunResult, the data every one of them
 * reads, is defined here; the machine fills it.
 */
export { run_exit_code, ExitCode } from "./result.js";
export type { RunResult, HungTask, CycleEdge, HangDetector, KernelInfo } from "./result.js";
export { format_text_report } from "./text.js";
export type { TextReportOptions } from "./text.js";
export { format_json_report, json_report } from "./json.js";
export { render_html_report } from "./html.js";
export { render_campaign_html } from "./campaign-html.js";
export type { CampaignSummary, CampaignSeedResult } from "./campaign-html.js";
export { format_campaign_text } from "./campaign-text.js";
export type { CompareReport, CompareSide, SurvivalCurve, SurvivalPoint, LogRank } from "./compare.js";
export { format_compare_text, compare_verdict, fmt_p } from "./compare-text.js";
export { render_compare_html } from "./compare-html.js";
export { format_explore_text, render_explore_html, explore_exit_code, class_title } from "./explore.js";
export type { ExploreReport, ExploreClass, ExploreDimension, ExploreWitness } from "./explore.js";
export { open_outputs, OutputError } from "./outputs.js";
export type { OutputPaths, OutputOptions, Outputs } from "./outputs.js";
export { PerfettoSink } from "./perfetto.js";
export type { PerfettoOptions } from "./perfetto.js";
export { FtraceSink, ftrace_line, FTRACE_HEADER } from "./ftrace.js";
export { TraceCollector, DEFAULT_WINDOW_RECORDS } from "./collector.js";
export type { CollectorOptions, TraceWindow } from "./collector.js";
