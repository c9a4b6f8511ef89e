/**
 * `ksim explore` (CONTRACT.md §5): the command's flags to a space, the run,
 * and its outputs (text or JSON, the HTML grid, witness scenario files).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { availableParallelism } from "node:os";
import { stringify as yaml_stringify } from "yaml";
import {
  masker,
  merge_dimensions,
  parse_queue_url,
  parse_sweep,
  parse_vary,
  section_dimensions,
  space_size,
  SpaceError,
  type Dimension,
} from "@ksim/campaign";
import { explore_exit_code, format_explore_text, render_explore_html, type ExploreReport, type ExploreWitness } from "@ksim/report";
import { load_scenario, ScenarioError, vary_scenario, type LoadedScenario, type Outcome } from "@ksim/scenario";
import { run_explore } from "./campaigns.js";
import { shell_quote } from "./cli_common.js";
import type { CliIo } from "./cli_io.js";

export interface ExploreFlags {
  vary?: string[];
  sweep?: string[];
  ties?: boolean;
  set?: string[];
  jobs?: number;
  maxRuns?: number;
  json?: boolean;
  html?: string;
  grid?: string;
  witnesses?: string;
  out?: string;
  resume?: boolean;
  expect?: Outcome;
  duration?: string;
  maxEvents?: number;
  maxWall?: number;
  queue?: string;
  block?: number;
}

/** The space: the scenario's `explore:` section, then --vary and --sweep (which replace a section's dimension of the same path). */
export function explore_dimensions(loaded: LoadedScenario, flags: ExploreFlags): Dimension[] {
  const section = loaded.spec.explore ? section_dimensions(loaded.spec.explore) : [];
  const extra = [...(flags.vary ?? []).map(parse_vary), ...(flags.sweep ?? []).map(parse_sweep)];
  const dims = merge_dimensions(section, extra);
  space_size(dims);
  // Every value must be one the scenario accepts: bad input fails before any run.
  for (const d of dims) {
    for (const v of d.values) vary_scenario(loaded, [`${d.path}=${String(v)}`]);
  }
  return dims;
}

/** The command that replays a witness. */
export function witness_command(ref: string, w: ExploreWitness): string {
  const parts = ["ksim run", shell_quote(ref), ...w.sets.map((s) => `--set ${shell_quote(s)}`)];
  if (w.ties.length > 0) parts.push(`--set ${shell_quote(`tie_order=${JSON.stringify(w.ties)}`)}`);
  return parts.join(" ");
}

/** The witness as a scenario file: the combination's document, its tie_order, and the outcome it gives. */
export function witness_document(loaded: LoadedScenario, w: ExploreWitness, outcome: string, n: number): Record<string, unknown> {
  const raw = { ...(vary_scenario(loaded, w.sets).raw as Record<string, unknown>) };
  delete raw["explore"];
  const name = `${loaded.spec.name}-witness-${n}`.slice(0, 100);
  return {
    ...raw,
    name,
    description: `ksim explore witness ${n} of ${loaded.spec.name}: ${outcome}; ${w.sets.join(" ") || "as written"}`.slice(0, 1000),
    ...(w.ties.length > 0 ? { tie_order: w.ties } : {}),
    ...(outcome === "ok" || outcome === "hang" || outcome === "bug" ? { expect: { outcome } } : {}),
  };
}

function write_witnesses(dir: string, loaded: LoadedScenario, r: ExploreReport): void {
  mkdirSync(dir, { recursive: true });
  r.classes.forEach((c, i) => {
    const file = join(dir, `${loaded.spec.name}-witness-${i + 1}-${c.outcome}.yaml`);
    const doc = witness_document(loaded, c.witness, c.outcome, i + 1);
    writeFileSync(file, yaml_stringify(doc, { lineWidth: 0, flowCollectionPadding: false }));
    c.witness.file = file;
  });
}

/** "x,y": the two dimensions of the HTML grid, by path or index. */
function grid_axes(dims: readonly Dimension[], text: string | undefined): { x: number; y: number } | undefined {
  if (text === undefined) return undefined;
  const parts = text.split(",");
  const pick = (p: string) => {
    const i = /^\d+$/.test(p) ? Number(p) : dims.findIndex((d) => d.path === p);
    if (i < 0 || i >= dims.length) throw new SpaceError(`--grid ${JSON.stringify(text)}: ${JSON.stringify(p)} is not a dimension (${dims.map((d) => d.path).join(", ")})`);
    return i;
  };
  if (parts.length !== 2) throw new SpaceError(`--grid ${JSON.stringify(text)}: expected X,Y (two dimension paths or indices)`);
  return { x: pick(parts[0]!), y: pick(parts[1]!) };
}

interface Prepared {
  loaded: LoadedScenario;
  dims: Dimension[];
  axes: { x: number; y: number } | undefined;
}

/** Everything that can be bad input, checked before any run. */
export function prepare_explore(ref: string, flags: ExploreFlags): Prepared {
  const opts: { sets: string[]; duration?: string } = { sets: flags.set ?? [] };
  if (flags.duration !== undefined) opts.duration = flags.duration;
  const loaded = load_scenario(ref, opts);
  const dims = explore_dimensions(loaded, flags);
  if (flags.resume && !flags.out) throw new ScenarioError("--resume", "", "needs --out FILE.jsonl to resume from");
  if (flags.queue !== undefined) parse_queue_url(flags.queue);
  if (flags.block !== undefined && flags.queue === undefined) throw new SpaceError("--block needs --queue");
  return { loaded, dims, axes: grid_axes(dims, flags.grid) };
}

/** The queue of --queue, logging without the password. */
function queued(io: CliIo, url: string, block: number | undefined): { url: string; block?: number; log: (line: string) => void } {
  const mask = masker(url);
  return { url, ...(block !== undefined ? { block } : {}), log: (line) => io.stderr(`ksim explore: ${mask(line)}\n`) };
}

export async function explore_command(io: CliIo, ref: string, p: Prepared, flags: ExploreFlags, signal: AbortSignal): Promise<number> {
  const { loaded, dims } = p;
  const r = await run_explore({
    scenario: loaded.spec.name,
    dimensions: dims,
    ties: flags.ties === true || loaded.spec.explore?.ties === true,
    expected: flags.expect ?? "ok",
    spec_of: (sets) => vary_scenario(loaded, sets).spec,
    base_sets: flags.set ?? [],
    jobs: flags.jobs ?? availableParallelism(),
    ...(flags.maxRuns !== undefined ? { max_runs: flags.maxRuns } : {}),
    ...(flags.out ? { out: flags.out } : {}),
    ...(flags.resume ? { resume: true } : {}),
    ...(flags.maxEvents !== undefined ? { max_events: flags.maxEvents } : {}),
    ...(flags.maxWall !== undefined ? { max_wall_ms: flags.maxWall } : {}),
    ...(process.stderr.isTTY ? { progress: process.stderr } : {}),
    ...(flags.queue !== undefined ? { queue: queued(io, flags.queue, flags.block) } : {}),
    signal,
  });
  if (flags.witnesses) write_witnesses(flags.witnesses, loaded, r);
  const replay = (w: ExploreWitness) => witness_command(ref, w);
  if (flags.html) writeFileSync(flags.html, render_explore_html(r, replay, p.axes));
  io.stdout(flags.json ? `${JSON.stringify(r)}\n` : format_explore_text(r, replay));
  if (signal.aborted) return 130;
  return explore_exit_code(r);
}
