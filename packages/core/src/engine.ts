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

/**
 * SimEvent.index of an event in the engine's FIFO: FIFO_INDEX + its slot,
 * above any heap position, so `queued` (index >= 0) holds for it too.
 */
const FIFO_INDEX = 2 ** 29;

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
  /**
   * Events scheduled at `now` (a resched, a wake-up, a raised softirq), in
   * the order scheduled: each has a sequence number above every queued
   * event's, so they fire after the heap's events due now and before any
   * later one, the (time, seq) order, without a sift in and a sift out of
   * the heap. Slots [fifo_head, fifo_tail); a cancelled event leaves null.
   * Empty whenever `now` moves, and while a tie policy is installed.
   */
  private readonly fifo: (SimEvent | null)[] = [];
  private fifo_head = 0;
  private fifo_tail = 0;
  private fifo_live = 0;
  private readonly pending_scratch: SimEvent[] = [];
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
    return this.queue.size - (this.firing !== null ? 1 : 0) + this.fifo_live;
  }

  /** The queued events, in no particular order (read only). */
  pending_events(): readonly SimEvent[] {
    this.drop_firing();
    if (this.fifo_live === 0) return this.queue.entries();
    const out = this.pending_scratch;
    out.length = 0;
    for (const ev of this.queue.entries()) out.push(ev);
    for (let i = this.fifo_head; i < this.fifo_tail; i++) {
      const ev = this.fifo[i];
      if (ev) out.push(ev);
    }
    return out;
  }

  /** `ev` joins the FIFO of events due now. */
  private fifo_push(ev: SimEvent): void {
    const i = this.fifo_tail++;
    if (i === this.fifo.length) this.fifo.push(ev);
    else this.fifo[i] = ev;
    ev.index = FIFO_INDEX + i;
    this.fifo_live++;
  }

  /** `ev` (in the FIFO) leaves it; the head moves past cancelled slots. */
  private fifo_unlink(ev: SimEvent): void {
    const fifo = this.fifo;
    fifo[ev.index - FIFO_INDEX] = null;
    ev.index = -1;
    if (--this.fifo_live === 0) {
      this.fifo_head = this.fifo_tail = 0;
      return;
    }
    let h = this.fifo_head;
    while (fifo[h] === null) h++;
    this.fifo_head = h;
  }

  /** Move the FIFO's events into the heap, keys unchanged: the order stays (time, seq). */
  private flush_fifo(): void {
    const fifo = this.fifo;
    for (let i = this.fifo_head; i < this.fifo_tail; i++) {
      const ev = fifo[i];
      if (!ev) continue;
      fifo[i] = null;
      this.queue.push(ev);
    }
    this.fifo_head = this.fifo_tail = this.fifo_live = 0;
  }

  /** The firing event did not requeue itself: it leaves the top slot. */
  private drop_firing(): void {
    if (this.firing === null) return;
    this.firing = null;
    this.queue.drop_top();
  }

  /** Queue (or requeue) `ev` at absolute time `at`. */
  schedule(ev: SimEvent, at: Nanoseconds): void {
    ev.time = at;
    this.enqueue(ev);
  }

  /**
   * schedule(ev, ev.time), for a hot caller that writes the time into the
   * event itself, so that no call takes it as an argument: a time past
   * 2^31 ns is a heap number, boxed anew by each call V8 did not inline
   * (which may depend on when it compiled the caller), an allocation per
   * hrtick.
   */
  enqueue(ev: SimEvent): void {
    const at = ev.time;
    if (!(at >= this.now)) this.scheduled_in_the_past(ev);
    ev.seq = this.seq++;
    if (at === this.now && this.enqueue_due_now(ev)) return;
    if (ev === this.firing) {
      this.firing = null;
      this.queue.requeue_top(ev);
      return;
    }
    if (ev.index >= FIFO_INDEX) {
      this.fifo_unlink(ev);
      this.queue.push(ev);
      return;
    }
    // A requeue moves the entry in place: one sift instead of remove + push.
    if (ev.index >= 0) this.queue.update(ev);
    else this.queue.push(ev);
  }

  /**
   * enqueue() of an event due now. Apart, as is the BUG below, so that
   * enqueue() stays small enough for V8 to inline into its hot callers (an
   * hrtick re-armed at each switch). True when it is queued: without a tie
   * policy, in the FIFO, whose tail is its place (its sequence number is the
   * highest queued). A tie policy must see every event due: heap only.
   */
  private enqueue_due_now(ev: SimEvent): boolean {
    if (this.tie_policy === null) {
      if (ev === this.firing) this.drop_firing();
      else if (ev.index >= FIFO_INDEX) this.fifo_unlink(ev);
      else if (ev.index >= 0) this.queue.remove(ev);
      this.fifo_push(ev);
      return true;
    }
    // Heap events due now must stay below the FIFO's sequence numbers.
    if (this.fifo_live > 0) this.flush_fifo();
    return false;
  }

  private scheduled_in_the_past(ev: SimEvent): never {
    BUG(`event ${ev.name} scheduled in the past (${ev.time} < ${this.now})`);
  }

  cancel(ev: SimEvent): void {
    if (ev.index >= FIFO_INDEX) this.fifo_unlink(ev);
    else if (ev.index >= 0) this.queue.remove(ev);
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
      let ev = q.peek();
      // The FIFO's events are due now, after any heap event due now.
      let from_fifo = false;
      if (this.fifo_live > 0) {
        if (this.tie_policy !== null) {
          // A policy installed while events sat in the FIFO: it must see them.
          this.flush_fifo();
          continue;
        }
        if (ev === undefined || ev.time !== this.now) {
          ev = this.fifo[this.fifo_head]!;
          from_fifo = true;
        }
      }
      if (ev === undefined) {
        this.end_tie_instant();
        // Nothing left to happen: time still passes up to a finite limit.
        if (until >= Number.MAX_SAFE_INTEGER) return "drained";
        this.now = Math.max(this.now, until);
        return "until";
      }
      if (ev.time > until) {
        // A run to an instant before now: the FIFO must not outlive `now`.
        if (this.fifo_live > 0) this.flush_fifo();
        this.end_tie_instant();
        this.now = until;
        return "until";
      }
      if (this.events >= max_events) return "event_limit";
      let next: SimEvent;
      // One predictable branch when no policy is installed.
      if (from_fifo) {
        next = ev;
        this.fifo_unlink(ev);
      } else if (this.tie_policy === null) {
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
