/**
 * The human-readable report of `ksim run`: what happened, why (khungtaskd's
 * lines, the hung tasks and the wait-for cycle that closes the loop), and the
 * machine's state at the end. Lines fit an 80-column terminal.
 */
import type { NotificationRecord } from "@ksim/core";
import type { CycleEdge, RunResult } from "./result.js";
import type { Outcome } from "@ksim/scenario";
import { fmt_count } from "./count.js";

export interface TextReportOptions {
  /** The scenario's `expect.outcome`, if it has one (the report says whether it was met). */
  expected?: Outcome | null;
  /** The most hotplug operations listed one by one (the latest ones); default 20. */
  max_hotplug_ops?: number;
  /** The most tasks listed; default 40. */
  max_tasks?: number;
  /** The most kernel log lines shown; default 40. */
  max_dmesg_lines?: number;
}

const WIDTH = 80;

// ---- formatting helpers -------------------------------------------------------------

/** Kernel-log style seconds: 243.000402 s. */
export function format_seconds(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const sign = ns < 0 ? "-" : "";
  const abs = Math.abs(Math.round(ns));
  const secs = Math.floor(abs / 1e9);
  const usecs = Math.floor((abs % 1e9) / 1e3);
  return `${sign}${secs}.${String(usecs).padStart(6, "0")} s`;
}

/** A length of time with three decimals in a fitting unit: 950.000 ms, 1.500 s. */
export function format_length(ns: number): string {
  if (!Number.isFinite(ns)) return String(ns);
  const abs = Math.abs(ns);
  if (abs >= 3600e9) return `${(ns / 3600e9).toFixed(3)} h`;
  if (abs >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (abs >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (abs >= 1e3) return `${(ns / 1e3).toFixed(3)} us`;
  return `${ns} ns`;
}


/** Words wrapped to `width`, every line after the first indented by `indent`. */
function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "" || lines.length === 0) lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : indent + l));
}

/** A left-aligned table; columns listed in `right` are right-aligned. */
function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const fmt = (cells: string[]) =>
    `  ${cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")}`.trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}

function yes_no(b: boolean): string {
  return b ? "yes" : "no";
}

// ---- sections --------------------------------------------------------------------------

function outcome_lines(r: RunResult, expected: Outcome | null): string[] {
  const verdict =
    expected === null ? "" : r.outcome === expected ? ` (as expected)` : ` (expected ${expected})`;
  let what: string;
  switch (r.outcome) {
    case "ok":
      what = "OK: no hang and no bug";
      break;
    case "hang":
      what = r.hang ? `HANG detected at ${format_seconds(r.hang.detected_at_ns)}` : "HANG";
      break;
    case "bug":
      what = r.bug ? `BUG at ${format_seconds(r.bug.at_ns)}` : "BUG";
      break;
  }
  return [
    `ksim ${r.ksim}: ${r.scenario}, seed ${r.seed}`,
    `outcome: ${what}${verdict}`,
    `ran ${format_seconds(r.simulated_ns)} simulated, ${fmt_count(r.events)} events, ${fmt_count(r.wall_ms)} ms wall clock`,
  ];
}

/** Which kernel ran: its version and each subsystem's implementation, one per line. */
function kernel_lines(r: RunResult): string[] {
  const width = Math.max(0, ...r.kernel.subsystems.map((s) => s.name.length));
  const lines = [`kernel: Linux ${r.kernel.version}`];
  for (const s of r.kernel.subsystems) {
    const indent = " ".repeat(width + 4);
    const body = wrap(s.implementation, WIDTH - indent.length, indent);
    lines.push(`  ${s.name.padEnd(width)}  ${body[0]!.trimStart()}`, ...body.slice(1));
  }
  return lines;
}

/** khungtaskd's report: from its first "INFO: task ... blocked" line on. */
function dmesg_lines(r: RunResult, max: number): string[] {
  let lines = r.dmesg;
  if (r.outcome === "hang") {
    const first = lines.findIndex((l) => /blocked for more than/.test(l));
    if (first >= 0) lines = lines.slice(first);
  }
  if (lines.length === 0) return [];
  const shown = lines.slice(0, max);
  const out = [r.outcome === "hang" ? "khungtaskd:" : "kernel log:", ...shown.map((l) => `  ${l}`)];
  if (lines.length > shown.length) out.push(`  ... ${lines.length - shown.length} more lines (see --json)`);
  return out;
}

function hung_task_lines(r: RunResult): string[] {
  const hung = r.hang?.hung_tasks ?? [];
  if (hung.length === 0) return [];
  return [
    "hung tasks:",
    ...table(
      ["PID", "COMM", "STATE", "BLOCKED SINCE", "IN"],
      hung.map((t) => [String(t.pid), t.comm, t.state, format_seconds(t.blocked_since_ns), t.in]),
      new Set([0, 3]),
    ),
  ];
}

/**
 * The wait-for cycle, one node per line, each arrow labelled with why the
 * node above waits for the node below; the last node is the first again.
 */
export function cycle_lines(cycle: readonly CycleEdge[]): string[] {
  if (cycle.length === 0) return [];
  const out = [`wait-for cycle (${cycle.length} edge${cycle.length === 1 ? "" : "s"}):`];
  const reason_indent = "     ";
  let prev: string | null = null;
  for (const e of cycle) {
    if (prev !== null && prev !== e.node) {
      // The edges do not chain here; show where the next one starts.
      out.push("   ⋮", `  ${e.node}`);
    } else if (prev === null) {
      out.push(`  ${e.node}`);
    }
    const reason = wrap(e.because, WIDTH - reason_indent.length - 1, `   │ `);
    out.push(`   │ ${reason[0] ?? ""}`, ...reason.slice(1), "   ▼");
    out.push(`  ${e.waits_for}${e.waits_for === cycle[0]!.node ? "   (back to the start: a cycle)" : ""}`);
    prev = e.waits_for;
  }
  return out;
}

