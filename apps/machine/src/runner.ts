/**
 * The machine as @ksim/campaign sees it: a ScenarioRunner. Campaigns never
 * import the machine; the CLI and the worker threads hand them this.
 */
import type { TiePolicy } from "@ksim/core";
import type { ExploredRun, RecordedRun, RunLimits, ScenarioRunner, TieExplorer } from "@ksim/campaign";
import type { RunResult } from "@ksim/report";
import type { ScenarioSpec } from "@ksim/scenario";
import { Machine, type MachineOptions, type RunOptions } from "./machine.js";
import { state_digest, tie_labels } from "./ties.js";

/** Build and run: the library form of `ksim run`. */
export function run_scenario(spec: ScenarioSpec, opts: RunOptions & MachineOptions = {}): RunResult {
  return new Machine(spec, opts).run(opts);
}

/** cpuhp-stress keeps this many operations when shrink asks for all of them. */
const RECORD_ALL_OPS = 1_000_000;

function run_recorded(spec: ScenarioSpec): RecordedRun {
  const m = new Machine(spec, { cpuhp_records: RECORD_ALL_OPS });
  const result = m.run();
  // The random hotplug loop, written down as the script it performed.
  const performed = (m.cpuhp?.ops ?? []).map((o) => ({ at_ns: o.due_ns, op: o.op, cpu: o.cpu, on: o.on }));
  return { result, performed };
}

/** A run whose ties the explorer orders, abandoned when it says so. */
function run_explored(spec: ScenarioSpec, ex: TieExplorer, limits: RunLimits = {}): ExploredRun {
  let abandoned = false;
  const box: { m: Machine | null } = { m: null };
  const policy: TiePolicy = {
    choose: (due, now) => ex.choose(now, tie_labels(due)),
    instant_end: (now) => {
      const m = box.m!;
      if (ex.instant_end(now, state_digest(m.k, m.dmesg.length))) return;
      abandoned = true;
      m.k.engine.stop("explore: a state already explored");
    },
  };
  const m = new Machine(spec, { tie_policy: policy });
  box.m = m;
  const result = m.run(limits);
  return { result, digest: state_digest(m.k, m.dmesg.length), abandoned };
}

export const machine_runner: ScenarioRunner = Object.freeze({
  run: (spec: ScenarioSpec, limits: RunLimits = {}): RunResult => run_scenario(spec, limits),
  run_recorded,
  run_explored,
});
