/**
 * `ksim stress --html FILE`: one self-contained page for a stress campaign:
 * the time to hang of every seed, how those times are distributed
 * (histogram and cumulative fraction of runs hung), and the table of runs.
 * The input is the document of `ksim stress --json` (CONTRACT.md §3).
 */
import type { Outcome } from "@ksim/scenario";
import { esc, fmt_count, fmt_len, html_page } from "./html.js";

/** One seed of a campaign: a line of `--out FILE.jsonl` (the stress command's SeedResult fits). */
export interface CampaignSeedResult {
  seed: number;
  /** "error": ksim itself failed on that seed. */
  outcome: Outcome | "error";
  /** When the hang was detected; null for other outcomes (a bug is drawn at the end of its run). */
  detected_at_ns: number | null;
  simulated_ns: number;
  wall_ms: number;
  events: number;
  /** The hang's wait-for cycle, node names with pids removed. */
  cycle?: string[];
  /** The BUG message, for outcome bug. */
  bug?: string;
  /** The internal error, for outcome error. */
  error?: string;
}

/** The campaign: the `ksim stress --json` document (the stress command's CampaignSummary fits). */
export interface CampaignSummary {
  ksim?: string;
  scenario: string;
  runs: number;
  ok: number;
  hang: number;
  bug: number;
  error?: number;
  /** Totals over the runs. */
  simulated_ns: number;
  events: number;
  wall_ms: number;
  results: CampaignSeedResult[];
  /** The outcome every seed should have (default ok), if the caller knows it. */
  expected?: Outcome;
}

const OUTCOME_COLOR: Record<string, string> = { ok: "#8ce99a", hang: "#e03131", bug: "#9c36b5", error: "#868e96" };

/** The time a run stopped for its outcome: detection for a hang, the end of the run otherwise (a bug ends it). */
function stop_time(r: CampaignSeedResult): number {
  return r.outcome === "hang" ? (r.detected_at_ns ?? r.simulated_ns) : r.simulated_ns;
}

/** Runs that failed (hang or bug): the ones with a time to hang. */
function failed(r: CampaignSeedResult): boolean {
  return r.outcome === "hang" || r.outcome === "bug";
}
const MAX_ROWS = 2000;
const W = 1000;
const PAD_L = 64;
const PAD_R = 56;

function nice_max(v: number): number {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** A round axis maximum in the unit the axis will be labelled in (12 h stays 12 h, not 13.9 h). */
export function nice_time_max(ns: number): number {
  const unit = ns >= 3 * 3600e9 ? 3600e9 : ns >= 3 * 60e9 ? 60e9 : 1e9;
  return nice_max(ns / unit) * unit;
}

/** An axis label in the unit that suits the axis's maximum (s, min or h), with the decimals its ticks need. */
export function secs(ns: number, max_ns: number): string {
  const [unit, name] = max_ns >= 3 * 3600e9 ? [3600e9, "h"] : max_ns >= 3 * 60e9 ? [60e9, "min"] : [1e9, "s"];
  const m = max_ns / unit;
  const d = m >= 40 ? 0 : m >= 4 ? 1 : m >= 0.4 ? 2 : 3;
  return `${(ns / unit).toFixed(d)} ${name}`;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

function t(x: number, y: number, s: string, attrs = ""): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs}>${esc(s)}</text>`;
}

/** Time to hang per seed: a bar (or a dot, for many seeds) per run. */
function per_seed_chart(results: readonly CampaignSeedResult[]): string {
  const H = 290;
  const top = 18;
  const bottom = H - 40;
  const plot_w = W - PAD_L - PAD_R;
  const rs = [...results].sort((a, b) => a.seed - b.seed);
  const value = stop_time;
  const ymax = nice_time_max(Math.max(1, ...rs.map(value)));
  const Y = (ns: number) => bottom - (ns / ymax) * (bottom - top);
  const out: string[] = [];
  for (let k = 0; k <= 4; k++) {
    const v = (ymax * k) / 4;
    const y = Y(v);
    out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e9ecef"/>`);
    out.push(t(PAD_L - 6, y + 4, secs(v, ymax), ` font-size="11" text-anchor="end" fill="#59636e"`));
  }
  const n = rs.length;
  const slot = plot_w / Math.max(1, n);
  const bars = n <= 150;
  rs.forEach((r, i) => {
    const cx = PAD_L + slot * (i + 0.5);
    const v = value(r);
    const what = r.outcome === "hang" ? ` detected at ${fmt_len(v)}` : r.outcome === "bug" ? ` at ${fmt_len(v)}: ${r.bug ?? ""}` : r.outcome === "error" ? `: ${r.error ?? ""}` : `, ran ${fmt_len(v)}`;
    const title = `seed ${r.seed}: ${r.outcome}${what} (${fmt_count(r.events)} events, ${r.wall_ms} ms)`;
    const fill = OUTCOME_COLOR[r.outcome] ?? "#868e96";
    if (bars) {
      const bw = Math.max(1, slot * 0.72);
      out.push(`<rect class="seed ${esc(r.outcome)}" x="${(cx - bw / 2).toFixed(2)}" y="${Y(v).toFixed(1)}" width="${bw.toFixed(2)}" height="${Math.max(1, bottom - Y(v)).toFixed(1)}" fill="${fill}"><title>${esc(title)}</title></rect>`);
    } else {
      out.push(`<circle class="seed ${esc(r.outcome)}" cx="${cx.toFixed(2)}" cy="${Y(v).toFixed(1)}" r="2.6" fill="${fill}"><title>${esc(title)}</title></circle>`);
    }
  });
  // Seed labels: all when they fit, else about twelve.
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(plot_w / 34))));
  rs.forEach((r, i) => {
    const last = i === n - 1;
    if (i % every !== 0 && !(last && (n - 1) % every >= every / 2)) return;
    out.push(t(PAD_L + slot * (i + 0.5), bottom + 14, String(r.seed), ` font-size="10.5" text-anchor="middle" fill="#59636e"`));
  });
  out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${bottom}" y2="${bottom}" stroke="#868e96"/>`);
  out.push(t(PAD_L + plot_w / 2, H - 6, "seed", ` font-size="12" text-anchor="middle" fill="#343a40"`));
  out.push(t(14, top + (bottom - top) / 2, "time to hang (simulated)", ` font-size="12" text-anchor="middle" fill="#343a40" transform="rotate(-90 14 ${top + (bottom - top) / 2})"`));
  return `<svg id="per-seed" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="time to hang per seed">${out.join("")}</svg>`;
}

