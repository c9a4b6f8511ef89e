/**
 * Where an outcome class splits along one dimension: the class holds for a
 * combination exactly when one dimension's value is in some set, whatever
 * the others are. Said in one line: "hang exactly when
 * kernel.notifier_priority.hrtimer_cpu_notify < 10".
 */
import { parse_duration } from "@ksim/core";
import type { ExploreClass } from "@ksim/report";
import type { ExploreValue } from "@ksim/scenario";
import { combination, type Dimension } from "./space.js";

/** A dimension value as a number for ordering (durations in ns), or null. */
function numeric(v: ExploreValue): number | null {
  if (typeof v === "number") return v;
  if (typeof v !== "string") return null;
  try {
    return parse_duration(v);
  } catch {
    return null;
  }
}

/** The values of `d` (in the dimension's order) for which the class holds, or null if it does not depend on `d` alone. */
function member_values(d: number, dims: readonly Dimension[], indices: readonly number[], holds: (i: number) => boolean): Set<number> | null {
  const by_value = new Map<number, boolean>();
  const vals = dims[d]!.values;
  for (const i of indices) {
    const v = vals.indexOf(combination(dims, i)[d]!);
    const h = holds(i);
    const prev = by_value.get(v);
    if (prev !== undefined && prev !== h) return null;
    by_value.set(v, h);
  }
  const yes = new Set([...by_value].filter(([, h]) => h).map(([v]) => v));
  // A split needs both sides.
  return yes.size > 0 && yes.size < by_value.size ? yes : null;
}

/** The set of values as a condition: "< X", ">= X", "in A..B", or a list. */
function describe(path: string, values: readonly ExploreValue[], yes: Set<number>, seen: readonly number[]): string {
  const nums = seen.map((i) => numeric(values[i]!));
  if (nums.every((n) => n !== null)) {
    const order = [...seen].sort((a, b) => nums[seen.indexOf(a)]! - nums[seen.indexOf(b)]!);
    const flags = order.map((i) => yes.has(i));
    const first_no = flags.indexOf(false);
    const first_yes = flags.indexOf(true);
    const runs = flags.filter((f, k) => k > 0 && f !== flags[k - 1]).length;
    if (runs === 1 && flags[0]) return `${path} < ${values[order[first_no]!]}`;
    if (runs === 1 && !flags[0]) return `${path} >= ${values[order[first_yes]!]}`;
    if (runs === 2 && !flags[0]) {
      const last_yes = flags.lastIndexOf(true);
      return `${values[order[first_yes]!]} <= ${path} <= ${values[order[last_yes]!]}`;
    }
  }
  return `${path} is one of ${[...yes].map((i) => values[i]).join(", ")}`;
}

/** For each class, the one line that says along which dimension it splits (null when none alone). */
export function class_splits(dims: readonly Dimension[], indices: readonly number[], classes: readonly ExploreClass[]): (string | null)[] {
  const combo_key = (i: number) => JSON.stringify(combination(dims, i));
  return classes.map((c) => {
    const members = new Set(c.combinations.map((x) => JSON.stringify(dims.map((d) => x[d.path]))));
    const holds = (i: number) => members.has(combo_key(i));
    for (let d = 0; d < dims.length; d++) {
      const yes = member_values(d, dims, indices, holds);
      if (!yes) continue;
      const seen = [...new Set(indices.map((i) => dims[d]!.values.indexOf(combination(dims, i)[d]!)))];
      const name = c.outcome === "hang" || c.outcome === "ok" ? c.outcome : `${c.outcome} "${c.message ?? ""}"`;
      return `${name} exactly when ${describe(dims[d]!.path, dims[d]!.values, yes, seen)}`;
    }
    return null;
  });
}
