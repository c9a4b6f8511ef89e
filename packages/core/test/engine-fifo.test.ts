import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Engine, SimEvent, type RunEnd, type TiePolicy } from "../src/index.js";
import { EventModel } from "./event-model.js";

/**
 * The engine against a reference model, a plain list ordered by (time, seq):
 * handlers schedule others and themselves at `now` (the FIFO's path) and
 * later, cancel, stop the run, and install or remove a tie policy, while
 * runs end at `until` (also before `now`), the event limit or a stop.
 */
const NR_EVENTS = 6;
// [what, which event, delay]; delay 0 is the common case: an event due now.
const op = fc.tuple(fc.nat(9), fc.nat(NR_EVENTS - 1), fc.oneof(fc.constant(0), fc.constant(0), fc.nat(6)));
const run_arg = fc.tuple(fc.integer({ min: -3, max: 12 }), fc.integer({ min: 1, max: 40 }));

function check(e: Engine, ops: [number, number, number][], runs: [number, number][], with_policy: boolean): void {
  const e_evs: SimEvent[] = [];
  const m = new EventModel(e);
  let k = 0;
  let fired = 0;
  const sched = (ev: SimEvent, at: number) => m.sched(ev, at);
  const cancel = (ev: SimEvent) => m.cancel(ev);
  // pending_events() takes a firing event out of the heap's top slot for
  // good, so a handler lists them only now and then (op 9): the in-place
  // requeue of the firing event must be exercised too.
  const agree = (list: boolean) => {
    expect(e.pending).toBe(m.list.length);
    for (const ev of e_evs) expect(ev.queued).toBe(m.has(ev));
    if (!list) return;
    const names = e.pending_events().map((x) => x.name);
    expect(names.sort()).toEqual(m.list.map((q) => q.ev.name).sort());
  };
  // Picks the lowest sequence number, as no policy does, and checks that it
  // is shown every event due, FIFO or heap.
  const policy: TiePolicy = {
    choose(due, now) {
      const want = m.list
        .filter((q) => q.time === now)
        .sort((a, b) => a.seq - b.seq)
        .map((q) => q.ev);
      expect(due).toEqual(want);
      return 0;
    },
  };
  const fire = (self: SimEvent) => {
    const f = m.first();
    expect(f.ev).toBe(self);
    expect(e.now).toBe(f.time);
    m.forget(self);
    fired++;
    expect(self.queued).toBe(false);
    agree(false);
    for (let n = 0; n < 3 && k < ops.length; n++, k++) {
      const [what, which, d] = ops[k]!;
      const ev = e_evs[which]!;
      if (what < 2) sched(ev, e.now);
      else if (what < 4) sched(ev, e.now + d);
      else if (what < 5) cancel(ev);
      else if (what < 6) sched(self, e.now + d);
      else if (what < 7) sched(self, e.now);
      else if (what < 8) e.stop("op");
      else if (what < 9) {
        if (with_policy) e.tie_policy = e.tie_policy === null ? policy : null;
      } else agree(true);
      agree(false);
    }
  };
  for (let i = 0; i < NR_EVENTS; i++) e_evs.push(new SimEvent(`ev${i}`, fire));
  for (const ev of e_evs.slice(0, 3)) sched(ev, 0);
  for (const [du, max] of runs) {
    const until = Math.max(0, e.now + du);
    const before = fired;
    const now_before = e.now;
    const end: RunEnd = e.run(until, e.events + max);
    if (end === "stopped") {
      e.stop_reason = null;
    } else if (end === "event_limit") {
      expect(fired - before).toBe(max);
    } else if (end === "drained") {
      expect(m.list).toEqual([]);
    } else {
      expect(end).toBe("until");
      // With nothing queued the clock only moves forward; else it stops at `until`.
      if (m.list.length > 0) {
        expect(e.now).toBe(until);
        expect(m.first().time).toBeGreaterThan(until);
      } else {
        expect(e.now).toBe(Math.max(now_before, until));
      }
    }
    agree(true);
    // From outside a handler: an event due at the instant the run ended.
    if (k < ops.length) {
      const [, which] = ops[k++]!;
      sched(e_evs[which]!, e.now);
      agree(true);
    }
  }
  e.run(Number.MAX_SAFE_INTEGER, e.events + 5000);
}

describe("Engine FIFO of events due now", () => {
  it("fires in (time, seq) order as a reference model says, with no tie policy", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 400, size: "max" }),
        fc.array(run_arg, { minLength: 1, maxLength: 20, size: "max" }),
        (ops, runs) => check(new Engine(), ops, runs, false),
      ),
    );
  });

  it("a tie policy installed or removed while events are due now sees every one of them", () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 400, size: "max" }),
        fc.array(run_arg, { minLength: 1, maxLength: 20, size: "max" }),
        fc.boolean(),
        (ops, runs, start_with_policy) => {
          const e = new Engine();
          check(e, ops, runs, true);
          if (start_with_policy) {
            // Again on a fresh engine that has the policy from the start.
            const e2 = new Engine();
            e2.tie_policy = { choose: () => 0 };
            check(e2, ops, runs, true);
          }
        },
      ),
    );
  });

  it("events scheduled now fire after those already due now and before later ones", () => {
    const e = new Engine();
    const fired: string[] = [];
    const log = (name: string) => new SimEvent(name, () => fired.push(name));
    const b = log("b@10");
    const c = log("c@now");
    const d = log("d@now-cancelled");
    const f = log("f@now-moved");
    const g = log("g@11");
    const a = new SimEvent("a@10", () => {
      fired.push("a@10");
      e.schedule(c, e.now);
      e.schedule(d, e.now);
      e.schedule(f, e.now);
      e.cancel(d);
      e.schedule(f, 11);
      expect(d.queued).toBe(false);
      expect(c.queued).toBe(true);
      expect(e.pending).toBe(4);
    });
    e.schedule(a, 10);
    e.schedule(b, 10);
    e.schedule(g, 11);
    expect(e.run(100)).toBe("until");
    expect(fired).toEqual(["a@10", "b@10", "c@now", "g@11", "f@now-moved"]);
  });
});
