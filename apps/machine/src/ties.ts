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
  const w = digest_writer;
  w.reset();
  w.num(k.engine.now);
  for (const p of k.sched.for_each_process()) {
    w.num(p.pid);
    w.str(p.comm);
    w.str(p.state);
    w.num(p.cpu);
    w.num(p.prio);
    w.num(p.on_rq ? 1 : 0);
    w.num(p.on_cpu ? 1 : 0);
    w.opt_str(p.wchan);
    w.num(p.nvcsw);
    w.num(p.nivcsw);
    w.num(p.run_remaining);
    w.num(p.se.sum_exec_runtime);
    w.num(p.se.vruntime);
    w.num(p.usage);
  }
  for (let cpu = 0; cpu < k.sched.nr_cpu_ids; cpu++) {
    const rt = k.sched.rt_rq_stats(cpu);
    w.num(k.hotplug.cpu_online(cpu) ? 1 : 0);
    w.num(rt.rt_nr_running);
    w.num(rt.rt_throttled ? 1 : 0);
    w.num(rt.rt_time);
    w.num(rt.rt_runtime);
  }
  const log = k.hotplug.log;
  w.num(log.length);
  for (const op of log) {
    w.str(op.op);
    w.num(op.cpu);
    w.opt_str(op.result);
    w.num(op.end_ns ?? -1);
    w.num(op.notifications.length);
  }
  const pending = pending_events(k.engine);
  w.num(pending.length);
  for (const ev of pending) {
    w.num(ev.time);
    w.str(ev.name);
  }
  w.num(dmesg_lines);
  return w.sha1();
}

/**
 * The digest's input, written without formatting a number: every number as
 * its float64 bytes, every string as its length (in that stream) and its
 * UTF-8 bytes after the numbers, so that two different states never give the
 * same input. One buffer is reused by every digest of the thread.
 */
class DigestWriter {
  private bytes = new Uint8Array(8 * 1024);
  private nums = new Float64Array(this.bytes.buffer);
  private n = 0;
  private text = "";
  private static readonly utf8 = new TextEncoder();

  reset(): void {
    this.n = 0;
    this.text = "";
  }

  num(x: number): void {
    if (this.n === this.nums.length) this.grow(this.bytes.length * 2);
    // + 0 folds -0 into 0, as the state's JSON used to.
    this.nums[this.n++] = x + 0;
  }

  str(s: string): void {
    this.num(s.length);
    this.text += s;
  }

  /** A string or null (length -1). */
  opt_str(s: string | null | undefined): void {
    if (s === null || s === undefined) this.num(-1);
    else this.str(s);
  }

  sha1(): string {
    const at = this.n * 8;
    // At most 3 UTF-8 bytes per UTF-16 unit.
    if (at + this.text.length * 3 > this.bytes.length) this.grow(2 * (at + this.text.length * 3));
    const { written } = DigestWriter.utf8.encodeInto(this.text, this.bytes.subarray(at));
    // node:crypto is fetched here, not imported: importing it builds its whole
    // ES module facade, ~40 ms of every cold `ksim run`, which never digests.
    const { hash } = process.getBuiltinModule("node:crypto");
    return hash("sha1", this.bytes.subarray(0, at + written), "base64url");
  }

  private grow(size: number): void {
    const bytes = new Uint8Array(Math.ceil(size / 8) * 8);
    bytes.set(this.bytes.subarray(0, this.n * 8));
    this.bytes = bytes;
    this.nums = new Float64Array(bytes.buffer);
  }
}

const digest_writer = new DigestWriter();

/** The queued events by time, then name: the sequence numbers left out. */
function pending_events(engine: Engine): SimEvent[] {
  pending_scratch.length = 0;
  for (const ev of engine.pending_events()) pending_scratch.push(ev);
  return pending_scratch.sort(by_time_then_name);
}

const pending_scratch: SimEvent[] = [];

function by_time_then_name(a: SimEvent, b: SimEvent): number {
  if (a.time !== b.time) return a.time - b.time;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