/** Histogram of the times to hang, with the fraction of all runs hung by each time. */
function distribution_chart(results: readonly CampaignSeedResult[]): string {
  const H = 270;
  const top = 18;
  const bottom = H - 40;
  const plot_w = W - PAD_L - PAD_R;
  const times = results
    .filter(failed)
    .map(stop_time)
    .sort((a, b) => a - b);
  const out: string[] = [];
  if (times.length === 0) {
    out.push(t(W / 2, H / 2, "No seed hung: nothing to plot.", ` font-size="14" text-anchor="middle" fill="#2f9e44"`));
    return `<svg id="distribution" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${out.join("")}</svg>`;
  }
  const xmax = nice_time_max(times[times.length - 1]!);
  const nbins = Math.min(30, Math.max(6, Math.ceil(Math.sqrt(times.length) * 2)));
  const bw_ns = xmax / nbins;
  const bins = new Array<number>(nbins).fill(0);
  for (const v of times) bins[Math.min(nbins - 1, Math.floor(v / bw_ns))]!++;
  const cmax = Math.max(1, ...bins);
  const X = (ns: number) => PAD_L + (ns / xmax) * plot_w;
  const Yc = (c: number) => bottom - (c / cmax) * (bottom - top);
  const Yf = (f: number) => bottom - f * (bottom - top);
  for (let k = 0; k <= 4; k++) {
    const y = Yf(k / 4);
    out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" stroke="#e9ecef"/>`);
    out.push(t(W - PAD_R + 6, y + 4, `${k * 25}%`, ` font-size="11" fill="#1864ab"`));
    out.push(t(PAD_L - 6, y + 4, String(Math.round((cmax * k) / 4)), ` font-size="11" text-anchor="end" fill="#59636e"`));
  }
  bins.forEach((c, i) => {
    if (c === 0) return;
    const x0 = X(i * bw_ns);
    const x1 = X((i + 1) * bw_ns);
    out.push(`<rect class="bin" x="${(x0 + 1).toFixed(1)}" y="${Yc(c).toFixed(1)}" width="${Math.max(1, x1 - x0 - 2).toFixed(1)}" height="${(bottom - Yc(c)).toFixed(1)}" fill="#ffa8a8"><title>${esc(`${c} run(s) hung between ${fmt_len(i * bw_ns)} and ${fmt_len((i + 1) * bw_ns)}`)}</title></rect>`);
  });
  // Empirical CDF over all runs: ok runs never reach 100%.
  const total = results.length;
  let d = `M${X(0).toFixed(1)} ${Yf(0).toFixed(1)}`;
  times.forEach((v, i) => {
    d += ` H${X(v).toFixed(1)} V${Yf((i + 1) / total).toFixed(1)}`;
  });
  d += ` H${X(xmax).toFixed(1)}`;
  out.push(`<path id="cdf" d="${d}" fill="none" stroke="#1864ab" stroke-width="2"/>`);
  for (let k = 0; k <= 5; k++) {
    const v = (xmax * k) / 5;
    out.push(t(X(v), bottom + 15, secs(v, xmax), ` font-size="11" text-anchor="middle" fill="#59636e"`));
  }
  out.push(`<line x1="${PAD_L}" x2="${W - PAD_R}" y1="${bottom}" y2="${bottom}" stroke="#868e96"/>`);
  out.push(t(PAD_L + plot_w / 2, H - 6, "time to hang (simulated)", ` font-size="12" text-anchor="middle" fill="#343a40"`));
  out.push(t(14, top + (bottom - top) / 2, "runs per bin", ` font-size="12" text-anchor="middle" fill="#343a40" transform="rotate(-90 14 ${top + (bottom - top) / 2})"`));
  out.push(t(W - 12, top + (bottom - top) / 2, "runs hung by then", ` font-size="12" text-anchor="middle" fill="#1864ab" transform="rotate(90 ${W - 12} ${top + (bottom - top) / 2})"`));
  return `<svg id="distribution" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="distribution of the time to hang">${out.join("")}</svg>`;
}

