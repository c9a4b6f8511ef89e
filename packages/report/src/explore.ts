/**
 * `ksim explore`'s report (CONTRACT.md §5): the space, its outcome classes
 * with every combination that gives each and the smallest witness, as text
 * and as a self-contained HTML page whose grid shows two dimensions.
 */
import type { ExploreValue, Outcome } from "@ksim/scenario";
import { esc, fmt_count, html_page } from "./html.js";
import { ExitCode } from "./result.js";

export interface ExploreDimension {
  path: string;
  values: ExploreValue[];
}

/** What replays a class: the combination's `--set`s and the scenario's `tie_order`. */
export interface ExploreWitness {
  sets: string[];
  ties: string[];
  /** The witness scenario file, when one was written. */
  file?: string;
}

export interface ExploreClass {
  /** "error": ksim itself failed (see `message`). */
  outcome: Outcome | "error";
  /** Runs (tie orders included) that ended in this class. */
  count: number;
  /** The wait-for cycle of a hang, node names without pids. */
  cycle: string[];
  /** The BUG message (bug) or the internal error (error). */
  message?: string;
  /** Every combination for which some tie order gives this class. */
  combinations: Record<string, ExploreValue>[];
  witness: ExploreWitness;
  /** The one dimension this class depends on, in one line; null when none alone. */
  split: string | null;
}

export interface ExploreReport {
  ksim: string;
  scenario: string;
  /** Machine runs, pruned tie orders included. */
  runs: number;
  /** Distinct final states of the runs that ended. */
  distinct_states: number;
  /** Every combination and tie order covered. */
  complete: boolean;
  expected: Outcome;
  dimensions: ExploreDimension[];
  ties: boolean;
  /** Combinations in the space, and how many were explored. */
  combinations: number;
  explored: number;
  /** Tie orders not run to the end: their state was reached before, or they commute with an order already run. */
  pruned: { state_seen: number; commuting: number };
  wall_ms: number;
  classes: ExploreClass[];
}

/** One line naming a class: "hang (task cpuhp-stress -> ...)", "bug: message", "ok". */
export function class_title(c: ExploreClass): string {
  if (c.outcome === "hang") return `hang: ${c.cycle.join(" -> ")}`;
  if (c.outcome === "bug" || c.outcome === "error") return `${c.outcome}: ${c.message ?? ""}`;
  return c.outcome;
}

/** Exit status: 0 when every run met the expected outcome. */
export function explore_exit_code(r: ExploreReport): ExitCode {
  return r.classes.every((c) => c.outcome === r.expected) ? ExitCode.OK : ExitCode.UNEXPECTED;
}

function plural(n: number, what: string): string {
  return `${fmt_count(n)} ${what}${n === 1 ? "" : "s"}`;
}

