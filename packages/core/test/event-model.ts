import type { Engine, SimEvent } from "../src/index.js";

export interface Queued {
  ev: SimEvent;
  time: number;
  seq: number;
}

/**
 * The reference model of the engine's queue in its tests: a plain list
 * ordered by (time, seq), kept beside the engine by sched() and cancel().
 */
export class EventModel {
  list: Queued[] = [];
  private seq = 0;

  constructor(private readonly e: Engine) {}

  sched(ev: SimEvent, at: number): void {
    this.forget(ev);
    this.list.push({ ev, time: at, seq: this.seq++ });
    this.e.schedule(ev, at);
  }

  cancel(ev: SimEvent): void {
    this.forget(ev);
    this.e.cancel(ev);
  }

  /** `ev` fired (or was cancelled): it leaves the list. */
  forget(ev: SimEvent): void {
    this.list = this.list.filter((m) => m.ev !== ev);
  }

  has(ev: SimEvent): boolean {
    return this.list.some((m) => m.ev === ev);
  }

  /** The entry due first: the one the engine must fire next. */
  first(): Queued {
    return this.list.reduce((a, b) => (b.time < a.time || (b.time === a.time && b.seq < a.seq) ? b : a));
  }
}
