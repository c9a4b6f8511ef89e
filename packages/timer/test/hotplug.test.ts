import { CPU_DEAD, CPU_UP_PREPARE, SLEEP, TimerList, current, wait_node_name } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { make_wheel, ms, spawn_on, type Wheel } from "./helpers.js";

/** CPU 1 goes offline at `down_ms`; a task on CPU 0 runs the CPU_DEAD chain at `dead_ms`. */
function take_down(w: Wheel, down_ms: number, dead_ms: number): void {
  spawn_on(w, 0, "cpuhp", function* () {
    yield SLEEP(down_ms * ms);
    w.hp.set_online(1, false);
    yield SLEEP((dead_ms - down_ms) * ms);
    yield* w.hp.call_chain(CPU_DEAD, 1);
    return 0;
  });
}

describe("timer_cpu_notify", () => {
  it("registers timers_nb at priority 0 on the cpu chain", () => {
    const w = make_wheel();
    expect(w.hp.chain.map((nb) => [nb.name, nb.priority])).toEqual([["timer_cpu_notify", 0]]);
  });

  it("a dead CPU's timer never fires until CPU_DEAD migrates it; then it runs at the next tick of the CPU running the chain", () => {
    const w = make_wheel();
    const t = new TimerList("stranded");
    const ran: [number, number][] = [];
    w.t.setup_timer(t, () => ran.push([w.k.engine.now, current().cpu]), null);
    spawn_on(w, 1, "adder", function* () {
      w.t.mod_timer(t, 10);
      return 0;
    });
    take_down(w, 5, 30.5);
    w.k.run(25 * ms);
    expect(ran).toEqual([]);
    expect(w.t.timers_on(1)).toEqual([t]);
    w.k.run();
    expect(ran).toEqual([[31 * ms, 0]]);
    expect(w.t.stats.migrated).toBe(1);
  });

  it("traces as 2.6.34 does: timer_start on add, timer_cancel when detached (also on expiry and on migration), expire entry and exit", () => {
    const w = make_wheel({ trace: true });
    const t = new TimerList("traced");
    w.t.setup_timer(t, function traced_fn() {}, null);
    spawn_on(w, 1, "adder", function* () {
      w.t.mod_timer(t, 10);
      return 0;
    });
    take_down(w, 5, 20);
    w.k.run();
    const seen = w.k.records.filter((r) => r.event.startsWith("timer_")).map((r) => `${r.cpu} ${r.event} ${JSON.stringify(r.fields)}`);
    expect(seen).toEqual([
      '1 timer_start {"timer":"traced","function":"traced_fn","expires":10}',
      '0 timer_cancel {"timer":"traced"}',
      '0 timer_cancel {"timer":"traced"}',
      '0 timer_expire_entry {"timer":"traced","function":"traced_fn","now":21}',
      '0 timer_expire_exit {"timer":"traced"}',
    ]);
  });

  it("a timer not yet due keeps its expiry when it moves", () => {
    const w = make_wheel();
    const t = new TimerList("later");
    let at = -1;
    w.t.setup_timer(t, () => (at = w.k.engine.now), null);
    spawn_on(w, 1, "adder", function* () {
      w.t.mod_timer(t, 100);
      return 0;
    });
    take_down(w, 5, 10);
    w.k.run();
    expect([at, t.cpu]).toEqual([100 * ms, 0]);
  });

  it("a sleeper whose timer is stranded waits for timer_cpu_notify(CPU_DEAD), says the wait-for graph", () => {
    const w = make_wheel();
    const sleeper = spawn_on(w, 1, "sleeper", function* () {
      yield* w.t.schedule_timeout_interruptible(10);
      return 0;
    });
    spawn_on(w, 0, "cpuhp", function* () {
      yield SLEEP(5 * ms);
      w.hp.set_online(1, false);
      return 0;
    });
    w.k.run(50 * ms);
    const chain = w.k.waitfor.follow({ kind: "task", task: sleeper });
    expect(chain.path.map((e) => wait_node_name(e.to))).toEqual([
      `timer process_timeout(sleeper/${sleeper.pid})`,
      "notifier timer_cpu_notify (CPU_DEAD)",
    ]);
    expect(chain.path[1]!.because).toContain("offline CPU 1's timer wheel");
  });

  it("CPU_UP_PREPARE finding a timer left on the wheel is a BUG", () => {
    const w = make_wheel();
    const t = new TimerList("left");
    w.t.setup_timer(t, () => {}, null);
    spawn_on(w, 1, "adder", function* () {
      w.t.mod_timer(t, 100);
      return 0;
    });
    spawn_on(w, 0, "cpuhp", function* () {
      yield SLEEP(5 * ms);
      w.hp.set_online(1, false);
      yield* w.hp.call_chain(CPU_UP_PREPARE, 1);
      return 0;
    });
    expect(() => w.k.run()).toThrow(/init_timers_cpu\(1\): timer left is still on CPU 1's wheel/);
  });
});