/**
 * A hang with no cycle: the waits from a hung task, drawn as the cycle is,
 * down to the last node a subsystem can explain.
 */
export function chain_lines(chain: readonly CycleEdge[]): string[] {
  if (chain.length === 0) return [];
  const body = cycle_lines(chain).slice(1);
  return [`wait-for chain (${chain.length} edge${chain.length === 1 ? "" : "s"}, no cycle):`, ...body, "     (no subsystem names a wait beyond this node)"];
}

function cpu_lines(r: RunResult): string[] {
  if (r.cpus.length === 0) return [];
  return [
    "cpus:",
    ...table(
      ["CPU", "ONLINE", "RT_THROTTLED", "RT_TIME"],
      r.cpus.map((c) => [String(c.cpu), yes_no(c.online), yes_no(c.rt_throttled), format_length(c.rt_time_ns)]),
      new Set([0, 3]),
    ),
  ];
}

function task_lines(r: RunResult, max: number): string[] {
  if (r.tasks.length === 0) return [];
  const shown = r.tasks.slice(0, max);
  const out = [
    "tasks:",
    ...table(
      ["PID", "COMM", "POLICY", "PRIO", "CPU", "STATE", "RUNTIME"],
      shown.map((t) => [String(t.pid), t.comm, t.policy, String(t.priority), String(t.cpu), t.state, format_length(t.runtime_ns)]),
      new Set([0, 3, 4, 6]),
    ),
  ];
  if (r.tasks.length > shown.length) out.push(`  ... ${r.tasks.length - shown.length} more tasks (see --json)`);
  return out;
}

/** Notifications grouped by event: "CPU_DEAD: migration_call, hrtimer_cpu_notify". */
function notification_lines(ns: readonly NotificationRecord[], indent: string): string[] {
  const groups: { event: string; calls: string[] }[] = [];
  for (const n of ns) {
    const call = n.ret === "NOTIFY_OK" || n.ret === "NOTIFY_DONE" ? n.notifier : `${n.notifier} -> ${n.ret || "(no return)"}`;
    const last = groups[groups.length - 1];
    if (last && last.event === n.event) last.calls.push(call);
    else groups.push({ event: n.event, calls: [call] });
  }
  return groups.flatMap((g) => wrap(`${g.event}: ${g.calls.join(", ")}`, WIDTH - indent.length, `${indent}  `).map((l, i) => (i === 0 ? indent + l : l)));
}

function hotplug_lines(r: RunResult, max: number): string[] {
  if (r.hotplug.length === 0) return ["hotplug: no operations"];
  const skipped = r.hotplug.length > max ? r.hotplug.length - max : 0;
  const out = [`hotplug (${fmt_count(r.hotplug.length)} operation${r.hotplug.length === 1 ? "" : "s"}):`];
  if (skipped > 0) {
    const results = new Map<string, number>();
    for (const op of r.hotplug.slice(0, skipped)) results.set(op.result, (results.get(op.result) ?? 0) + 1);
    const summary = [...results].map(([res, n]) => `${fmt_count(n)} ${res}`).join(", ");
    out.push(`  ... ${fmt_count(skipped)} earlier operations not shown (${summary})`);
  }
  const header = ["START", "OP", "CPU", "FROM", "RESULT", "DURATION"];
  const rows = r.hotplug.slice(skipped).map((op) => [
    format_seconds(op.start_ns),
    op.op,
    String(op.cpu),
    String(op.from_cpu),
    op.result,
    op.end_ns === null ? `(${format_length(r.simulated_ns - op.start_ns)} so far)` : format_length(op.end_ns - op.start_ns),
  ]);
  const [head, ...body] = table(header, rows, new Set([0, 2, 3]));
  out.push(head!);
  r.hotplug.slice(skipped).forEach((op, i) => {
    out.push(body[i]!);
    out.push(...notification_lines(op.notifications, "      "));
  });
  return out;
}

function stats_lines(r: RunResult): string[] {
  const s = r.stats;
  return [
    "stats:",
    `  context switches ${fmt_count(s.context_switches)}, rt throttles ${fmt_count(s.rt_throttles)}, ` +
      `timer migrations ${fmt_count(s.timer_migrations)}, hotplug ops ${fmt_count(s.hotplug_ops)}`,
  ];
}

/** The text report of one run, ending in a newline. */
export function format_text_report(r: RunResult, opts: TextReportOptions = {}): string {
  const sections: string[][] = [outcome_lines(r, opts.expected ?? null), kernel_lines(r)];
  if (r.outcome === "bug" && r.bug) {
    sections.push(["bug:", ...wrap(r.bug.message, WIDTH - 2, "  ").map((l, i) => (i === 0 ? `  ${l}` : l))]);
  }
  if (r.outcome !== "ok") sections.push(dmesg_lines(r, opts.max_dmesg_lines ?? 40));
  if (r.outcome === "hang") {
    sections.push(hung_task_lines(r));
    sections.push(cycle_lines(r.hang?.cycle ?? []));
    sections.push(chain_lines(r.hang?.chain ?? []));
  }
  sections.push(cpu_lines(r));
  sections.push(task_lines(r, opts.max_tasks ?? 40));
  sections.push(hotplug_lines(r, opts.max_hotplug_ops ?? 20));
  sections.push(stats_lines(r));
  return `${sections
    .filter((s) => s.length > 0)
    .map((s) => s.join("\n"))
    .join("\n\n")}\n`;
}
