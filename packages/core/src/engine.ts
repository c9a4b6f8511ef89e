import { BUG, is_kernel_bug, type KernelBugKind } from "./bug.js";
import { new_exec_context, switch_exec_context, type ExecContext } from "./context.js";
import { EventQueue, type SimEvent } from "./heap.js";
import type { Nanoseconds } from "./time.js";

/** Why Engine.run returned. */
export type RunEnd = "drained" | "until" | "stopped" | "event_limit" | "bug";

export interface EngineBug {
  at_ns: Nanoseconds;
  message: string;
  kind: KernelBugKind;
}

/**
 * The discrete-event loop: one queue ordered by (time, sequence). Nothing in
 * it reads wall time, so the same events in give the same order out.
 */
export class Engine {
  now: Nanoseconds = 0;
  /** Events fired so far. */
  events = 0;
  private seq = 0;
  private readonly queue = new EventQueue();
  stop_reason: string | null = null;
  bug: EngineBug | null = null;
  /** The process context of this machine: what current() reads while it runs. */
  readonly ctx: ExecContext = new_exec_context();

  constructor() {
    this.activate();
  }

  /** Make this engine's context the one current() and smp_processor_id() read. */
  activate(): void {
    switch_exec_context(this.ctx);
  }

  get pending(): number {
    return this.queue.size;
  }

  /** Queue (or requeue) `ev` at absolute time `at`. */
  schedule(ev: SimEvent, at: Nanoseconds): void {
    if (!(at >= this.now)) BUG(`event ${ev.name} scheduled in the past (${at} < ${this.now})`);
    ev.time = at;
    ev.seq = this.seq++;
    // A requeue moves the entry in place: one sift instead of remove + push.
    if (ev.index >= 0) this.queue.update(ev);
    else this.queue.push(ev);
  }

  cancel(ev: SimEvent): void {
    if (ev.index >= 0) this.queue.remove(ev);
  }

  /** Ask the loop to return after the current event. */
  stop(reason: string): void {
    this.stop_reason ??= reason;
  }

  /**
   * Fire events in order until the queue drains, time passes `until`, stop()
   * is called, `max_events` have fired in total, or an invariant breaks.
   * A KernelBug thrown by an event becomes `this.bug`; the run ends "bug".
   */
  run(until: Nanoseconds, max_events = Number.POSITIVE_INFINITY): RunEnd {
    const q = this.queue;
    if (this.bug) return "bug";
    this.activate();
    for (;;) {
      if (this.stop_reason !== null) return "stopped";
      const ev = q.peek();
      if (ev === undefined) {
        // Nothing left to happen: time still passes up to a finite limit.
        if (until >= Number.MAX_SAFE_INTEGER) return "drained";
        this.now = Math.max(this.now, until);
        return "until";
      }
      if (ev.time > until) {
        this.now = until;
        return "until";
      }
      if (this.events >= max_events) return "event_limit";
      q.pop();
      this.now = ev.time;
      this.events++;
      try {
        ev.fire(ev);
      } catch (e) {
        if (is_kernel_bug(e)) {
          this.bug = { at_ns: this.now, message: e.message, kind: e.kind };
          return "bug";
        }
        throw e;
      }
    }
  }
}