function runs_table(results: readonly CampaignSeedResult[], scenario: string): string {
  const rs = [...results].sort((a, b) => a.seed - b.seed);
  const shown = rs.slice(0, MAX_ROWS);
  const rows = shown.map((r) => {
    const color = r.outcome === "ok" ? "#2f9e44" : r.outcome === "hang" ? "#c92a2a" : r.outcome === "bug" ? "#862e9c" : "#495057";
    const note = r.bug ?? r.error;
    return `<tr><td class="n">${r.seed}</td><td style="color:${color};font-weight:600"${note ? ` title="${esc(note)}"` : ""}>${esc(r.outcome)}</td><td class="n">${failed(r) ? esc(fmt_len(stop_time(r))) : "—"}</td><td class="n">${esc(fmt_len(r.simulated_ns))}</td><td class="n">${fmt_count(r.events)}</td><td class="n">${r.wall_ms}</td><td><code>ksim run ${esc(scenario)} --seed ${r.seed}</code></td></tr>`;
  });
  const more = rs.length > shown.length ? `<p class="note">The first ${MAX_ROWS} of ${fmt_count(rs.length)} runs, by seed.</p>` : "";
  return `${more}<table><thead><tr><th>seed</th><th>outcome</th><th>time to hang</th><th>simulated</th><th>events</th><th>wall ms</th><th>replay</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The campaign page: one self-contained HTML document. */
export function render_campaign_html(summary: CampaignSummary): string {
  const times = summary.results
    .filter(failed)
    .map(stop_time)
    .sort((a, b) => a - b);
  const card = (k: string, v: string) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`;
  const seeds = summary.results.map((r) => r.seed);
  const range = seeds.length > 0 ? `${Math.min(...seeds)}..${Math.max(...seeds)}` : "none";
  const cards = [
    card("runs", fmt_count(summary.runs)),
    card("ok", fmt_count(summary.ok)),
    card("hang", fmt_count(summary.hang)),
    card("bug", fmt_count(summary.bug)),
    ...(summary.error ? [card("error", fmt_count(summary.error))] : []),
    ...(times.length > 0
      ? [card("median time to hang", fmt_len(quantile(times, 0.5))), card("fastest", fmt_len(times[0]!)), card("slowest", fmt_len(times[times.length - 1]!))]
      : []),
    card("simulated in total", fmt_len(summary.simulated_ns)),
    card("engine events", fmt_count(summary.events)),
    card("wall time", `${(summary.wall_ms / 1000).toFixed(2)} s`),
  ];
  const expected = summary.expected ?? "ok";
  const met = summary.results.filter((r) => r.outcome === expected).length;
  const verdict = `${met} of ${summary.results.length} seeds met the expected outcome (${expected})`;
  const legend = ["ok", "hang", "bug"]
    .map((o) => `<span style="display:inline-flex;align-items:center;gap:5px;margin-right:14px"><svg width="14" height="11"><rect width="14" height="11" fill="${OUTCOME_COLOR[o]}"/></svg>${o}${o === "ok" ? " (bar: the whole run)" : ""}</span>`)
    .join("");
  const body = `<h1>Stress campaign: ${esc(summary.scenario)}</h1>
<p class="sub">${summary.ksim ? `ksim ${esc(summary.ksim)} · ` : ""}seeds ${esc(range)} · ${esc(verdict)}</p>
<div class="cards">${cards.join("")}</div>
<h2>Time to hang per seed</h2>
<div class="note">${legend}</div>
<div class="scroll">${per_seed_chart(summary.results)}</div>
<h2>Distribution of the time to hang</h2>
<p class="note">Bars: how many runs hung in each interval. Line: the fraction of all ${fmt_count(summary.results.length)} runs hung by that time (runs that stayed ok keep it below 100%). Times are when the hang was detected (khungtaskd reports after hung_task_timeout_secs), or when a BUG ended the run.</p>
<div class="scroll">${distribution_chart(summary.results)}</div>
<h2>Runs</h2>
${runs_table(summary.results, summary.scenario)}`;
  return html_page(`ksim stress: ${summary.scenario}`, body);
}
