import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Engine, EventQueue, SimEvent } from "../src/index.js";
import { EventModel } from "./event-model.js";

describe("EventQueue", () => {
  it("pops by time, and equal times in the order they were pushed", () => {
    const e = new Engine();
    const fired: string[] = [];
    const mk = (name: string) => new SimEvent(name, () => fired.push(name));
    e.schedule(mk("c@20"), 20);
    e.schedule(mk("a@10"), 10);
    e.schedule(mk("b@10"), 10);
    e.schedule(mk("d@10"), 10);
    e.schedule(mk("e@5"), 5);
    expect(e.run(Number.MAX_SAFE_INTEGER)).toBe("drained");
    expect(fired).toEqual(["e@5", "a@10", "b@10", "d@10", "c@20"]);
    expect(e.events).toBe(5);
  });

  it("a cancelled event never fires, and a rescheduled one fires once at its new time", () => {
    const e = new Engine();
    const fired: [string, number][] = [];
    const a = new SimEvent("a", () => fired.push(["a", e.now]));
    const b = new SimEvent("b", () => fired.push(["b", e.now]));
    const c = new SimEvent("c", () => fired.push(["c", e.now]));
    e.schedule(a, 10);
    e.schedule(b, 20);
    e.schedule(c, 30);
    e.cancel(b);
    e.schedule(a, 40);
    expect(a.queued).toBe(true);
    expect(b.queued).toBe(false);
    e.run(100);
    expect(fired).toEqual([
      ["c", 30],
      ["a", 40],
    ]);
  });

  it("matches a stable sort of (time, seq) under random pushes and removals", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 200, size: "max" }),
        (ops) => {
          const q = new EventQueue();
          const evs = ops.map((op, i) => {
            const ev = new SimEvent(`e${i}`, () => {});
            ev.time = op.t;
            ev.seq = i;
            q.push(ev);
            return ev;
          });
          ops.forEach((op, i) => op.cancel && q.remove(evs[i]!));
          const out: number[] = [];
          for (let ev = q.pop(); ev; ev = q.pop()) out.push(ev.seq);
          const want = ops
            .map((op, i) => ({ ...op, i }))
            .filter((op) => !op.cancel)
            .sort((x, y) => x.t - y.t || x.i - y.i)
            .map((op) => op.i);
          expect(out).toEqual(want);
        },
      ),
    );
  });

  it("pops in (time, seq) order under any mix of pushes, pops, re-sorts and removals", () => {
    // Ops on a pool of events: queue or re-sort one at a time (updating its
    // key in place as Engine.schedule does), remove one, or pop the top. A
    // reference list sorted by (time, seq) says what each pop must return.
    // Up to 300 queued events: several levels of the heap, and equal times.
    // More sets than pops, so that the queue grows deep before it drains.
    const op = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant("set" as const), ev: fc.nat(299), t: fc.integer({ min: 0, max: 40 }) }), weight: 4 },
      { arbitrary: fc.record({ kind: fc.constant("remove" as const), ev: fc.nat(299) }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant("pop" as const) }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 1000, size: "max" }), (ops) => {
        const q = new EventQueue();
        const pool = Array.from({ length: 300 }, (_, i) => new SimEvent(`e${i}`, () => {}));
        let model: SimEvent[] = [];
        let seq = 0;
        const order = (a: SimEvent, b: SimEvent) => a.time - b.time || a.seq - b.seq;
        for (const o of ops) {
          if (o.kind === "pop") {
            const want = model.shift();
            expect(q.pop()).toBe(want);
            if (want) expect(want.queued).toBe(false);
          } else if (o.kind === "remove") {
            const ev = pool[o.ev]!;
            q.remove(ev);
            model = model.filter((x) => x !== ev);
            expect(ev.queued).toBe(false);
          } else {
            const ev = pool[o.ev]!;
            ev.time = o.t;
            ev.seq = seq++;
            if (ev.queued) q.update(ev);
            else {
              q.push(ev);
              model.push(ev);
            }
            model.sort(order);
          }
          expect(q.size).toBe(model.length);
          expect(q.peek()).toBe(model[0]);
          // Each entry where its index says (which events: the pops check).
          expect(q.entries().every((ev, i) => ev.index === i)).toBe(true);
        }
        for (let ev = q.pop(); ev; ev = q.pop()) expect(ev).toBe(model.shift());
        expect(model).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  /** A queue of one event per entry of `times`, pushed in order (entry i has seq i). */
  function queue_of(times: readonly number[]): EventQueue {
    const q = new EventQueue();
    times.forEach((t, i) => {
      const ev = new SimEvent(`e${i}`, () => {});
      ev.time = t;
      ev.seq = i;
      q.push(ev);
    });
    return q;
  }

  it("keeps (time, seq) order across times far apart and a queue that grows and drains", () => {
    // Times up to 2^53 ns and one apart: the keys must stay exact.
    const big = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom(2 ** 53 - 2, 2 ** 53 - 1, 2 ** 40, 2 ** 40 + 1));
    fc.assert(
      fc.property(fc.array(big, { minLength: 1, maxLength: 400, size: "max" }), (times) => {
        const q = queue_of(times);
        const out: [number, number][] = [];
        for (let ev = q.pop(); ev; ev = q.pop()) out.push([ev.time, ev.seq]);
        const want = times.map((t, i): [number, number] => [t, i]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1]));
        expect(out).toEqual(want);
      }),
    );
  });

  it("due_at gives every event due at the top's time, in sequence order, and only those", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 200, size: "max" }), (times) => {
        const q = queue_of(times);
        const out: SimEvent[] = [new SimEvent("stale", () => {})];
        // Drain instant by instant: each due set is exactly the events of that time.
        while (q.size > 0) {
          const top = q.peek()!.time;
          q.due_at(top, out);
          const want = times.flatMap((t, i) => (t === top ? [i] : []));
          expect(out.map((ev) => ev.seq)).toEqual(want);
          for (const ev of out) q.remove(ev);
        }
      }),
    );
  });

  it("top_tied is true exactly while another queued event is due at the top's time", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 200, size: "max" }), (times) => {
        const q = queue_of(times);
        const left = new Map<number, number>();
        for (const t of times) left.set(t, (left.get(t) ?? 0) + 1);
        while (q.size > 0) {
          const top = q.peek()!.time;
          expect(q.top_tied()).toBe(left.get(top)! > 1);
          q.pop();
          left.set(top, left.get(top)! - 1);
        }
      }),
    );
  });

  it("stops at `until` with the clock there, and refuses to schedule in the past", () => {
    const e = new Engine();
    e.schedule(new SimEvent("late", () => {}), 500);
    expect(e.run(100)).toBe("until");
    expect(e.now).toBe(100);
    e.run(Number.MAX_SAFE_INTEGER);
    expect(e.now).toBe(500);
    // With nothing queued, time still passes to a finite limit.
    expect(e.run(600)).toBe("until");
    expect(e.now).toBe(600);
    const ev = new SimEvent("past", () => {});
    expect(() => e.schedule(ev, 10)).toThrow(/in the past/);
  });

  it("fires in (time, seq) order when events requeue, cancel and queue others while they fire", () => {
    // The firing event stays in the queue's top slot until it requeues
    // itself or the handler returns: a model list says what must fire next.
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(7), fc.nat(3), fc.nat(20)), { minLength: 1, maxLength: 300 }), (ops) => {
        const e = new Engine();
        const model = new EventModel(e);
        const sched = (ev: SimEvent, at: number) => model.sched(ev, at);
        const cancel = (ev: SimEvent) => model.cancel(ev);
        let k = 0;
        const evs: SimEvent[] = [];
        const fire = (self: SimEvent) => {
          const first = model.first();
          expect(first.ev).toBe(self);
          expect(e.now).toBe(first.time);
          model.forget(self);
          expect(self.queued).toBe(false);
          expect(e.pending).toBe(model.list.length);
          for (let n = 0; n < 3 && k < ops.length; n++, k++) {
            const [what, which, d] = ops[k]!;
            const ev = evs[which % evs.length]!;
            if (what < 3) sched(ev, e.now + d);
            else if (what < 5) cancel(ev);
            else if (what < 6) sched(self, e.now + d);
            expect(ev.queued).toBe(model.has(ev));
          }
        };
        for (let i = 0; i < 4; i++) evs.push(new SimEvent(`ev${i}`, fire));
        for (const ev of evs) sched(ev, 0);
        e.run(Number.MAX_SAFE_INTEGER, 2000);
        if (e.pending === 0) expect(model.list).toEqual([]);
      }),
    );
  });

  it("ends a run at the event limit", () => {
    const e = new Engine();
    const tick: SimEvent = new SimEvent("tick", () => e.schedule(tick, e.now + 1));
    e.schedule(tick, 0);
    expect(e.run(1e9, 1000)).toBe("event_limit");
    expect(e.events).toBe(1000);
  });
});
