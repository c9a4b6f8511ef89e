/**
 * The JSON report of `ksim run --json` (CONTRACT.md §3). Built field by field,
 * in the contract's order, so nothing internal leaks into it (a hotplug
 * record's pid, say) and every key is present whatever the run produced.
 */
import type { CycleEdge, RunResult } from "./result.js";

/** The report as a JSON value (what `format_json_report` prints). */
export function json_report(r: RunResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ksim: r.ksim,
    scenario: r.scenario,
    seed: r.seed,
    outcome: r.outcome,
    simulated_ns: r.simulated_ns,
    events: r.events,
    wall_ms: r.wall_ms,
  };
  if (r.outcome === "hang" && r.hang) {
    const hang: Record<string, unknown> = {
      detected_at_ns: r.hang.detected_at_ns,
      detected_by: r.hang.detected_by,
      hung_tasks: r.hang.hung_tasks.map((t) => ({
        pid: t.pid,
        comm: t.comm,
        state: t.state,
        blocked_since_ns: t.blocked_since_ns,
        in: t.in,
      })),
      cycle: r.hang.cycle.map(edge_json),
    };
    if (r.hang.chain) hang["chain"] = r.hang.chain.map(edge_json);
    out["hang"] = hang;
  }
  if (r.outcome === "bug" && r.bug) {
    out["bug"] = { at_ns: r.bug.at_ns, message: r.bug.message };
  }
  out["cpus"] = r.cpus.map((c) => ({ cpu: c.cpu, online: c.online, rt_throttled: c.rt_throttled, rt_time_ns: c.rt_time_ns }));
  out["tasks"] = r.tasks.map((t) => ({
    pid: t.pid,
    comm: t.comm,
    policy: t.policy,
    priority: t.priority,
    cpu: t.cpu,
    state: t.state,
    runtime_ns: t.runtime_ns,
  }));
  out["hotplug"] = r.hotplug.map((op) => ({
    op: op.op,
    cpu: op.cpu,
    from_cpu: op.from_cpu,
    start_ns: op.start_ns,
    end_ns: op.end_ns,
    result: op.result,
    notifications: op.notifications.map((n) => ({ event: n.event, notifier: n.notifier, ret: n.ret })),
  }));
  out["stats"] = {
    context_switches: r.stats.context_switches,
    rt_throttles: r.stats.rt_throttles,
    timer_migrations: r.stats.timer_migrations,
    hotplug_ops: r.stats.hotplug_ops,
  };
  // Not in the contract's example; kept so scripts can read khungtaskd's and BUG's lines.
  out["dmesg"] = [...r.dmesg];
  // Added after the contract's first form: at the end, so its order stays.
  out["kernel"] = { version: r.kernel.version, subsystems: r.kernel.subsystems.map((s) => ({ name: s.name, implementation: s.implementation })) };
  out["stopped_early"] = r.stopped_early;
  return out;
}

/** One JSON document, ending in a newline. */
export function format_json_report(r: RunResult): string {
  return `${JSON.stringify(json_report(r), null, 2)}\n`;
}

function edge_json(e: CycleEdge) {
  return { node: e.node, waits_for: e.waits_for, because: e.because, from: { ...e.from }, to: { ...e.to } };
}
