/**
 * `ksim compare --html FILE`: one self-contained page with the two
 * campaigns' Kaplan–Meier curves of time to hang (inline SVG, with
 * Greenwood 95% bands and a tick where a seed was censored), the counts, the
 * medians and the log-rank test. The input is the `ksim compare --json`
 * document.
 */
import { nice_time_max, secs } from "./campaign-html.js";
import type { CompareReport, CompareSide, SurvivalPoint } from "./compare.js";
import { compare_verdict, fmt_p } from "./compare-text.js";
import { esc, fmt_count, fmt_len, html_page } from "./html.js";

const W = 1000;
const H = 420;
const PAD_L = 64;
const PAD_R = 24;
const TOP = 18;
const BOTTOM = H - 44;
const COLOR = { a: "#c92a2a", b: "#1864ab" } as const;
/** The normal quantile of a two-sided 95% band. */
const Z95 = 1.959964;

interface Axes {
  X: (ns: number) => number;
  Y: (s: number) => number;
  xmax: number;
}

function label(x: number, y: number, s: string, attrs: string): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs}>${esc(s)}</text>`;
}

function axes_of(r: CompareReport): Axes {
  const last = Math.max(1, ...r.curves.flatMap((c) => c.points.map((p) => p.t_ns)));
  const xmax = nice_time_max(last);
  return { xmax, X: (ns) => PAD_L + (ns / xmax) * (W - PAD_L - PAD_R), Y: (s) => BOTTOM - s * (BOTTOM - TOP) };
}

function grid(ax: Axes): string {
  const out: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const y = ax.Y(k / 4);
    out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e9ecef"/>`);
    out.push(label(PAD_L - 6, y + 4, `${k * 25}%`, ` font-size="11" text-anchor="end" fill="#59636e"`));
  }
  for (let k = 0; k <= 6; k++) {
    const v = (ax.xmax * k) / 6;
    out.push(label(ax.X(v), BOTTOM + 16, secs(v, ax.xmax), ` font-size="11" text-anchor="middle" fill="#59636e"`));
  }
  out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${BOTTOM}" y2="${BOTTOM}" stroke="#868e96"/>`);
  out.push(label(PAD_L + (W - PAD_L - PAD_R) / 2, H - 8, "time (simulated)", ` font-size="12" text-anchor="middle" fill="#343a40"`));
  const mid = TOP + (BOTTOM - TOP) / 2;
  out.push(label(14, mid, "runs not yet hung", ` font-size="12" text-anchor="middle" fill="#343a40" transform="rotate(-90 14 ${mid})"`));
  return out.join("");
}

/** The step function S(t), held to the curve's last time. */
function step_path(points: readonly SurvivalPoint[], ax: Axes): string {
  let d = `M${ax.X(0).toFixed(1)} ${ax.Y(points[0]!.survival).toFixed(1)}`;
  for (const p of points.slice(1)) d += ` H${ax.X(p.t_ns).toFixed(1)} V${ax.Y(p.survival).toFixed(1)}`;
  return d;
}

/** Greenwood's pointwise 95% band, S ± 1.96·se clipped to [0, 1], as one closed shape. */
function band_path(points: readonly SurvivalPoint[], ax: Axes): string {
  const clip = (v: number) => Math.min(1, Math.max(0, v));
  const upper: string[] = [];
  const lower: string[] = [];
  points.forEach((p, i) => {
    const next = points[i + 1]?.t_ns ?? p.t_ns;
    const hi = ax.Y(clip(p.survival + Z95 * p.std_err)).toFixed(1);
    const lo = ax.Y(clip(p.survival - Z95 * p.std_err)).toFixed(1);
    upper.push(`${ax.X(p.t_ns).toFixed(1)} ${hi}`, `${ax.X(next).toFixed(1)} ${hi}`);
    lower.push(`${ax.X(p.t_ns).toFixed(1)} ${lo}`, `${ax.X(next).toFixed(1)} ${lo}`);
  });
  return `M${upper.join(" L")} L${lower.reverse().join(" L")} Z`;
}

