/**
 * Ties on this machine: events due at the same instant. `ksim explore`
 * tries every order through an engine tie policy; a witness's `tie_order`
 * replays the order it found; a digest of the machine's state lets the
 * explorer prune orders that reach a state it has already seen.
 */
import { format_duration, type Engine, type Kernel, type SimEvent, type TiePolicy } from "@ksim/core";
import { ScenarioError, type ScenarioSpec, type TieChoice } from "@ksim/scenario";

/** The events due, by name; a name that occurs twice gets `#<n>` (its place among them). */
export function tie_labels(due: readonly SimEvent[]): string[] {
  const seen = new Map<string, number>();
  const total = new Map<string, number>();
  for (const ev of due) total.set(ev.name, (total.get(ev.name) ?? 0) + 1);
  return due.map((ev) => {
    const n = seen.get(ev.name) ?? 0;
    seen.set(ev.name, n + 1);
    return total.get(ev.name)! > 1 ? `${ev.name}#${n}` : ev.name;
  });
}

/** "3s: resched/0": the form of one tie choice in `tie_order`. */
export function format_tie(at_ns: number, label: string): string {
  return `${format_duration(at_ns)}: ${label}`;
}

/**
 * Replays `tie_order`: the k-th instant with a choice fires the k-th entry's
 * event first; later ties fire in sequence order. A run that meets a tie
 * the entry does not describe is not the run that was explored: bad input.
 */
export function replay_ties(spec: ScenarioSpec, order: readonly TieChoice[]): TiePolicy {
  let k = 0;
  return {
    choose(due, now) {
      const want = order[k];
      if (want === undefined) return 0;
      const labels = tie_labels(due);
      const i = want.at_ns === now ? labels.indexOf(want.event) : -1;
      if (i < 0) {
        throw new ScenarioError(
          spec.name,
          `tie_order[${k}]`,
          `this run's tie ${k} is at ${format_duration(now)} among ${labels.join(", ")}, not "${format_tie(want.at_ns, want.event)}": the scenario is not the one explored`,
        );
      }
      k++;
      return i;
    },
  };
}

/**
 * What the machine's future depends on, as far as ksim can see it: time,
 * every task's scheduling state and position, each CPU's rt_rq, the hotplug
 * log, and the pending events (by time and name, not by sequence number: a
 * different queueing order of simultaneous events is another tie order,
 * which the explorer covers anyway).
 */
export function state_digest(k: Kernel, dmesg_lines: number): string {
  const parts: unknown[] = [k.engine.now];
  for (const p of k.sched.for_each_process()) {
    parts.push([p.pid, p.comm, p.state, p.cpu, p.prio, p.on_rq, p.on_cpu, p.wchan, p.nvcsw, p.nivcsw, p.run_remaining, p.se.sum_exec_runtime, p.se.vruntime, p.usage]);
  }
  for (let cpu = 0; cpu < k.sched.nr_cpu_ids; cpu++) {
    const rt = k.sched.rt_rq_stats(cpu);
    parts.push([k.hotplug.cpu_online(cpu), rt.rt_nr_running, rt.rt_throttled, rt.rt_time, rt.rt_runtime]);
  }
  parts.push(k.hotplug.log.map((op) => [op.op, op.cpu, op.result, op.end_ns, op.notifications.length]));
  parts.push(pending_events(k.engine));
  parts.push(dmesg_lines);
  // node:crypto is fetched here, not imported: importing it builds its whole
  // ES module facade, ~40 ms of every cold `ksim run`, which never digests.
  const { createHash } = process.getBuiltinModule("node:crypto");
  return createHash("sha1").update(JSON.stringify(parts)).digest("base64url");
}

function pending_events(engine: Engine): string[] {
  return engine
    .pending_events()
    .map((ev) => `${ev.time} ${ev.name}`)
    .sort();
}
