import {
  CPU_DEAD,
  CPU_DEAD_FROZEN,
  CPU_DYING,
  CPU_UP_PREPARE,
  HRTIMER_NORESTART,
  NOTIFY_OK,
  NSEC_PER_MSEC,
  NSEC_PER_SEC,
  smp_processor_id,
  wait_node_name,
  type KernelCall,
  type NotifierBlock,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { HRTIMER_CPU_NOTIFY_PRIORITY } from "../src/index.js";
import { bug_of, machine, on_cpu, run_to, timer, type Firing, type Machine } from "./helpers.js";

const ms = NSEC_PER_MSEC;

/** A notifier call that must not block, run to its end. */
function drive<T>(call: KernelCall<T>): T {
  const r = call.next();
  if (r.done !== true) throw new Error("the notifier chain blocked");
  return r.value;
}

/** cpu_down's take_cpu_down, as far as hrtimers see it: offline, then CPU_DYING on the dying CPU. */
function take_cpu_down(m: Machine, cpu: number): void {
  m.hotplug.set_online(cpu, false);
  on_cpu(m.k, cpu, () => m.hotplug.call_chain_atomic(CPU_DYING, cpu));
}

describe("CPU_DYING and CPU_DEAD", () => {
  it("a timer on an offline base never fires, and waits for hrtimer_cpu_notify(CPU_DEAD)", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "sched_rt_period_timer", log);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS_PINNED"));
    expect(m.k.waitfor.explain({ kind: "hrtimer", timer: t })).toBeNull();
    m.k.run(5 * ms);
    take_cpu_down(m, 1);
    expect(m.hr.next_event(1)).toBeNull();
    expect(m.hr.base_online(1)).toBe(false);
    run_to(m, NSEC_PER_SEC);
    expect(log).toEqual([]);
    expect(m.hr.timers_on(1)).toEqual([t]);
    const edge = m.k.waitfor.explain({ kind: "hrtimer", timer: t });
    expect(edge && [wait_node_name(edge.from), wait_node_name(edge.to), edge.because]).toEqual([
      "hrtimer sched_rt_period_timer",
      "notifier hrtimer_cpu_notify (CPU_DEAD)",
      "sched_rt_period_timer is queued on offline CPU 1's hrtimer base; only hrtimer_cpu_notify(CPU_DEAD) moves it to a live CPU",
    ]);
  });

  it("CPU_DEAD moves every timer to the CPU running the notifier; the expired ones fire inside the call", () => {
    const m = machine({ cpus: 3 });
    const log: Firing[] = [];
    const period = timer(m, "sched_rt_period_timer", log);
    const wall = timer(m, "wall", log, undefined, "CLOCK_REALTIME", "ABS");
    const later = timer(m, "later", log);
    on_cpu(m.k, 1, () => {
      m.hr.hrtimer_start(later, 2 * NSEC_PER_SEC, "ABS");
      m.hr.hrtimer_start(period, 10 * ms, "ABS");
      m.hr.hrtimer_start(wall, 20 * ms, "ABS");
    });
    m.k.run(5 * ms);
    take_cpu_down(m, 1);
    run_to(m, NSEC_PER_SEC);
    expect(log).toEqual([]);

    const seen: string[] = [];
    m.k.spawn({
      comm: "cpuhp",
      cpu: 2,
      *threadfn() {
        seen.push(`before: fired ${m.hr.stats.fired}`);
        const ret = yield* m.hotplug.call_chain(CPU_DEAD, 1);
        seen.push(`after: fired ${m.hr.stats.fired}, ret ${ret}, on CPU ${smp_processor_id()}`);
        return 0;
      },
    });
    m.k.run(1.5 * NSEC_PER_SEC);
    expect(seen).toEqual(["before: fired 0", `after: fired 2, ret ${NOTIFY_OK}, on CPU 2`]);
    // Fired on CPU 2, in interrupt context, at the time of the call; the REALTIME base first.
    expect(log).toEqual([
      { name: "wall", at: NSEC_PER_SEC, cpu: 2, irq: 1 },
      { name: "sched_rt_period_timer", at: NSEC_PER_SEC, cpu: 2, irq: 1 },
    ]);
    expect(m.hr.stats.migrated).toBe(3);
    expect(m.hr.timers_on(1)).toEqual([]);
    expect(m.hr.timers_on(2)).toEqual([later]);
    expect(later.expires).toBe(2 * NSEC_PER_SEC);
    expect(m.k.waitfor.explain({ kind: "hrtimer", timer: later })).toBeNull();
    const migrations = m.k.records.filter((r) => r.event === "hrtimer_migrate").map((r) => [r.fields["hrtimer"], r.fields["from_cpu"], r.fields["to_cpu"]]);
    expect(migrations).toEqual([
      ["wall", 1, 2],
      ["sched_rt_period_timer", 1, 2],
      ["later", 1, 2],
    ]);
    m.k.run();
    expect(log.at(-1)).toEqual({ name: "later", at: 2 * NSEC_PER_SEC, cpu: 2, irq: 1 });
    expect(m.hotplug.calls).toEqual([
      ["hrtimer_cpu_notify", CPU_DYING, 1, NOTIFY_OK],
      ["hrtimer_cpu_notify", CPU_DEAD, 1, NOTIFY_OK],
    ]);
  });

  it("migrated timers queue behind the live CPU's timers of equal expiry", () => {
    const m = machine();
    const log: Firing[] = [];
    const here = timer(m, "here", log);
    const there = timer(m, "there", log);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(there, 10 * ms, "ABS"));
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(here, 10 * ms, "ABS"));
    take_cpu_down(m, 1);
    on_cpu(m.k, 0, () => drive(m.hotplug.call_chain(CPU_DEAD_FROZEN, 1)));
    expect(m.hr.timers_on(0).map((t) => t.name)).toEqual(["here", "there"]);
    m.k.run();
    expect(log.map((f) => `${f.name}@${f.at / ms}/${f.cpu}`)).toEqual(["here@10/0", "there@10/0"]);
  });

  it("a timer started on the dying CPU after its CPU_DYING stays unarmed there until CPU_DEAD", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "late", log);
    m.hotplug.register_cpu_notifier({
      name: "late_dying",
      priority: -1,
      *notifier_call(_nb, action) {
        if (action === CPU_DYING) m.hr.hrtimer_start(t, 1 * ms, "REL");
        return NOTIFY_OK;
      },
    });
    take_cpu_down(m, 1);
    expect(t.cpu).toBe(1);
    expect(m.hr.next_event(1)).toBeNull();
    run_to(m, 10 * ms);
    expect(log).toEqual([]);
    expect(m.k.waitfor.explain({ kind: "hrtimer", timer: t })?.to).toEqual({ kind: "notifier", name: "hrtimer_cpu_notify", event: "CPU_DEAD" });
    on_cpu(m.k, 0, () => drive(m.hotplug.call_chain(CPU_DEAD, 1)));
    // irq 2: this test runs the chain from an interrupt on CPU 0, and hrtimer_interrupt nests in it.
    expect(log).toEqual([{ name: "late", at: 10 * ms, cpu: 0, irq: 2 }]);
  });

  it("__cpu_disable masks the local timer: with no CPU_DYING at all, the dying CPU's timer stays silent until CPU_DEAD moves it", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "stranded", log);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS"));
    // Offline with the interrupt masked, as clear_local_APIC leaves it; no CPU_DYING notifier ran.
    m.hotplug.set_online(1, false);
    expect(m.hotplug.local_timer_masked(1)).toBe(true);
    expect(m.hr.next_event(1)).toBe(null);
    m.k.run(20 * ms);
    expect(log).toEqual([]);
    expect(m.hr.hrtimer_is_queued(t)).toBe(true);
    expect(t.cpu).toBe(1);
    // CPU_DEAD on CPU 0: migrate_hrtimers, and the overdue timer fires there at once.
    on_cpu(m.k, 0, () => drive(m.hotplug.call_chain(CPU_DEAD, 1)));
    expect(log).toEqual([{ name: "stranded", at: 20 * ms, cpu: 0, irq: 2 }]);
  });

  it("migrate_hrtimers of an online CPU is a BUG", () => {
    const m = machine();
    const bug = bug_of(() => on_cpu(m.k, 0, () => drive(m.hotplug.call_chain(CPU_DEAD, 1))));
    expect(bug.message).toBe("migrate_hrtimers(1): CPU 1 is online");
  });

  it("CPU_UP_PREPARE wants an empty base; after CPU_DEAD the CPU takes timers again", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "t", log);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS"));
    take_cpu_down(m, 1);
    expect(bug_of(() => drive(m.hotplug.call_chain(CPU_UP_PREPARE, 1))).message).toBe(
      "init_hrtimers_cpu(1): hrtimer t is still queued on CPU 1's base (hrtimer_cpu_notify(CPU_DEAD) never moved it)",
    );
    on_cpu(m.k, 0, () => drive(m.hotplug.call_chain(CPU_DEAD, 1)));
    expect(drive(m.hotplug.call_chain(CPU_UP_PREPARE, 1))).toBe(NOTIFY_OK);
    m.hotplug.set_online(1, true);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 20 * ms, "ABS"));
    m.k.run();
    expect(log).toEqual([{ name: "t", at: 20 * ms, cpu: 1, irq: 1 }]);
  });
});