/** The text report: the space, each class with its table of combinations and witness. */
export function format_explore_text(r: ExploreReport, replay: (w: ExploreWitness) => string): string {
  const lines: string[] = [];
  const dims = r.dimensions.map((d) => `${d.path} (${d.values.length})`).join(" x ") || "the scenario as it is";
  lines.push(`${r.scenario}: explored ${dims}${r.ties ? ", every tie order" : ""}`);
  lines.push(
    `${fmt_count(r.explored)} of ${fmt_count(r.combinations)} combinations, ${fmt_count(r.runs)} runs, ${fmt_count(r.distinct_states)} distinct final states; ` +
      `pruned ${fmt_count(r.pruned.state_seen)} tie orders at a state already seen, ${fmt_count(r.pruned.commuting)} commuting; ` +
      `${r.complete ? "complete" : "NOT complete (--max-runs)"}; ${(r.wall_ms / 1000).toFixed(1)} s`,
  );
  for (const c of r.classes) {
    lines.push("");
    lines.push(`${class_title(c)}: ${plural(c.count, "run")}, ${plural(c.combinations.length, "combination")}${c.outcome === r.expected ? "" : `  (expected ${r.expected})`}`);
    if (c.split) lines.push(`  ${c.split}`);
    lines.push(...combination_table(r.dimensions, c.combinations).map((l) => `  ${l}`));
    lines.push(`  witness: ${replay(c.witness)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The combinations as a table, at most 20 rows shown. */
function combination_table(dims: readonly ExploreDimension[], combos: readonly Record<string, ExploreValue>[]): string[] {
  if (dims.length === 0) return [];
  const rows = combos.slice(0, 20).map((c) => dims.map((d) => String(c[d.path])));
  const head = dims.map((d) => d.path);
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((x, i) => x.padEnd(w[i]!)).join("  ").trimEnd();
  const out = [line(head), ...rows.map(line)];
  if (combos.length > rows.length) out.push(`... and ${combos.length - rows.length} more (--json lists them all)`);
  return out;
}

const GRID_CSS = `
table.grid { border-collapse: collapse; font-size: 11px; }
table.grid td, table.grid th { border: 1px solid var(--line); padding: 0; text-align: center; min-width: 14px; height: 16px; }
table.grid th { background: var(--panel); padding: 1px 4px; font-weight: 500; white-space: nowrap; }
table.grid a { display: block; width: 100%; height: 100%; text-decoration: none; color: #fff; }
.c0 { background: var(--ok); } .c1 { background: var(--hang); } .c2 { background: var(--bug); } .c3 { background: #f08c00; } .c4 { background: #1c7ed6; } .mixed { background: repeating-linear-gradient(45deg, var(--hang), var(--hang) 3px, var(--ok) 3px, var(--ok) 6px); }
.legend span { display: inline-block; width: 14px; height: 14px; vertical-align: -2px; margin-right: 4px; }
pre { background: var(--panel); border: 1px solid var(--line); padding: 8px; overflow-x: auto; }
`;

function cell_key(values: readonly ExploreValue[]): string {
  return values.map(String).join("\u0001");
}

/** Class indices per (x, y) cell, over every other dimension. */
function grid_cells(r: ExploreReport, xd: number, yd: number): Map<string, Set<number>> {
  const cells = new Map<string, Set<number>>();
  r.classes.forEach((c, ci) => {
    for (const combo of c.combinations) {
      const x = xd >= 0 ? combo[r.dimensions[xd]!.path]! : "";
      const y = yd >= 0 ? combo[r.dimensions[yd]!.path]! : "";
      const k = cell_key([x, y]);
      if (!cells.has(k)) cells.set(k, new Set());
      cells.get(k)!.add(ci);
    }
  });
  return cells;
}

function grid_table(r: ExploreReport, xd: number, yd: number): string {
  const cells = grid_cells(r, xd, yd);
  const xs = xd >= 0 ? r.dimensions[xd]!.values : [""];
  const ys = yd >= 0 ? r.dimensions[yd]!.values : [""];
  const head = `<tr><th>${esc(yd >= 0 ? r.dimensions[yd]!.path : "")} \\ ${esc(xd >= 0 ? r.dimensions[xd]!.path : "")}</th>${xs.map((x) => `<th>${esc(x)}</th>`).join("")}</tr>`;
  const rows = ys.map((y) => {
    const tds = xs.map((x) => {
      const set = cells.get(cell_key([x, y]));
      if (!set) return "<td></td>";
      const ids = [...set];
      const cls = ids.length > 1 ? "mixed" : `c${class_color(r, ids[0]!)}`;
      const title = ids.map((i) => class_title(r.classes[i]!)).join(" | ");
      return `<td class="${cls}" title="${esc(`${x} / ${y}: ${title}`)}"><a href="#class-${ids[0]}">&nbsp;</a></td>`;
    });
    return `<tr><th>${esc(y)}</th>${tds.join("")}</tr>`;
  });
  return `<table class="grid">${head}${rows.join("")}</table>`;
}

function class_color(r: ExploreReport, i: number): number {
  const c = r.classes[i]!;
  if (c.outcome === "ok") return 0;
  if (c.outcome === "bug") return 2;
  if (c.outcome === "error") return 3;
  // Hangs: the first hang class red, others in further colours.
  const hangs = r.classes.filter((x) => x.outcome === "hang");
  return hangs.indexOf(c) === 0 ? 1 : 4;
}

function class_section(r: ExploreReport, c: ExploreClass, i: number, replay: (w: ExploreWitness) => string): string {
  const file = c.witness.file ? `<p>Witness scenario: <a href="${esc(c.witness.file)}">${esc(c.witness.file)}</a></p>` : "";
  return `<h2 id="class-${i}"><span class="legend"><span class="c${class_color(r, i)}"></span></span>${esc(class_title(c))}</h2>
<p class="sub">${fmt_count(c.count)} runs, ${fmt_count(c.combinations.length)} combinations${c.split ? `; ${esc(c.split)}` : ""}</p>
${file}<p>Replay:</p><pre>${esc(replay(c.witness))}</pre>`;
}

/**
 * The exploration as one page: the grid of two dimensions (`x`, `y`:
 * indices into `dimensions`, default the last two), each cell coloured by
 * the classes its combinations gave and linked to that class's witness.
 */
export function render_explore_html(r: ExploreReport, replay: (w: ExploreWitness) => string, axes?: { x: number; y: number }): string {
  const n = r.dimensions.length;
  const x = axes?.x ?? n - 1;
  const y = axes?.y ?? n - 2;
  const cards = [
    ["runs", fmt_count(r.runs)],
    ["combinations", `${fmt_count(r.explored)} / ${fmt_count(r.combinations)}`],
    ["distinct final states", fmt_count(r.distinct_states)],
    ["pruned (seen / commuting)", `${fmt_count(r.pruned.state_seen)} / ${fmt_count(r.pruned.commuting)}`],
    ["complete", r.complete ? "yes" : "no"],
  ]
    .map(([k, v]) => `<div class="card"><div class="k">${esc(k)}</div><div class="v">${esc(v)}</div></div>`)
    .join("");
  const body = `<h1>ksim explore: ${esc(r.scenario)}</h1>
<p class="sub">expected outcome: ${esc(r.expected)}${r.ties ? "; every order of simultaneous events" : ""}</p>
<div class="cards">${cards}</div>
<h2>The space</h2>
${grid_table(r, x < 0 ? -1 : x, y < 0 ? -1 : y)}
${r.classes.map((c, i) => class_section(r, c, i, replay)).join("\n")}`;
  return html_page(`ksim explore ${r.scenario}`, body, GRID_CSS);
}
