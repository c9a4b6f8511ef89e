import { BUG_ON, MAX_SCHEDULE_TIMEOUT, SLEEP, SimEvent, TimerList, current, in_irq, tick_nsec } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { apply_slack } from "../src/index.js";
import { make_wheel, ms, spawn_on } from "./helpers.js";

describe("jiffies and schedule_timeout (kernel/timer.c)", () => {
  it("TICK_NSEC is 1/HZ s rounded to the nearest ns", () => {
    expect([100, 250, 300, 1000].map(tick_nsec)).toEqual([10_000_000, 4_000_000, 3_333_333, 1_000_000]);
  });

  it("msleep(10) at HZ=1000 sleeps msecs_to_jiffies(10) + 1 = 11 jiffies from the jiffy it starts in", () => {
    const w = make_wheel({ hz: 1000 });
    let woke = -1;
    spawn_on(w, 0, "sleeper", function* () {
      yield SLEEP(0.5 * ms); // now in jiffy 0, half a tick in
      yield* w.t.msleep(10);
      woke = w.k.engine.now;
      return 0;
    });
    w.k.run();
    expect(woke).toBe(11 * ms);
  });

  it("msleep(10) at HZ=250 sleeps ceil(10 * 250 / 1000) + 1 = 4 jiffies of 4 ms", () => {
    const w = make_wheel({ hz: 250 });
    let woke = -1;
    spawn_on(w, 0, "sleeper", function* () {
      yield* w.t.msleep(10);
      woke = w.k.engine.now;
      return 0;
    });
    w.k.run();
    expect(woke).toBe(16 * ms);
  });

  it("schedule_timeout returns the jiffies left when woken early, 0 when it ran out", () => {
    const w = make_wheel();
    const left: number[] = [];
    const p = spawn_on(w, 0, "waiter", function* () {
      left.push(yield* w.t.schedule_timeout_interruptible(100));
      left.push(yield* w.t.schedule_timeout_interruptible(5));
      return 0;
    });
    w.k.engine.schedule(new SimEvent("early", () => in_irq(w.k.sched, 1, () => w.k.sched.wake_up_process(p))), 30.5 * ms);
    w.k.run();
    expect(left).toEqual([70, 0]);
    expect(w.k.engine.now).toBe(35 * ms);
  });

  it("MAX_SCHEDULE_TIMEOUT arms no timer and sleeps until woken", () => {
    const w = make_wheel();
    let ret = 0;
    const p = spawn_on(w, 1, "forever", function* () {
      ret = yield* w.t.schedule_timeout_interruptible(MAX_SCHEDULE_TIMEOUT);
      return 0;
    });
    w.k.run(1000 * ms);
    expect(p.state).toBe("S");
    expect(w.t.timers_on(0).length + w.t.timers_on(1).length).toBe(0);
    in_irq(w.k.sched, 0, () => w.k.sched.wake_up_process(p));
    w.k.run();
    expect(ret).toBe(MAX_SCHEDULE_TIMEOUT);
  });

  it("a sleep costs one engine event for its timer, however long (NO_HZ: no idle ticks)", () => {
    const w = make_wheel();
    spawn_on(w, 0, "sleeper", function* () {
      yield* w.t.schedule_timeout_uninterruptible(120_000);
      return 0;
    });
    const before = w.k.engine.events;
    w.k.run();
    expect(w.k.engine.now).toBe(120_000 * ms);
    // The wake-up's tick, and the sleeper's own steps: no 120000 ticks.
    expect(w.k.engine.events - before).toBeLessThan(10);
  });
});

describe("the timer_list API", () => {
  it("mod_timer returns 1 for a pending timer; a timer runs on the base of the CPU that last added it", () => {
    const w = make_wheel();
    const t = new TimerList("mytimer");
    const ran: [number, number][] = [];
    w.t.setup_timer(t, () => ran.push([w.k.engine.now, current().cpu]), null);
    const rets: number[] = [];
    spawn_on(w, 0, "a", function* () {
      rets.push(w.t.mod_timer(t, 50));
      return 0;
    });
    spawn_on(w, 1, "b", function* () {
      yield SLEEP(10 * ms);
      rets.push(w.t.mod_timer(t, 20));
      rets.push(w.t.mod_timer(t, 20));
      return 0;
    });
    w.k.run();
    expect(rets).toEqual([0, 1, 1]);
    expect(ran).toEqual([[20 * ms, 1]]);
    expect(t.cpu).toBe(1);
  });

  it("a timer whose expiry has passed runs at the next tick, not at once", () => {
    const w = make_wheel();
    const t = new TimerList("late");
    let at = -1;
    w.t.setup_timer(t, () => (at = w.k.engine.now), null);
    spawn_on(w, 0, "a", function* () {
      yield SLEEP(5.2 * ms);
      t.expires = 2;
      w.t.add_timer(t);
      return 0;
    });
    w.k.run();
    expect(at).toBe(6 * ms);
  });

  it("del_timer returns 1 only for a pending timer, and the deleted timer never runs", () => {
    const w = make_wheel();
    const t = new TimerList("gone");
    let ran = 0;
    w.t.setup_timer(t, () => ran++, null);
    const rets: number[] = [];
    spawn_on(w, 0, "a", function* () {
      t.expires = 10;
      w.t.add_timer(t);
      rets.push(w.t.del_timer(t), w.t.del_timer(t));
      return 0;
    });
    w.k.run();
    expect([rets, ran, w.t.timer_pending(t)]).toEqual([[1, 0], 0, false]);
  });

  it("add_timer_on queues on the named CPU's base", () => {
    const w = make_wheel();
    const t = new TimerList("there");
    let cpu = -1;
    w.t.setup_timer(t, () => (cpu = current().cpu), null);
    spawn_on(w, 0, "a", function* () {
      t.expires = 3;
      w.t.add_timer_on(t, 1);
      return 0;
    });
    w.k.run();
    expect(cpu).toBe(1);
  });

  it("del_timer_sync from the timer's own function is a deadlock, reported as a BUG", () => {
    const w = make_wheel();
    const t = new TimerList("self");
    w.t.setup_timer(t, () => void w.t.del_timer_sync(t), null);
    spawn_on(w, 0, "a", function* () {
      t.expires = 1;
      w.t.add_timer(t);
      return 0;
    });
    expect(() => w.k.run()).toThrow(/del_timer_sync\(self\) called from its own function/);
  });

  it("apply_slack (2.6.35) rounds 1000 jiffies ahead up by at most 1000/256 to fewer bits: 1002", () => {
    expect(apply_slack(1000, 0)).toBe(1002);
    // Less than 256 jiffies ahead: no slack.
    expect(apply_slack(100, 0)).toBe(100);
    expect(apply_slack(5, 10)).toBe(5);
    BUG_ON(apply_slack(120_000, 0) < 120_000, "slack never fires early");
    expect(apply_slack(120_000, 0)).toBe(120_320);
  });

  it("2.6.35's mod_timer applies slack; schedule_timeout does not", () => {
    const w = make_wheel({ timer_slack: true });
    const t = new TimerList("slack");
    let at = -1;
    let woke = -1;
    w.t.setup_timer(t, () => (at = w.k.engine.now), null);
    spawn_on(w, 0, "a", function* () {
      w.t.mod_timer(t, 1000);
      yield* w.t.schedule_timeout_uninterruptible(1000);
      woke = w.k.engine.now;
      return 0;
    });
    w.k.run();
    expect([at, woke]).toEqual([1002 * ms, 1000 * ms]);
  });
});
