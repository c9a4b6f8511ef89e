import { CPU_DEAD, CPU_DYING, CPU_UP_PREPARE, NSEC_PER_USEC } from "@ksim/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { machine, on_cpu, timer, type Firing } from "./helpers.js";

const us = NSEC_PER_USEC;
const CPUS = 3;

type Op =
  | { kind: "start"; dt: number; t: number; cpu: number; expires: number }
  | { kind: "cancel"; dt: number; t: number; cpu: number }
  | { kind: "hotplug"; dt: number; cpu: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("start" as const), dt: fc.nat(10), t: fc.nat(5), cpu: fc.nat(CPUS - 1), expires: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("cancel" as const), dt: fc.nat(10), t: fc.nat(5), cpu: fc.nat(CPUS - 1) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("hotplug" as const), dt: fc.nat(10), cpu: fc.integer({ min: 1, max: CPUS - 1 }) }) },
);

/** The reference: per CPU, queued timers; a timer fires at max(expiry, when it was queued). */
interface Ref {
  name: string;
  expires: number;
  seq: number;
  queued_at: number;
}

type CpuState = "online" | "dying" | "dead";

/**
 * Random starts, cancels and hotplug steps (online -> CPU_DYING -> CPU_DEAD,
 * run from CPU 0 -> CPU_UP_PREPARE and online again), against a reference
 * model: per CPU, timers fire in (expiry, start order) at max(expiry, the
 * time they were queued), never on a CPU that is not online, and CPU_DEAD
 * moves them to CPU 0 behind its own and fires what is overdue at once.
 */
function check(ops: Op[]): void {
  const m = machine({ cpus: CPUS, trace: false });
  const log: Firing[] = [];
  const timers = Array.from({ length: 6 }, (_, i) => timer(m, `t${i}`, log));
  const state: CpuState[] = Array.from({ length: CPUS }, (): CpuState => "online");
  const queues: Ref[][] = Array.from({ length: CPUS }, () => []);
  const fired: string[][] = Array.from({ length: CPUS }, () => []);
  let seq = 0;

  const fire_due = (cpu: number, until: number): void => {
    if (state[cpu] !== "online") return;
    const q = queues[cpu]!;
    const due = q.filter((r) => r.expires <= until).sort((a, b) => a.expires - b.expires || a.seq - b.seq);
    for (const r of due) {
      fired[cpu]!.push(`${r.name}@${Math.max(r.expires, r.queued_at)}`);
      q.splice(q.indexOf(r), 1);
    }
  };
  const unqueue = (name: string): boolean => {
    for (const q of queues) {
      const i = q.findIndex((r) => r.name === name);
      if (i >= 0) {
        q.splice(i, 1);
        return true;
      }
    }
    return false;
  };

  let t = 0;
  for (const o of ops) {
    t += o.dt * us;
    m.k.run(t);
    for (let c = 0; c < CPUS; c++) fire_due(c, t);
    const now = m.k.engine.now;
    if (o.kind === "start") {
      if (state[o.cpu] !== "online") continue;
      const tm = timers[o.t]!;
      const was = unqueue(tm.name) ? 1 : 0;
      expect(on_cpu(m.k, o.cpu, () => m.hr.hrtimer_start(tm, o.expires * us, "ABS"))).toBe(was);
      queues[o.cpu]!.push({ name: tm.name, expires: o.expires * us, seq: seq++, queued_at: now });
    } else if (o.kind === "cancel") {
      const tm = timers[o.t]!;
      const was = unqueue(tm.name) ? 1 : 0;
      expect(on_cpu(m.k, o.cpu, () => m.hr.hrtimer_try_to_cancel(tm))).toBe(was);
    } else {
      const c = o.cpu;
      if (state[c] === "online") {
        m.hotplug.set_online(c, false);
        on_cpu(m.k, c, () => m.hotplug.call_chain_atomic(CPU_DYING, c));
        state[c] = "dying";
      } else if (state[c] === "dying") {
        on_cpu(m.k, 0, () => m.hotplug.call_chain_atomic(CPU_DEAD, c));
        const moved = queues[c]!.sort((a, b) => a.expires - b.expires || a.seq - b.seq);
        for (const r of moved) queues[0]!.push({ ...r, seq: seq++, queued_at: now });
        queues[c] = [];
        state[c] = "dead";
        fire_due(0, now);
      } else {
        m.hotplug.call_chain_atomic(CPU_UP_PREPARE, c);
        m.hotplug.set_online(c, true);
        state[c] = "online";
      }
    }
    for (let c = 0; c < CPUS; c++) {
      expect(m.hr.timers_on(c).map((x) => x.name)).toEqual(
        [...queues[c]!].sort((a, b) => a.expires - b.expires || a.seq - b.seq).map((r) => r.name),
      );
    }
  }
  m.k.run();
  for (let c = 0; c < CPUS; c++) fire_due(c, Number.POSITIVE_INFINITY);
  for (let c = 0; c < CPUS; c++) {
    expect(log.filter((f) => f.cpu === c).map((f) => `${f.name}@${f.at}`)).toEqual(fired[c]);
  }
  expect(log.every((f) => f.irq > 0)).toBe(true);
  expect(m.hr.stats.fired).toBe(log.length);
}

describe("against a reference model", () => {
  it("expiry order, base switching, cancels and CPU_DEAD migration agree", () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 40, size: "max" }), check), { numRuns: 300, seed: 20100519 });
  });
});
