/**
 * `ksim run --html FILE`: one self-contained page (inline CSS, SVG and a few
 * lines of script; no network) that shows a run: the summary, the wait-for
 * cycle of a hang as a graph, a timeline (a lane per CPU with its task
 * slices, throttled and offline stretches, the hotplug operations and their
 * notifier calls, and the CPU whose hrtimer base holds sched_rt_period_timer),
 * the hotplug log, the hung tasks, the kernel log and the tasks. Every text
 * that comes from the run (task names above all) goes through esc().
 */
import type { TraceRecord } from "@ksim/core";
import type { CycleEdge, RunResult } from "./result.js";
import type { TraceWindow } from "./collector.js";
import { fmt_count } from "./count.js";
import { num, str, task_class, type TaskClass } from "./intervals.js";

// ---- text -------------------------------------------------------------------------

/** Escapes text for HTML and SVG, in element content and in quoted attributes. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Kernel-log seconds: 3.950000 s. */
export function fmt_s(ns: number): string {
  const secs = Math.floor(ns / 1e9);
  const usecs = Math.floor((ns % 1e9) / 1e3);
  return `${secs}.${String(usecs).padStart(6, "0")} s`;
}

/** A length in a fitting unit: 950 ms, 2.5 s, 3.2 h. */
export function fmt_len(ns: number): string {
  const a = Math.abs(ns);
  const trim = (x: number) => String(Number(x.toFixed(3)));
  if (a >= 3600e9) return `${trim(ns / 3600e9)} h`;
  if (a >= 60e9) return `${trim(ns / 60e9)} min`;
  if (a >= 1e9) return `${trim(ns / 1e9)} s`;
  if (a >= 1e6) return `${trim(ns / 1e6)} ms`;
  if (a >= 1e3) return `${trim(ns / 1e3)} us`;
  return `${ns} ns`;
}

export { fmt_count } from "./count.js";

