import { BUG, is_kernel_bug, type KernelBugKind } from "./bug.js";
import { new_exec_context, switch_exec_context, type ExecContext } from "./context.js";
import { EventQueue, type SimEvent } from "./heap.js";
import type { Nanoseconds } from "./time.js";

/**
 * Which of several events due at the same instant fires first. The engine
 * asks only when at least two are due; without a policy the lowest sequence
 * number (the first scheduled) fires, so a run is the same byte for byte.
 * An explorer installs one to try every order.
 */
export interface TiePolicy {
  /** `due` holds the events due now, in sequence order (at least two); return the index of the one to fire. */
  choose(due: readonly SimEvent[], now: Nanoseconds): number;
  /**
   * The instant `now` had a choice and every event due in it has fired; the
   * next event is later. Engine.stop() here ends the run before that event.
   */
  instant_end?(now: Nanoseconds): void;
}

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
  /** Orders events due at the same instant; null: by sequence number. */
  tie_policy: TiePolicy | null = null;
  private readonly due: SimEvent[] = [];
  /** The current instant had a choice point: tell the policy when it ends. */
  private tie_instant = false;
  /**
   * The event firing now, still in the queue's top slot (detach_top), or
   * null: if it requeues itself, as an hrtick or a balance tick does, the
   * queue moves it in place.
   */
  private firing: SimEvent | null = null;
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
    return this.queue.size - (this.firing !== null ? 1 : 0);
  }

  /** The queued events, in no particular order (read only). */
  pending_events(): readonly SimEvent[] {
    this.drop_firing();
    return this.queue.entries();
  }

  /** The firing event did not requeue itself: it leaves the top slot. */
  private drop_firing(): void {
    if (this.firing === null) return;
    this.firing = null;
    this.queue.drop_top();
  }

  /** Queue (or requeue) `ev` at absolute time `at`. */
  schedule(ev: SimEvent, at: Nanoseconds): void {
    if (!(at >= this.now)) BUG(`event ${ev.name} scheduled in the past (${at} < ${this.now})`);
    ev.time = at;
    ev.seq = this.seq++;
    if (ev === this.firing) {
      this.firing = null;
      this.queue.requeue_top(ev);
      return;
    }
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

  /** Nothing more is due in the instant of the last choice: tell the policy. */
  private end_tie_instant(): void {
    if (!this.tie_instant || this.tie_policy === null) return;
    this.tie_instant = false;
    this.tie_policy.instant_end?.(this.now);
  }

  /** The tie policy's pick among the events due with `top`, off the queue; null when the policy stopped the run. */
  private pick_tie(top: SimEvent): SimEvent | null {
    const q = this.queue;
    const policy = this.tie_policy!;
    if (this.tie_instant && top.time > this.now) {
      this.end_tie_instant();
      if (this.stop_reason !== null) return null;
    }
    // Most events have the instant to themselves: no list to gather.
    if (!q.top_tied()) return q.pop()!;
    q.due_at(top.time, this.due);
    const due = this.due;
    this.tie_instant = true;
    const i = policy.choose(due, top.time);
    const ev = due[i];
    if (ev === undefined) BUG(`tie policy chose event ${i} of ${due.length} due at ${top.time}`);
    q.remove(ev);
    return ev;
  }

  /**
   * Fire events in order until the queue drains, time passes `until`, stop()
   * is called, `max_events` have fired in total, or an invariant breaks.
   * A KernelBug thrown by an event becomes `this.bug`; the run ends "bug".
   */
  run(until: Nanoseconds, max_events = Number.POSITIVE_INFINITY): RunEnd {
    const q = this.queue;
    if (this.bug) return "bug";
    // A run from inside an event (a test's): that event is off the queue for good.
    this.drop_firing();
    this.activate();
    for (;;) {
      if (this.stop_reason !== null) return "stopped";
      const ev = q.peek();
      if (ev === undefined) {
        this.end_tie_instant();
        // Nothing left to happen: time still passes up to a finite limit.
        if (until >= Number.MAX_SAFE_INTEGER) return "drained";
        this.now = Math.max(this.now, until);
        return "until";
      }
      if (ev.time > until) {
        this.end_tie_instant();
        this.now = until;
        return "until";
      }
      if (this.events >= max_events) return "event_limit";
      let next: SimEvent;
      // One predictable branch when no policy is installed.
      if (this.tie_policy === null) {
        next = q.detach_top()!;
        this.firing = next;
      } else {
        const picked = this.pick_tie(ev);
        if (picked === null) return "stopped";
        next = picked;
      }
      this.now = next.time;
      this.events++;
      try {
        next.fire(next);
      } catch (e) {
        this.drop_firing();
        if (is_kernel_bug(e)) {
          this.bug = { at_ns: this.now, message: e.message, kind: e.kind };
          return "bug";
        }
        throw e;
      }
      this.drop_firing();
    }
  }
}
