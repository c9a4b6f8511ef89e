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

/**
 * A binary min-heap ordered by (time, seq), indexed so that an entry can be
 * removed in O(log n). Equal times pop in the order they were pushed.
 *
 * The keys live beside the heap in two Float64Arrays (exact for every
 * integer time up to 2^53), so a sift compares numbers in contiguous memory
 * instead of loading each event (the engine, hrtimer and timer queues hold
 * events of different classes). A pop picks the earlier child with
 * arithmetic on the comparisons, not a branch: which child is earlier is a
 * coin toss the CPU cannot predict, and on a queue of hundreds of events
 * (one balance event and one tick per CPU) its mispredictions were most of
 * the cost of a pop.
 */
export class EventQueue {
  private readonly heap: SimEvent[] = [];
  /**
   * Keys of heap[i]; one slot more than the heap holds, so a last right
   * child may be read. Eight to start: most queues (an hrtimer clock base, a
   * timer base) hold a few events, and arrays this small live on V8's heap.
   */
  private times = new Float64Array(8);
  private seqs = new Float64Array(8);

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
  /**
   * Another queued event is due at the top's time. Only the top's children
   * need a look: an event due then sits below a chain of events due then.
   */
  top_tied(): boolean {
    const n = this.heap.length;
    const t = this.times;
    return (n > 1 && t[1] === t[0]) || (n > 2 && t[2] === t[0]);
  }

  due_at(time: Nanoseconds, out: SimEvent[]): void {
    out.length = 0;
    const h = this.heap;
    const n = h.length;
    const times = this.times;
    if (n === 0 || times[0] !== time) return;
    out.push(h[0]!);
    // Breadth first through the subtree at `time`: `out` is the work list.
    for (let k = 0; k < out.length; k++) {
      const l = 2 * out[k]!.index + 1;
      if (l < n && times[l] === time) out.push(h[l]!);
      if (l + 1 < n && times[l + 1] === time) out.push(h[l + 1]!);
    }
    if (out.length > 1) out.sort((a, b) => a.seq - b.seq);
  }

  push(ev: SimEvent): void {
    const i = this.heap.length;
    if (i + 1 >= this.times.length) this.grow();
    this.heap.push(ev);
    this.times[i] = ev.time;
    this.seqs[i] = ev.seq;
    this.up(i, ev, i);
  }

  pop(): SimEvent | undefined {
    const h = this.heap;
    const top = h[0];
    if (top === undefined) return undefined;
    const last = h.pop()!;
    // The last entry's key stays in slot h.length, one past the heap.
    if (last !== top) this.down(0, last, h.length);
    top.index = -1;
    return top;
  }

  /**
   * The top event, off the queue as far as its owner can tell (index -1),
   * but left in slot 0 until requeue_top() or drop_top(): the engine fires
   * it from there, and most events requeue themselves. Every key queued
   * meanwhile is later (time at or after its time, a higher sequence), so
   * nothing rises past it and the rest of the heap stays ordered below it.
   */
  detach_top(): SimEvent | undefined {
    const top = this.heap[0];
    if (top !== undefined) top.index = -1;
    return top;
  }

  /** The detached top `ev`, requeued with its new key: one sift down from the root instead of pop() and push(). */
  requeue_top(ev: SimEvent): void {
    this.times[0] = ev.time;
    this.seqs[0] = ev.seq;
    this.down(0, ev, 0);
  }

  /** The detached top leaves the queue for good: pop() but for its index. */
  drop_top(): void {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (last !== top) this.down(0, last, h.length);
  }

  /** Re-sorts `ev` after its (time, seq) changed while queued. */
  update(ev: SimEvent): void {
    const i = ev.index;
    this.times[i] = ev.time;
    this.seqs[i] = ev.seq;
    this.sift(i, ev, i);
  }

  remove(ev: SimEvent): void {
    const i = ev.index;
    if (i < 0) return;
    const h = this.heap;
    const last = h.pop()!;
    if (last !== ev) this.sift(i, last, h.length);
    ev.index = -1;
  }

  private grow(): void {
    const times = new Float64Array(this.times.length * 2);
    times.set(this.times);
    this.times = times;
    const seqs = new Float64Array(this.seqs.length * 2);
    seqs.set(this.seqs);
    this.seqs = seqs;
  }

  /**
   * Places `ev`, whose key is in slot `k` of the key arrays, at the hole
   * `i`, up or down as its parent says. The key is passed by slot, not as
   * two numbers: a time past 2^31 ns is a heap number in V8, and where a
   * sift is not inlined (the inlining budget of a large caller ran out) each
   * call boxed it, an allocation per queue operation.
   */
  private sift(i: number, ev: SimEvent, k: number): void {
    if (i > 0) {
      const pi = (i - 1) >> 1;
      const t = this.times[k]!;
      const pt = this.times[pi]!;
      if (t < pt || (t === pt && this.seqs[k]! < this.seqs[pi]!)) {
        this.up(i, ev, k);
        return;
      }
    }
    this.down(i, ev, k);
  }

  /** Moves the hole at `i` up past every parent later than ev's key (slot `k`), then fills it with `ev`. */
  private up(i: number, ev: SimEvent, k: number): void {
    const h = this.heap;
    const times = this.times;
    const seqs = this.seqs;
    const t = times[k]!;
    const s = seqs[k]!;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const pt = times[pi]!;
      if (!(t < pt || (t === pt && s < seqs[pi]!))) break;
      const parent = h[pi]!;
      h[i] = parent;
      parent.index = i;
      times[i] = pt;
      seqs[i] = seqs[pi]!;
      i = pi;
    }
    h[i] = ev;
    ev.index = i;
    times[i] = t;
    seqs[i] = s;
  }

  /** Moves the hole at `i` down past every child earlier than ev's key (slot `k`), then fills it with `ev`. */
  private down(i: number, ev: SimEvent, k: number): void {
    const h = this.heap;
    const n = h.length;
    const times = this.times;
    const seqs = this.seqs;
    const t = times[k]!;
    const s = seqs[k]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const tl = times[l]!;
      const tr = times[r]!;
      // The right child if it exists and is earlier: 0 or 1, without a
      // branch (a boolean in | and & is 0 or 1).
      const right = +(r < n) & (+(tr < tl) | (+(tr === tl) & +(seqs[r]! < seqs[l]!)));
      const c = l + right;
      const ct = times[c]!;
      const cs = seqs[c]!;
      if (!(ct < t || (ct === t && cs < s))) break;
      const child = h[c]!;
      h[i] = child;
      child.index = i;
      times[i] = ct;
      seqs[i] = cs;
      i = c;
    }
    h[i] = ev;
    ev.index = i;
    times[i] = t;
    seqs[i] = s;
  }
}
