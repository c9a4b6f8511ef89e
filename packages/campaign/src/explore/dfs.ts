/**
 * One combination of an exploration: its run, and with `ties` every order
 * of the events due at the same instant, as a stateless model checker does
 * it (replay from the start, forcing a prefix of choices). Two reductions:
 * at the end of an instant that had a choice, a state already reached is
 * not explored again (state hashing), and an alternative order that ends
 * its instant in the very state the first order did is counted as
 * commuting with it (partial-order reduction found by the digest).
 */
import type { Outcome, ScenarioSpec } from "@ksim/scenario";
import type { RunResult } from "@ksim/report";
import { cycle_shape } from "../stress/run_seed.js";
import type { RunLimits, ScenarioRunner, TieExplorer } from "../stress/types.js";

/** One combination, as sent to a worker thread (plain data). */
export interface ExploreJob {
  index: number;
  spec: ScenarioSpec;
  ties: boolean;
  /** Runs this combination may use (its share of --max-runs). */
  max_runs: number;
  max_events?: number;
  max_wall_ms?: number;
}

/** One outcome class of a combination, with the smallest tie order that gives it. */
export interface ComboOutcome {
  /** "ok", "hang: <cycle>", "bug: <message>", "error: <message>". */
  key: string;
  outcome: Outcome | "error";
  cycle: string[];
  message?: string;
  /** Runs that ended in it. */
  count: number;
  /** The tie_order that replays it (fewest entries found). */
  ties: string[];
}

export interface ComboResult {
  index: number;
  /** Machine runs started, pruned ones included. */
  runs: number;
  pruned: { state_seen: number; commuting: number };
  /** Every tie order was covered (false when its share of --max-runs ran out). */
  complete: boolean;
  outcomes: ComboOutcome[];
  /** Digests of the final states of the runs that ended. */
  final_states: string[];
}

/** An order still to explore: the forced choices, and the digest its sibling ended the branching instant in. */
interface Branch {
  choices: number[];
  ties: string[];
  sibling: { digest: string | null };
}

/** The class of a finished run. */
export function outcome_key(r: RunResult): Pick<ComboOutcome, "key" | "outcome" | "cycle" | "message"> {
  if (r.outcome === "hang") {
    const cycle = cycle_shape(r.hang?.cycle.map((e) => e.node) ?? []);
    return { key: `hang: ${cycle.join(" -> ")}`, outcome: "hang", cycle };
  }
  if (r.outcome === "bug") {
    const message = (r.bug?.message ?? "").replace(/\/\d+/g, "");
    return { key: `bug: ${message}`, outcome: "bug", cycle: [], message };
  }
  return { key: "ok", outcome: "ok", cycle: [] };
}

/** The ties entries up to the last choice that was not the first-scheduled event. */
function witness_ties(choices: readonly number[], ties: readonly string[]): string[] {
  let last = -1;
  choices.forEach((c, i) => {
    if (c !== 0) last = i;
  });
  return ties.slice(0, last + 1);
}

class ComboState {
  readonly visited = new Set<string>();
  readonly stack: Branch[] = [{ choices: [], ties: [], sibling: { digest: null } }];
  readonly outcomes = new Map<string, ComboOutcome>();
  readonly finals = new Set<string>();
  runs = 0;
  readonly pruned = { state_seen: 0, commuting: 0 };

  record(r: RunResult | null, error: string | null, choices: number[], ties: string[]): void {
    const cls = r ? outcome_key(r) : { key: `error: ${error}`, outcome: "error" as const, cycle: [], message: error ?? "" };
    const w = witness_ties(choices, ties);
    const seen = this.outcomes.get(cls.key);
    if (!seen) this.outcomes.set(cls.key, { ...cls, count: 1, ties: w });
    else {
      seen.count++;
      if (w.length < seen.ties.length) seen.ties = w;
    }
  }
}

/** The explorer's side of one run along `br`: forced choices first, then the first-scheduled event, pushing every alternative. */
function branch_explorer(st: ComboState, br: Branch, ties: boolean, choices: number[], labels: string[]): TieExplorer {
  let pending: { digest: string | null } | null = null;
  let branching_instant = true;
  return {
    choose(now, due) {
      if (!ties) return 0;
      const k = choices.length;
      let c = 0;
      if (k < br.choices.length) c = br.choices[k]!;
      else {
        pending ??= { digest: null };
        for (let alt = due.length - 1; alt >= 1; alt--) {
          st.stack.push({ choices: [...choices, alt], ties: [...labels, `${fmt(now)}: ${due[alt]}`], sibling: pending });
        }
      }
      choices.push(c);
      labels.push(`${fmt(now)}: ${due[c]}`);
      return c;
    },
    instant_end(_now, digest) {
      if (!ties || choices.length < br.choices.length) return true;
      const mine = pending;
      pending = null;
      if (mine) mine.digest = digest;
      const first = branching_instant;
      branching_instant = false;
      if (!st.visited.has(digest)) {
        st.visited.add(digest);
        return true;
      }
      // The branching instant ended where its sibling order ended it: the two orders commute.
      if (first && br.sibling.digest === digest) st.pruned.commuting++;
      else st.pruned.state_seen++;
      return false;
    },
  };
}

/** Exact time for a tie entry: "3s", "2951ms", "3000000001ns". */
function fmt(ns: number): string {
  for (const [unit, per] of [["s", 1e9], ["ms", 1e6], ["us", 1e3]] as const) {
    if (ns % per === 0) return `${ns / per}${unit}`;
  }
  return `${ns}ns`;
}

/** Explores one combination: every tie order (with `ties`) up to its run budget. */
export function explore_combination(runner: ScenarioRunner, job: ExploreJob): ComboResult {
  if (!runner.run_explored) throw new TypeError("explore: the runner cannot order ties (no run_explored)");
  const st = new ComboState();
  const limits: RunLimits = {
    ...(job.max_events !== undefined ? { max_events: job.max_events } : {}),
    ...(job.max_wall_ms !== undefined ? { max_wall_ms: job.max_wall_ms } : {}),
  };
  while (st.stack.length > 0 && st.runs < job.max_runs) {
    const br = st.stack.pop()!;
    st.runs++;
    const choices: number[] = [];
    const labels: string[] = [];
    try {
      const run = runner.run_explored(job.spec, branch_explorer(st, br, job.ties, choices, labels), limits);
      if (run.abandoned) continue;
      st.finals.add(run.digest);
      st.record(run.result, null, choices, labels);
    } catch (e) {
      st.record(null, e instanceof Error ? e.message : String(e), choices, labels);
    }
  }
  return {
    index: job.index,
    runs: st.runs,
    pruned: st.pruned,
    complete: st.stack.length === 0,
    outcomes: [...st.outcomes.values()],
    final_states: [...st.finals],
  };
}
