import type { Nanoseconds } from "./time.js";

/**
 * One engine event. Its owner allocates it once and reuses it (as the kernel
 * embeds a timer in the structure it serves), so queueing allocates nothing.
 */
export class SimEvent {
  time: Nanoseconds = 0;
  seq = 0;
  /** Position in the heap; -1 while not queued. */
  index = -1;
  constructor(
    readonly name: string,
    readonly fire: (ev: SimEvent) => void,
  ) {}
  get queued(): boolean {
    return this.index >= 0;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/**
 * A binary min-heap ordered by (time, seq), indexed so that an entry can be
 * removed in O(log n). Equal times pop in the order they were pushed.
 */
export class EventQueue {
  private readonly heap: SimEvent[] = [];

  get size(): number {
    return this.heap.length;
  }

  /** The queued events in heap order (read only; for a digest of the machine's state). */
  entries(): readonly SimEvent[] {
    return this.heap;
  }

  peek(): SimEvent | undefined {
    return this.heap[0];
  }

  /**
   * Every queued event due at `time` (the heap's top time), in sequence
   * order, into `out`. Walks only the part of the heap at that time: a
   * parent is never later than its children.
   */
  due_at(time: Nanoseconds, out: SimEvent[]): void {
    out.length = 0;
    const h = this.heap;
    // Most instants have one event: neither child of the top shares its
    // time (a later event is never a parent of an earlier one).
    const l = h[1];
    const r = h[2];
    if ((l === undefined || l.time !== time) && (r === undefined || r.time !== time)) {
      const top = h[0];
      if (top !== undefined && top.time === time) out.push(top);
      return;
    }
    const stack = [0];
    while (stack.length > 0) {
      const i = stack.pop()!;
      const ev = h[i];
      if (ev === undefined || ev.time !== time) continue;
      out.push(ev);
      stack.push(2 * i + 1, 2 * i + 2);
    }
    out.sort((a, b) => a.seq - b.seq);
  }

  push(ev: SimEvent): void {
    const h = this.heap;
    ev.index = h.length;
    h.push(ev);
    this.up(ev.index);
  }

  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    if (last !== top) {
      h[0] = last;
      last.index = 0;
      this.down(0);
    }
    top.index = -1;
    return top;
  }

  /** Re-sorts `ev` after its (time, seq) changed while queued. */
  update(ev: SimEvent): void {
    const i = ev.index;
    if (i > 0 && before(ev, this.heap[(i - 1) >> 1]!)) this.up(i);
    else this.down(i);
  }

  remove(ev: SimEvent): void {
    const i = ev.index;
    if (i < 0) return;
    const h = this.heap;
    const last = h.pop()!;
    if (last !== ev) {
      h[i] = last;
      last.index = i;
      if (i > 0 && before(last, h[(i - 1) >> 1]!)) this.up(i);
      else this.down(i);
    }
    ev.index = -1;
  }

  private up(i: number): void {
    const h = this.heap;
    const ev = h[i]!;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const parent = h[pi]!;
      if (!before(ev, parent)) break;
      h[i] = parent;
      parent.index = i;
      i = pi;
    }
    h[i] = ev;
    ev.index = i;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const ev = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(h[r]!, h[l]!)) c = r;
      const child = h[c]!;
      if (!before(child, ev)) break;
      h[i] = child;
      child.index = i;
      i = c;
    }
    h[i] = ev;
    ev.index = i;
  }
}
