/**
 * The space ksim explore covers: dimensions (a `--set` path and the values
 * it takes) from `--vary`, `--sweep` or a scenario's `explore:` section,
 * and their cross product, enumerated in a fixed order.
 */
import { format_duration, parse_duration } from "@ksim/core";
import type { ExploreSection, ExploreSweep, ExploreValue } from "@ksim/scenario";

export interface Dimension {
  path: string;
  values: ExploreValue[];
}

/** The most combinations one exploration enumerates. */
export const MAX_COMBINATIONS = 10_000_000;
const MAX_VALUES = 100_000;

/** Bad `--vary` / `--sweep` input. */
export class SpaceError extends Error {
  override readonly name = "SpaceError";
}

const PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\.\d+|\[\d+\])*$/;

function split_path(option: string, text: string): [string, string] {
  const eq = text.indexOf("=");
  const path = eq > 0 ? text.slice(0, eq) : "";
  if (!PATH.test(path)) throw new SpaceError(`${option} ${JSON.stringify(text)}: expected PATH=..., a field path such as script[0].at`);
  return [path, text.slice(eq + 1)];
}

/** A --vary value as --set would read it: a number, true/false, or the text. */
function vary_value(text: string): ExploreValue {
  const t = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t === "true" || t === "false") return t === "true";
  return t;
}

/** `--vary PATH=V1,V2,...` */
export function parse_vary(text: string): Dimension {
  const [path, list] = split_path("--vary", text);
  const values = list.split(",").map(vary_value);
  if (list.trim() === "" || values.some((v) => v === "")) throw new SpaceError(`--vary ${JSON.stringify(text)}: expected PATH=V1,V2,... with no empty value`);
  if (values.length > MAX_VALUES) throw new SpaceError(`--vary ${path}: at most ${MAX_VALUES} values`);
  return { path, values };
}

/** `--sweep PATH=FROM..TO/STEP`: numbers (-5..20/1) or durations (2.5s..3.49s/10ms). */
export function parse_sweep(text: string): Dimension {
  const [path, range] = split_path("--sweep", text);
  const dots = range.indexOf("..");
  const slash = range.lastIndexOf("/");
  if (dots <= 0 || slash < dots) throw new SpaceError(`--sweep ${JSON.stringify(text)}: expected PATH=FROM..TO/STEP, e.g. script[0].at=2.5s..3.49s/10ms`);
  const [from, to, step] = [range.slice(0, dots).trim(), range.slice(dots + 2, slash).trim(), range.slice(slash + 1).trim()];
  const numeric = [from, to, step].every((x) => /^-?\d+(\.\d+)?$/.test(x));
  let sweep: ExploreSweep;
  try {
    sweep = numeric
      ? { kind: "number", from: Number(from), to: Number(to), step: Number(step) }
      : { kind: "duration", from: parse_duration(from), to: parse_duration(to), step: parse_duration(step) };
  } catch (e) {
    throw new SpaceError(`--sweep ${JSON.stringify(text)}: ${e instanceof Error ? e.message : String(e)} (FROM, TO and STEP all numbers or all durations)`);
  }
  return { path, values: sweep_values(path, sweep) };
}

/** The values of a sweep, FROM to TO inclusive: numbers, or duration strings. */
export function sweep_values(path: string, s: ExploreSweep): ExploreValue[] {
  if (!(s.step > 0) || !(s.to >= s.from)) throw new SpaceError(`sweep of ${path}: expected FROM <= TO and a STEP above 0`);
  const n = Math.floor((s.to - s.from) / s.step + 1e-9) + 1;
  if (n > MAX_VALUES) throw new SpaceError(`sweep of ${path}: ${n} values, more than ${MAX_VALUES}`);
  const out: ExploreValue[] = [];
  for (let i = 0; i < n; i++) {
    const v = Number((s.from + i * s.step).toPrecision(12));
    out.push(s.kind === "duration" ? format_duration(Math.round(v)) : v);
  }
  return out;
}

/** The dimensions of a scenario's `explore:` section: vary first, then sweep, each in file order. */
export function section_dimensions(section: ExploreSection): Dimension[] {
  return [
    ...Object.entries(section.vary).map(([path, values]) => ({ path, values: [...values] })),
    ...Object.entries(section.sweep).map(([path, s]) => ({ path, values: sweep_values(path, s) })),
  ];
}

/** Command-line dimensions replace the section's dimension of the same path; the rest keep their order. */
export function merge_dimensions(base: readonly Dimension[], extra: readonly Dimension[]): Dimension[] {
  const out = base.filter((d) => !extra.some((e) => e.path === d.path));
  for (const d of extra) {
    if (out.some((o) => o.path === d.path)) throw new SpaceError(`${d.path} is given twice`);
    out.push(d);
  }
  return out;
}

/** How many combinations the dimensions make (1 with none: the scenario as it is). */
export function space_size(dims: readonly Dimension[]): number {
  let n = 1;
  for (const d of dims) n *= d.values.length;
  if (n > MAX_COMBINATIONS) throw new SpaceError(`the space has ${n} combinations, more than ${MAX_COMBINATIONS}`);
  return n;
}

/** Combination `index` of the cross product (the last dimension varies fastest). */
export function combination(dims: readonly Dimension[], index: number): ExploreValue[] {
  const out: ExploreValue[] = new Array<ExploreValue>(dims.length);
  for (let d = dims.length - 1; d >= 0; d--) {
    const vals = dims[d]!.values;
    out[d] = vals[index % vals.length]!;
    index = Math.floor(index / vals.length);
  }
  return out;
}

/** `PATH=value` for each dimension: the --set options of one combination. */
export function combination_sets(dims: readonly Dimension[], values: readonly ExploreValue[]): string[] {
  return dims.map((d, i) => `${d.path}=${String(values[i])}`);
}