function curve(side: "a" | "b", points: readonly SurvivalPoint[], ax: Axes): string {
  const color = COLOR[side];
  const ticks = points
    .filter((p) => p.censored > 0)
    .map((p) => {
      const x = ax.X(p.t_ns).toFixed(1);
      const y = ax.Y(p.survival);
      const title = `${side.toUpperCase()}: ${p.censored} seed(s) stopped without a hang at ${fmt_len(p.t_ns)}`;
      return `<line class="censor" x1="${x}" x2="${x}" y1="${(y - 6).toFixed(1)}" y2="${(y + 6).toFixed(1)}" stroke="${color}" stroke-width="2"><title>${esc(title)}</title></line>`;
    });
  const steps = points
    .filter((p) => p.events > 0)
    .map((p) => {
      const title = `${side.toUpperCase()}: ${p.events} hang(s) at ${fmt_len(p.t_ns)} of ${p.at_risk} at risk; S = ${(100 * p.survival).toFixed(1)}%`;
      return `<circle class="step" cx="${ax.X(p.t_ns).toFixed(1)}" cy="${ax.Y(p.survival).toFixed(1)}" r="3" fill="${color}"><title>${esc(title)}</title></circle>`;
    });
  return [
    `<path class="band" d="${band_path(points, ax)}" fill="${color}" fill-opacity="0.10" stroke="none"/>`,
    `<path id="curve-${side}" class="curve" d="${step_path(points, ax)}" fill="none" stroke="${color}" stroke-width="2.2"/>`,
    ...ticks,
    ...steps,
  ].join("");
}

function survival_chart(r: CompareReport): string {
  const ax = axes_of(r);
  const body = grid(ax) + curve("a", r.curves[0].points, ax) + curve("b", r.curves[1].points, ax);
  return `<svg id="survival" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="Kaplan–Meier survival of the time to hang, A and B">${body}</svg>`;
}

function side_table(r: CompareReport): string {
  const time = (ns: number | null) => (ns === null ? "—" : fmt_len(ns));
  const row = (name: "A" | "B", s: CompareSide, i: 0 | 1) =>
    `<tr><th style="color:${COLOR[name === "A" ? "a" : "b"]}">${name}</th><td><code>${esc(s.file)}</code></td><td class="n">${fmt_count(s.runs)}</td><td class="n">${fmt_count(s.hang)}</td><td class="n">${fmt_count(s.ok)}</td><td class="n">${fmt_count(s.bug)}</td><td class="n">${fmt_count(s.error)}</td><td class="n">${(100 * r.hang_fraction[i]).toFixed(1)}%</td><td class="n">${esc(time(r.median_time_to_hang_ns[i]))}</td><td class="n">${fmt_count(r.logrank.observed[i])} / ${r.logrank.expected[i].toFixed(2)}</td></tr>`;
  return `<table id="sides"><thead><tr><th></th><th>results file</th><th>runs</th><th>hang</th><th>ok</th><th>bug</th><th>error</th><th>hang fraction</th><th>median time to hang</th><th>hangs observed / expected if alike</th></tr></thead><tbody>${row("A", r.a, 0)}${row("B", r.b, 1)}</tbody></table>`;
}

function legend(r: CompareReport): string {
  const item = (side: "a" | "b", s: CompareSide) =>
    `<span class="key"><svg width="22" height="10"><line x1="0" x2="22" y1="5" y2="5" stroke="${COLOR[side]}" stroke-width="2.2"/></svg>${side.toUpperCase()}: ${esc(s.file)}</span>`;
  return `<div class="note">${item("a", r.a)} ${item("b", r.b)}</div>`;
}

/** The comparison page: one self-contained HTML document. */
export function render_compare_html(r: CompareReport): string {
  const card = (k: string, v: string) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`;
  const med = (ns: number | null) => (ns === null ? "not reached" : fmt_len(ns));
  const cards = [
    card("hang fraction A / B", `${(100 * r.hang_fraction[0]).toFixed(1)}% / ${(100 * r.hang_fraction[1]).toFixed(1)}%`),
    card("median time to hang A", med(r.median_time_to_hang_ns[0])),
    card("median time to hang B", med(r.median_time_to_hang_ns[1])),
    card("log-rank chi²", r.logrank.chi2.toFixed(2)),
    card("p", fmt_p(r.logrank.p)),
  ];
  const body = `<h1>ksim compare: ${esc(r.a.file)} against ${esc(r.b.file)}</h1>
<p class="sub">ksim ${esc(r.ksim)} · <span id="verdict">${esc(compare_verdict(r))}</span></p>
<div class="cards">${cards.join("")}</div>
<h2>Time to hang (Kaplan–Meier)</h2>
${legend(r)}
<div class="scroll">${survival_chart(r)}</div>
<p class="note">Each curve is the estimated fraction of runs not yet hung by that time. A dot is a time at which seeds hung; a tick, seeds that stopped without a hang (ok at the end of their duration, or ended by a BUG) and count as censored there; the shaded band is Greenwood's pointwise 95% interval. Seeds with outcome error are left out. The log-rank test (chi-square, 1 degree of freedom) asks whether both campaigns share one hazard of hanging.</p>
<h2>Campaigns</h2>
${side_table(r)}`;
  return html_page(`ksim compare: ${r.a.file} against ${r.b.file}`, body, ".key { display:inline-flex; align-items:center; gap:6px; margin-right:18px; }");
}