describe("the notifier's priority", () => {
  /**
   * The seed hang's two CPU_DEAD notifiers: migration_call (10) looks at
   * where the period timer is when it runs.
   */
  function dead_order(priority: number | undefined): { calls: string[]; timer_cpu_seen_by_migration_call: number; fired_before: number } {
    const m = machine(priority === undefined ? {} : { priority });
    const t = timer(m, "sched_rt_period_timer", [], () => HRTIMER_NORESTART);
    let timer_cpu = -2;
    let fired = -1;
    const migration_call: NotifierBlock = {
      name: "migration_call",
      priority: 10,
      *notifier_call(_nb, action) {
        if (action === CPU_DEAD) {
          timer_cpu = t.cpu;
          fired = m.hr.stats.fired;
        }
        return NOTIFY_OK;
      },
    };
    m.hotplug.register_cpu_notifier(migration_call);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS"));
    m.k.run(5 * ms);
    take_cpu_down(m, 1);
    run_to(m, 50 * ms);
    m.hotplug.calls.length = 0;
    on_cpu(m.k, 0, () => drive(m.hotplug.call_chain(CPU_DEAD, 1)));
    return { calls: m.hotplug.calls.map((c) => c[0]), timer_cpu_seen_by_migration_call: timer_cpu, fired_before: fired };
  }

  it("defaults to 0: at CPU_DEAD migration_call (10) runs first and finds the timer still on the dead CPU", () => {
    expect(HRTIMER_CPU_NOTIFY_PRIORITY).toBe(0);
    expect(machine().hr.hrtimers_nb.priority).toBe(0);
    expect(dead_order(undefined)).toEqual({
      calls: ["migration_call", "hrtimer_cpu_notify"],
      timer_cpu_seen_by_migration_call: 1,
      fired_before: 0,
    });
  });

  it("at 20 hrtimer_cpu_notify runs first: the timer has moved to CPU 0 and fired before migration_call runs", () => {
    expect(dead_order(20)).toEqual({
      calls: ["hrtimer_cpu_notify", "migration_call"],
      timer_cpu_seen_by_migration_call: 0,
      fired_before: 1,
    });
  });
});