/** Page shell shared with the campaign page: strict CSP, so nothing can be fetched. */
export function html_page(title: string, body: string, extra_css = "", script = ""): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${BASE_CSS}${extra_css}</style>
</head>
<body>
${body}
${script ? `<script>${script}</script>` : ""}
</body>
</html>
`;
}

const BASE_CSS = `
:root { --fg:#1f2328; --muted:#59636e; --line:#d0d7de; --bg:#ffffff; --panel:#f6f8fa;
  --rt:#d9480f; --normal:#1c7ed6; --idle:#e9ecef; --thr:#e03131; --off:#343a40; --ok:#2f9e44; --hang:#c92a2a; --bug:#862e9c; }
* { box-sizing: border-box; }
body { margin: 0; padding: 20px 28px 40px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 12px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 12px; color: #fff; font-weight: 600; font-size: 13px; vertical-align: 2px; }
.badge.ok { background: var(--ok); } .badge.hang { background: var(--hang); } .badge.bug { background: var(--bug); }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 10px 0; }
.card { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 6px 12px; min-width: 120px; }
.card .k { color: var(--muted); font-size: 12px; } .card .v { font-size: 16px; font-weight: 600; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: var(--panel); font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; overflow-x: auto; font-size: 12.5px; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.note { color: var(--muted); font-size: 12.5px; }
svg text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
.scroll { overflow-x: auto; }
`;

// ---- the timeline's model -------------------------------------------------------------

interface Span {
  t0: number;
  t1: number;
}
interface TaskSlice extends Span {
  cpu: number;
  pid: number;
  comm: string;
  prio: number;
  cls: TaskClass;
  end_state: string;
}
interface CpuSpan extends Span {
  cpu: number;
}
interface TimerSpan extends Span {
  timer: string;
  cpu: number;
  ended_by: string;
}
interface OpSpan extends Span {
  op: string;
  cpu: number;
  from_cpu: number;
  result: string;
}
interface Mark {
  ts: number;
  cpu: number;
  label: string;
}

interface Timeline {
  start: number;
  end: number;
  nr_cpus: number;
  slices: TaskSlice[];
  throttled: CpuSpan[];
  offline: CpuSpan[];
  timers: TimerSpan[];
  ops: OpSpan[];
  notifies: (Mark & { event: string })[];
  wakeups: Mark[];
  expiries: Mark[];
  times: number[];
}

function build_timeline(result: RunResult, w: TraceWindow): Timeline {
  const end = result.simulated_ns;
  const start = Math.min(w.start_ns, end);
  const tl: Timeline = {
    start,
    end,
    nr_cpus: result.cpus.length,
    slices: [],
    throttled: [],
    offline: [],
    timers: [],
    ops: [],
    notifies: [],
    wakeups: [],
    expiries: [],
    times: [start, end],
  };
  const clip = (t: number) => Math.max(start, t);
  const tracker = w.base.clone({
    slice: (cpu, t, t1, end_state) =>
      tl.slices.push({ cpu, pid: t.pid, comm: t.comm, prio: t.prio, cls: task_class(t.pid, t.prio), end_state, t0: clip(t.since), t1 }),
    throttled: (cpu, t0, t1) => tl.throttled.push({ cpu, t0: clip(t0), t1 }),
    offline: (cpu, t0, t1) => tl.offline.push({ cpu, t0: clip(t0), t1 }),
    timer_base: (timer, cpu, t0, t1, ended_by) => tl.timers.push({ timer, cpu, t0: clip(t0), t1, ended_by }),
    hotplug_op: (op, t1, res) => tl.ops.push({ op: op.op, cpu: op.cpu, from_cpu: op.from_cpu, t0: clip(op.since), t1, result: res }),
  });
  for (const rec of w.records) {
    tracker.write(rec);
    tl.times.push(rec.ts);
    note_marks(tl, rec);
  }
  tracker.close_all(end);
  tl.nr_cpus = Math.max(tl.nr_cpus, tracker.nr_cpus, w.base.nr_cpus);
  if (result.hang) tl.times.push(result.hang.detected_at_ns);
  if (result.bug) tl.times.push(result.bug.at_ns);
  return tl;
}

function note_marks(tl: Timeline, rec: TraceRecord): void {
  const f = rec.fields;
  switch (rec.event) {
    case "sched_wakeup":
    case "sched_wakeup_new":
      tl.wakeups.push({ ts: rec.ts, cpu: num(f, "target_cpu"), label: `${rec.event} ${str(f, "comm")}/${num(f, "pid")} by ${rec.comm}/${rec.pid} on CPU ${rec.cpu}` });
      break;
    case "hrtimer_expire_entry":
      tl.expiries.push({ ts: rec.ts, cpu: rec.cpu, label: `hrtimer_expire_entry ${str(f, "hrtimer")} on CPU ${rec.cpu}` });
      break;
    case "cpuhp_notify":
      tl.notifies.push({
        ts: rec.ts,
        cpu: rec.cpu,
        event: str(f, "event"),
        label: `${str(f, "event")} (CPU ${num(f, "target_cpu")}): ${str(f, "notifier")} -> ${str(f, "ret")}, called on CPU ${rec.cpu} by ${rec.comm}/${rec.pid}`,
      });
      break;
    default:
      break;
  }
}

// ---- the time axis ----------------------------------------------------------------------

interface Piece {
  t0: number;
  t1: number;
  x0: number;
  x1: number;
  brk: boolean;
}

/**
 * A time axis that squeezes long quiet stretches: while one gap between
 * consecutive events is more than a quarter of the time still drawn to
 * scale, it becomes a fixed-width break. A hang that idles 235 s after 5 s
 * of action then shows the action, with the quiet marked, not a sliver.
 */
class Axis {
  readonly pieces: Piece[] = [];

  constructor(times: number[], start: number, end: number, readonly x0: number, readonly width: number) {
    const ts = [...new Set(times.filter((t) => t >= start && t <= end).concat([start, end]))].sort((a, b) => a - b);
    const gaps: { t0: number; t1: number; brk: boolean }[] = [];
    for (let i = 1; i < ts.length; i++) gaps.push({ t0: ts[i - 1]!, t1: ts[i]!, brk: false });
    let linear = Math.max(1, end - start);
    for (let n = 0; n < 8; n++) {
      let big: (typeof gaps)[number] | undefined;
      for (const g of gaps) if (!g.brk && (!big || g.t1 - g.t0 > big.t1 - big.t0)) big = g;
      if (!big || big.t1 - big.t0 <= 0.25 * linear) break;
      big.brk = true;
      linear -= big.t1 - big.t0;
    }
    linear = Math.max(1, linear);
    const bw = 0.06 * linear;
    const nbrk = gaps.filter((g) => g.brk).length;
    const scale = width / (linear + nbrk * bw);
    let x = x0;
    let cur: Piece | null = null;
    for (const g of gaps) {
      const w = (g.brk ? bw : g.t1 - g.t0) * scale;
      if (g.brk) {
        cur = null;
        this.pieces.push({ t0: g.t0, t1: g.t1, x0: x, x1: x + w, brk: true });
      } else if (cur) {
        cur.t1 = g.t1;
        cur.x1 = x + w;
      } else {
        cur = { t0: g.t0, t1: g.t1, x0: x, x1: x + w, brk: false };
        this.pieces.push(cur);
      }
      x += w;
    }
    if (this.pieces.length === 0) this.pieces.push({ t0: start, t1: end, x0, x1: x0 + width, brk: false });
  }

  x(t: number): number {
    const ps = this.pieces;
    let lo = 0;
    let hi = ps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ps[mid]!.t0 <= t) lo = mid;
      else hi = mid - 1;
    }
    const p = ps[lo]!;
    if (t <= p.t0) return p.x0;
    if (t >= p.t1) return p.x1;
    return p.x0 + ((t - p.t0) / (p.t1 - p.t0)) * (p.x1 - p.x0);
  }
}

function nice_step(span_ns: number, px: number): number {
  const want = Math.max(1, Math.floor(px / 110));
  const raw = span_ns / want;
  const p = 10 ** Math.floor(Math.log10(Math.max(raw, 1)));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function tick_label(t: number, step: number): string {
  const d = Math.max(0, Math.min(6, Math.ceil(-Math.log10(step / 1e9))));
  return `${(t / 1e9).toFixed(d)} s`;
}

// ---- SVG pieces ---------------------------------------------------------------------------

const CLASS_FILL: Record<TaskClass, string> = { RT: "var(--rt)", NORMAL: "var(--normal)", idle: "var(--idle)" };
const CPU_COLORS = ["#1971c2", "#e8590c", "#2f9e44", "#9c36b5", "#0c8599", "#f08c00", "#c2255c", "#5c940d"];
const cpu_color = (cpu: number) => CPU_COLORS[cpu % CPU_COLORS.length]!;

function rect(x: number, y: number, w: number, h: number, fill: string, title: string, extra = ""): string {
  return `<rect x="${x.toFixed(2)}" y="${y}" width="${Math.max(w, 0.6).toFixed(2)}" height="${h}" fill="${fill}"${extra}><title>${esc(title)}</title></rect>`;
}

function text(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y}"${attrs}>${esc(s)}</text>`;
}

/** Approximate width of a label at 11px, to decide whether it fits in a slice. */
const label_w = (s: string) => s.length * 6.2 + 6;

const LABEL_W = 190;
const PLOT_W = 1000;
const LANE_H = 26;
const STRIP_H = 9;

function render_timeline(result: RunResult, w: TraceWindow): string {
  const tl = build_timeline(result, w);
  const axis = new Axis(tl.times, tl.start, tl.end, LABEL_W, PLOT_W);
  const X = (t: number) => axis.x(t);
  const out: string[] = [];
  let y = 8;
  // Axis: ticks per piece drawn to scale, a labelled zig-zag per break.
  const axis_y = y + 14;
  for (const p of axis.pieces) {
    if (p.brk) {
      out.push(`<rect x="${p.x0.toFixed(1)}" y="${axis_y - 12}" width="${(p.x1 - p.x0).toFixed(1)}" height="14" fill="#f1f3f5"/>`);
      const len = p.t1 - p.t0;
      const label = len >= 10e9 ? `≈${Math.round(len / 1e9)} s` : `≈${fmt_len(len)}`;
      out.push(`<path d="M${(p.x0 + 3).toFixed(1)} ${axis_y + 6} l3 -5 l3 5 l3 -5" fill="none" stroke="#8c959f"/>`);
      if (p.x1 - p.x0 > label_w(label) - 4) out.push(text((p.x0 + p.x1) / 2, axis_y - 1, label, ` font-size="10" text-anchor="middle" fill="#59636e"`));
      continue;
    }
    const step = nice_step(p.t1 - p.t0, p.x1 - p.x0);
    for (let t = Math.ceil(p.t0 / step) * step; t <= p.t1; t += step) {
      const x = X(t);
      out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${axis_y + 2}" y2="${axis_y + 6}" stroke="#8c959f"/>`);
      out.push(text(x, axis_y - 1, tick_label(t, step), ` font-size="10.5" text-anchor="middle" fill="#59636e"`));
    }
  }
  out.push(`<line x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${axis_y + 2}" y2="${axis_y + 2}" stroke="#8c959f"/>`);
  y = axis_y + 12;
  const top = y;
  const grid_bottom: number[] = [];

  // CPU lanes.
  for (let cpu = 0; cpu < tl.nr_cpus; cpu++) {
    out.push(`<g class="lane" data-cpu="${cpu}">`);
    out.push(text(8, y + 17, `CPU ${cpu}`, ` class="lane-label" font-size="13" font-weight="600"`));
    out.push(`<rect x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${LANE_H}" fill="#fbfcfd" stroke="#e6e8eb"/>`);
    for (const s of tl.slices) {
      if (s.cpu !== cpu) continue;
      const x0 = X(s.t0);
      const x1 = X(s.t1);
      const who = s.pid === 0 ? "idle (swapper)" : `${s.comm}/${s.pid} (${s.cls}, prio ${s.prio})`;
      const h = s.cls === "idle" ? 8 : LANE_H - 4;
      const yy = s.cls === "idle" ? y + LANE_H / 2 - 4 : y + 2;
      out.push(rect(x0, yy, x1 - x0, h, CLASS_FILL[s.cls], `CPU ${cpu}: ${who}, ${fmt_s(s.t0)} .. ${fmt_s(s.t1)} (${fmt_len(s.t1 - s.t0)}), then ${s.end_state}`, ` class="slice ${s.cls}"`));
      if (s.cls !== "idle" && x1 - x0 > label_w(s.comm)) out.push(text(x0 + 4, y + 17, s.comm, ` font-size="11" fill="#fff" pointer-events="none"`));
    }
    for (const m of tl.wakeups) if (m.cpu === cpu) out.push(`<path d="M${X(m.ts).toFixed(1)} ${y} l-3 -4 h6 z" fill="#495057"><title>${esc(`${fmt_s(m.ts)} ${m.label}`)}</title></path>`);
    for (const m of tl.expiries) {
      if (m.cpu !== cpu) continue;
      const x = X(m.ts);
      out.push(`<path d="M${x.toFixed(1)} ${y + LANE_H - 6} l4 4 l-4 4 l-4 -4 z" fill="#f59f00" stroke="#fff" stroke-width="0.6"><title>${esc(`${fmt_s(m.ts)} ${m.label}`)}</title></path>`);
    }
    y += LANE_H + 1;
    out.push(`<rect x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${STRIP_H}" fill="#f8f9fa"/>`);
    out.push(text(LABEL_W - 8, y + 8, "throttled / offline", ` font-size="9.5" text-anchor="end" fill="#59636e"`));
    for (const s of tl.offline) if (s.cpu === cpu) out.push(rect(X(s.t0), y, X(s.t1) - X(s.t0), STRIP_H, "var(--off)", `CPU ${cpu} offline ${fmt_s(s.t0)} .. ${fmt_s(s.t1)}`, ` class="offline"`));
    for (const s of tl.throttled) if (s.cpu === cpu) out.push(rect(X(s.t0), y, X(s.t1) - X(s.t0), STRIP_H, "url(#thr)", `rt_rq ${cpu} throttled ${fmt_s(s.t0)} .. ${fmt_s(s.t1)} (${fmt_len(s.t1 - s.t0)})`, ` class="throttled"`));
    // Offline stretches also grey the task lane: nothing runs there.
    for (const s of tl.offline) if (s.cpu === cpu) out.push(`<rect x="${X(s.t0).toFixed(2)}" y="${y - LANE_H - 1}" width="${Math.max(0.6, X(s.t1) - X(s.t0)).toFixed(2)}" height="${LANE_H}" fill="url(#off)" pointer-events="none"/>`);
    out.push(`</g>`);
    y += STRIP_H + 10;
  }

  // Hotplug: operations, and the notifier calls grouped by where they land.
  out.push(text(8, y + 15, "hotplug", ` font-size="13" font-weight="600"`));
  out.push(`<rect x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="22" fill="#fbfcfd" stroke="#e6e8eb"/>`);
  for (const op of tl.ops) {
    const x0 = X(op.t0);
    const x1 = X(op.t1);
    const fill = op.result === "ok" ? "#74b816" : op.result === "incomplete" ? "#c92a2a" : "#f76707";
    const label = `${op.op}(${op.cpu}) from CPU ${op.from_cpu}: ${op.result}`;
    out.push(rect(x0, y + 3, x1 - x0, 16, fill, `${label}, ${fmt_s(op.t0)} .. ${fmt_s(op.t1)}`, ` class="op"`));
    if (x1 - x0 > label_w(label)) out.push(text(x0 + 4, y + 15, label, ` font-size="11" fill="#fff" pointer-events="none"`));
    else out.push(text(x0 + 3, y + 15, `${op.op}(${op.cpu})`, ` font-size="11" fill="#1f2328"`));
  }
  y += 24;
  const groups = new Map<number, (typeof tl.notifies)[number][]>();
  for (const n of tl.notifies) {
    const key = Math.round(X(n.ts) / 3);
    const g = groups.get(key);
    if (g) g.push(n);
    else groups.set(key, [n]);
  }
  out.push(text(LABEL_W - 8, y + 11, "notifier calls", ` font-size="9.5" text-anchor="end" fill="#59636e"`));
  // Labels go in the first of three rows where they do not overlap the one before; else only the tick and its tooltip.
  const row_end = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  let rows_used = 1;
  for (const g of groups.values()) {
    const x = X(g[0]!.ts);
    const events = [...new Set(g.map((n) => n.event))];
    const label = `${events.join(", ")} ×${g.length}`;
    const row = row_end.findIndex((e) => e < x);
    const yy = y + 12 + Math.max(0, row) * 13;
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y}" y2="${row >= 0 ? yy : y + 8}" stroke="#7048e8"/>`);
    out.push(
      `<g class="notify"><title>${esc(g.map((n) => `${fmt_s(n.ts)} ${n.label}`).join("\n"))}</title>` +
        `<circle cx="${x.toFixed(1)}" cy="${y + 3}" r="3" fill="#7048e8"/>` +
        (row >= 0 ? text(x + 3, yy, label, ` font-size="10" fill="#5f3dc4"`) : "") +
        `</g>`,
    );
    if (row >= 0) {
      row_end[row] = x + label.length * 5.6 + 8;
      rows_used = Math.max(rows_used, row + 1);
    }
  }
  y += 12 + rows_used * 13 + 6;

  // Where sched_rt_period_timer is queued.
  const timer_names = [...new Set([...w.base.watched])];
  for (const name of timer_names) {
    out.push(text(8, y + 11, name, ` font-size="12" font-weight="600"`));
    out.push(text(8, y + 24, "base CPU (queued on)", ` font-size="10" fill="#59636e"`));
    out.push(`<rect x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="22" fill="#fbfcfd" stroke="#e6e8eb"/>`);
    for (const s of tl.timers) {
      if (s.timer !== name) continue;
      // Split at the base CPU's offline stretches: a timer there is stranded.
      const cuts: Span[] = [];
      for (const o of tl.offline) if (o.cpu === s.cpu && o.t1 > s.t0 && o.t0 < s.t1) cuts.push({ t0: Math.max(o.t0, s.t0), t1: Math.min(o.t1, s.t1) });
      const parts: (Span & { off: boolean })[] = [];
      let t = s.t0;
      for (const c of cuts.sort((a, b) => a.t0 - b.t0)) {
        if (c.t0 > t) parts.push({ t0: t, t1: c.t0, off: false });
        parts.push({ t0: c.t0, t1: c.t1, off: true });
        t = c.t1;
      }
      if (t < s.t1 || parts.length === 0) parts.push({ t0: t, t1: s.t1, off: false });
      for (const p of parts) {
        const x0 = X(p.t0);
        const x1 = X(p.t1);
        const label = p.off ? `CPU ${s.cpu} (offline: stranded)` : `CPU ${s.cpu}`;
        out.push(rect(x0, y + 3, x1 - x0, 16, cpu_color(s.cpu), `${name} queued on CPU ${s.cpu}'s base${p.off ? " while CPU " + s.cpu + " is offline" : ""}, ${fmt_s(p.t0)} .. ${fmt_s(p.t1)}; then ${s.ended_by}`, ` class="timer"${p.off ? ` stroke="#c92a2a" stroke-width="2"` : ""}`));
        if (x1 - x0 > label_w(label)) out.push(text(x0 + 4, y + 15, label, ` font-size="11" fill="#fff" pointer-events="none"`));
        else if (x1 - x0 > 22) out.push(text(x0 + 3, y + 15, String(s.cpu), ` font-size="11" fill="#fff" pointer-events="none"`));
      }
    }
    y += 30;
  }
  grid_bottom.push(y);

  // The moments that end the run.
  let marks = 0;
  const mark_line = (t: number, label: string, color: string) => {
    const x = X(t);
    const ly = y + 8 + marks * 14;
    out.push(`<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${top - 4}" y2="${ly - 10}" stroke="${color}" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    // Right-aligned at the line when the label fits to its left, else starting at it.
    const left = x - LABEL_W > label_w(label);
    out.push(text(left ? x - 4 : x + 4, ly, label, ` font-size="11" text-anchor="${left ? "end" : "start"}" fill="${color}" font-weight="600"`));
    marks++;
  };
  if (result.hang) mark_line(result.hang.detected_at_ns, `hang detected at ${fmt_s(result.hang.detected_at_ns)}`, "#c92a2a");
  for (const h of result.hang?.hung_tasks ?? []) if (h.blocked_since_ns >= tl.start) mark_line(h.blocked_since_ns, `${h.comm}/${h.pid} blocks in ${h.in}`, "#862e9c");
  if (result.bug) mark_line(result.bug.at_ns, `BUG at ${fmt_s(result.bug.at_ns)}`, "#862e9c");
  y += 6 + marks * 14;

  const defs =
    `<defs>` +
    `<pattern id="thr" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffc9c9"/><rect width="3" height="6" fill="#e03131"/></pattern>` +
    `<pattern id="off" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(-45)"><rect width="8" height="8" fill="rgba(52,58,64,0.25)"/><rect width="2" height="8" fill="rgba(52,58,64,0.55)"/></pattern>` +
    `</defs>`;
  const W = LABEL_W + PLOT_W + 12;
  return `<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" viewBox="0 0 ${W} ${y}" role="img" aria-label="timeline">${defs}${out.join("")}</svg>`;
}

function legend(): string {
  const item = (fill: string, label: string) =>
    `<span style="display:inline-flex;align-items:center;gap:5px;margin-right:14px"><svg width="18" height="11"><rect width="18" height="11" fill="${fill}"/></svg>${esc(label)}</span>`;
  return `<div class="note" style="margin:6px 0">${item("#d9480f", "RT task (FIFO/RR)")}${item("#1c7ed6", "NORMAL task")}${item("#e9ecef", "idle")}${item("#e03131", "rt_rq throttled")}${item("#343a40", "CPU offline")}${item("#7048e8", "notifier call")}${item("#f59f00", "hrtimer expiry")}${item("#495057", "wake-up")}</div>`;
}

// ---- the wait-for cycle ------------------------------------------------------------------

function node_color(name: string): string {
  if (name.startsWith("task ")) return "#1c7ed6";
  if (name.startsWith("rt_rq ")) return "#e03131";
  if (name.startsWith("hrtimer ")) return "#f08c00";
  if (name.startsWith("notifier ")) return "#7048e8";
  if (name.startsWith("cpu ")) return "#495057";
  return "#0c8599";
}

function wrap(s: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of s.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * The cycle as a loop: nodes top to bottom, each edge labelled with its
 * reason, and the last edge back to the top. With `closed` false (a chain of
 * waits with no cycle) the last edge goes down to one more node instead.
 */
export function render_cycle_svg(cycle: readonly CycleEdge[], closed = true): string {
  const NODE_W = 330;
  const NODE_H = 30;
  const GAP = 46;
  const X0 = 70;
  const names = cycle.map((e) => e.node);
  if (!closed && cycle.length > 0) names.push(cycle[cycle.length - 1]!.waits_for);
  const n = names.length;
  const out: string[] = [];
  const ny = (i: number) => 14 + i * (NODE_H + GAP);
  for (let i = 0; i < n; i++) {
    const y = ny(i);
    out.push(
      `<g class="node"><rect x="${X0}" y="${y}" width="${NODE_W}" height="${NODE_H}" rx="7" fill="${node_color(names[i]!)}"/>` +
        text(X0 + NODE_W / 2, y + 20, names[i]!, ` font-size="14" font-weight="600" fill="#fff" text-anchor="middle"`) +
        `</g>`,
    );
    if (i < n - 1) {
      const y1 = y + NODE_H;
      const y2 = ny(i + 1);
      out.push(`<line x1="${X0 + NODE_W / 2}" y1="${y1 + 2}" x2="${X0 + NODE_W / 2}" y2="${y2 - 3}" stroke="#343a40" stroke-width="1.6" marker-end="url(#arrow)"/>`);
      wrap(cycle[i]!.because, 92)
        .slice(0, 3)
        .forEach((l, k) => out.push(text(X0 + NODE_W / 2 + 14, y1 + 15 + k * 14, l, ` font-size="12" fill="#343a40" class="because"`)));
    }
  }
  // The closing edge: from the last node round the left side back into the first.
  const last = closed ? cycle[n - 1] : undefined;
  if (last) {
    const yl = ny(n - 1) + NODE_H / 2;
    const yf = ny(0) + NODE_H / 2;
    out.push(`<path d="M${X0} ${yl} H${X0 - 40} V${yf} H${X0 - 3}" fill="none" stroke="#c92a2a" stroke-width="1.8" marker-end="url(#arrow-red)"/>`);
    const yb = ny(n - 1) + NODE_H + 18;
    out.push(text(X0 - 40, yb, `and ${last.node} waits for ${last.waits_for}:`, ` font-size="12" font-weight="600" fill="#c92a2a"`));
    wrap(last.because, 120).forEach((l, k) => out.push(text(X0 - 40, yb + 15 + k * 14, l, ` font-size="12" fill="#c92a2a" class="because"`)));
  }
  const H = ny(n - 1) + NODE_H + 18 + 15 + wrap(last?.because ?? "", 120).length * 14 + 10;
  const defs =
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#343a40"/></marker>` +
    `<marker id="arrow-red" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="#c92a2a"/></marker></defs>`;
  const label = closed ? "wait-for cycle" : "wait-for chain";
  return `<svg id="cycle" xmlns="http://www.w3.org/2000/svg" width="1000" height="${H}" viewBox="0 0 1000 ${H}" role="img" aria-label="${label}">${defs}${out.join("")}</svg>`;
}

// ---- tables -------------------------------------------------------------------------------

const MAX_OPS = 200;
const MAX_TASKS = 200;

function hotplug_table(result: RunResult): string {
  const ops = result.hotplug;
  if (ops.length === 0) return `<p class="note">No hotplug operations.</p>`;
  const shown = ops.slice(-MAX_OPS);
  const first = ops.length - shown.length;
  const rows = shown.map((op, i) => {
    const by_event = new Map<string, string[]>();
    for (const n of op.notifications) {
      const l = by_event.get(n.event) ?? [];
      l.push(`${n.notifier} ${n.ret}`);
      by_event.set(n.event, l);
    }
    const notes = [...by_event].map(([ev, l]) => `<div><b class="mono">${esc(ev)}</b>: <span class="mono">${esc(l.join(", "))}</span></div>`).join("");
    const cls = op.result === "ok" ? "" : ` style="color:${op.result === "incomplete" ? "#c92a2a" : "#e8590c"};font-weight:600"`;
    return `<tr><td class="n">${first + i + 1}</td><td class="mono">${esc(op.op)}</td><td class="n">${op.cpu}</td><td class="n">${op.from_cpu}</td><td class="n">${esc(fmt_s(op.start_ns))}</td><td class="n">${op.end_ns === null ? "—" : esc(fmt_s(op.end_ns))}</td><td${cls}>${esc(op.result)}</td><td>${notes}</td></tr>`;
  });
  const more = first > 0 ? `<p class="note">The last ${MAX_OPS} of ${fmt_count(ops.length)} operations.</p>` : "";
  return `${more}<table><thead><tr><th>#</th><th>op</th><th>cpu</th><th>from</th><th>start</th><th>end</th><th>result</th><th>notifier calls (event: notifier ret)</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function tasks_table(result: RunResult): string {
  const shown = result.tasks.slice(0, MAX_TASKS);
  const rows = shown.map(
    (t) =>
      `<tr><td class="n">${t.pid}</td><td class="mono">${esc(t.comm)}</td><td>${esc(t.policy)}</td><td class="n">${t.priority}</td><td class="n">${t.cpu}</td><td>${esc(t.state)}</td><td class="n">${esc(fmt_len(t.runtime_ns))}</td></tr>`,
  );
  const more = result.tasks.length > shown.length ? `<p class="note">The first ${MAX_TASKS} of ${result.tasks.length} tasks.</p>` : "";
  return `${more}<table><thead><tr><th>pid</th><th>comm</th><th>policy</th><th>priority</th><th>cpu</th><th>state</th><th>runtime</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function summary(result: RunResult): string {
  const card = (k: string, v: string) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`;
  const s = result.stats;
  const cards = [
    card("outcome", result.outcome),
    card("seed", String(result.seed)),
    card("simulated", fmt_len(result.simulated_ns)),
    card("engine events", fmt_count(result.events)),
    card("wall time", `${result.wall_ms} ms`),
    card("context switches", fmt_count(s.context_switches)),
    card("rt throttles", fmt_count(s.rt_throttles)),
    card("timer migrations", fmt_count(s.timer_migrations)),
    card("hotplug ops", fmt_count(s.hotplug_ops)),
  ];
  if (result.hang) cards.splice(3, 0, card("hang detected at", fmt_s(result.hang.detected_at_ns)));
  const cpus = result.cpus
    .map((c) => `<tr><td>CPU ${c.cpu}</td><td>${c.online ? "online" : "<b>offline</b>"}</td><td>${c.rt_throttled ? "<b style=\"color:#c92a2a\">yes</b>" : "no"}</td><td class="n">${esc(fmt_len(c.rt_time_ns))}</td></tr>`)
    .join("");
  return `<div class="cards">${cards.join("")}</div>
<table><thead><tr><th>cpu</th><th>state at the end</th><th>rt_throttled</th><th>rt_time</th></tr></thead><tbody>${cpus}</tbody></table>`;
}

/** Which kernel ran, and each subsystem's implementation. */
function kernel_section(result: RunResult): string {
  const rows = result.kernel.subsystems.map((s) => `<tr><td class="mono">${esc(s.name)}</td><td>${esc(s.implementation)}</td></tr>`).join("");
  return `<h2>Kernel: Linux ${esc(result.kernel.version)}</h2>
<table><thead><tr><th>subsystem</th><th>implementation</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function hang_section(result: RunResult): string {
  if (result.bug) return `<h2>BUG</h2><pre>${esc(`${fmt_s(result.bug.at_ns)}: ${result.bug.message}`)}</pre>`;
  if (!result.hang) return `<h2>Wait-for cycle</h2><p class="note">No hang: the run ended with outcome <b>${esc(result.outcome)}</b>.</p>`;
  const hung = result.hang.hung_tasks
    .map((t) => `<tr><td class="mono">${esc(t.comm)}</td><td class="n">${t.pid}</td><td>${esc(t.state)}</td><td class="mono">${esc(t.in)}</td><td class="n">${esc(fmt_s(t.blocked_since_ns))}</td></tr>`)
    .join("");
  const cycle = result.hang.cycle;
  const chain = result.hang.chain ?? [];
  const graph =
    cycle.length > 0
      ? `<p class="sub">Each node waits for the next; the last waits for the first, so none can make progress.</p><div class="scroll">${render_cycle_svg(cycle)}</div>`
      : chain.length > 0
        ? `<p class="note">No wait-for cycle was found from the hung tasks. Each node below waits for the next; no subsystem names a wait beyond the last.</p><div class="scroll">${render_cycle_svg(chain, false)}</div>`
        : `<p class="note">No wait-for cycle was found from the hung tasks.</p>`;
  return `<h2>Wait-for cycle</h2>${graph}
<h2>Hung tasks</h2><table><thead><tr><th>comm</th><th>pid</th><th>state</th><th>blocked in</th><th>blocked since</th></tr></thead><tbody>${hung}</tbody></table>`;
}

function window_note(w: TraceWindow, result: RunResult): string {
  const range = `${fmt_s(w.start_ns)} .. ${fmt_s(result.simulated_ns)}`;
  if (w.dropped_records === 0) {
    return `Timeline window: the whole run (${fmt_count(w.total_records)} trace records, ${range}); the report keeps at most the last ${fmt_count(w.max_records)} records before the end of a run.`;
  }
  return `Timeline window: the last ${fmt_count(w.max_records)} trace records before the end of the run (${range}); the ${fmt_count(w.dropped_records)} earlier records of ${fmt_count(w.total_records)} are left out, but the state they left (who runs, what is throttled or offline, where the timer is queued) is where the timeline starts.`;
}

/** A few lines for the timeline: hovering a shape shows its details in the box above it. */
const SCRIPT = `
(function () {
  var box = document.getElementById("hover");
  var svg = document.getElementById("timeline");
  if (!box || !svg) return;
  svg.addEventListener("mouseover", function (ev) {
    var el = ev.target;
    while (el && el !== svg) {
      var t = el.querySelector && el.querySelector(":scope > title");
      if (t) { box.textContent = t.textContent; return; }
      el = el.parentNode;
    }
  });
})();
`;

/**
 * The page for one run. `window` is the TraceCollector's window; without
 * one the page has the summary, cycle and tables but no timeline.
 */
export function render_html_report(result: RunResult, window?: TraceWindow): string {
  const title = `ksim: ${result.scenario} (seed ${result.seed}): ${result.outcome}`;
  const what =
    result.outcome === "hang" && result.hang
      ? `hang detected at ${fmt_s(result.hang.detected_at_ns)}`
      : result.outcome === "bug" && result.bug
        ? `BUG at ${fmt_s(result.bug.at_ns)}`
        : `ran ${fmt_len(result.simulated_ns)} without a hang`;
  const timeline = window
    ? `<h2>Timeline</h2>${legend()}<div class="note mono" id="hover" style="min-height:1.5em">Point at a slice, marker or bar for its details.</div><div class="scroll">${render_timeline(result, window)}</div><p class="note">${esc(window_note(window, result))} Long quiet stretches are drawn as breaks (≈ their length) so the action stays readable.</p>`
    : `<h2>Timeline</h2><p class="note">No trace was collected for this run.</p>`;
  const dmesg = result.dmesg.length > 0 ? `<h2>Kernel log</h2><pre>${esc(result.dmesg.slice(-60).join("\n"))}</pre>` : "";
  const body = `<h1>${esc(result.scenario)} <span class="badge ${esc(result.outcome)}">${esc(result.outcome.toUpperCase())}</span></h1>
<p class="sub">ksim ${esc(result.ksim)} · Linux ${esc(result.kernel.version)} · seed ${result.seed} · ${esc(what)}</p>
${summary(result)}
${kernel_section(result)}
${timeline}
${hang_section(result)}
<h2>Hotplug log</h2>
${hotplug_table(result)}
${dmesg}
<h2>Tasks at the end</h2>
${tasks_table(result)}
<p class="note">Replay: <code>ksim run ${esc(result.scenario)} --seed ${result.seed}</code></p>`;
  return html_page(title, body, "", SCRIPT);
}
