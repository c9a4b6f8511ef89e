import {
  exec_context,
  HrTimer,
  HRTIMER_NORESTART,
  HRTIMER_RESTART,
  HRTIMER_STATE_CALLBACK,
  HRTIMER_STATE_ENQUEUED,
  HRTIMER_STATE_INACTIVE,
  NSEC_PER_MSEC,
  NSEC_PER_SEC,
  SCHEDULE,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { MAX_EXPIRIES_PER_INTERRUPT } from "../src/index.js";
import { bug_of, machine, on_cpu, timer, type Firing } from "./helpers.js";

const ms = NSEC_PER_MSEC;

describe("expiry", () => {
  it("fires in expiry order, ties in the order they were (re)started, REALTIME base first at a tie", () => {
    const m = machine();
    const log: Firing[] = [];
    const a = timer(m, "a", log);
    const b = timer(m, "b", log);
    const c = timer(m, "c", log);
    const d = timer(m, "d", log);
    const e = timer(m, "e", log);
    const rt = timer(m, "rt", log, undefined, "CLOCK_REALTIME", "ABS");
    on_cpu(m.k, 0, () => {
      m.hr.hrtimer_start(a, 3 * ms, "ABS");
      m.hr.hrtimer_start(b, 1 * ms, "ABS");
      m.hr.hrtimer_start(c, 3 * ms, "ABS");
      m.hr.hrtimer_start(d, 1 * ms, "ABS");
      m.hr.hrtimer_start(e, 2 * ms, "ABS");
      m.hr.hrtimer_start(rt, 3 * ms, "ABS");
      // Restarting b at the same expiry puts it behind d.
      expect(m.hr.hrtimer_start(b, 1 * ms, "ABS")).toBe(1);
    });
    expect(m.hr.timers_on(0).map((t) => t.name)).toEqual(["d", "b", "e", "rt", "a", "c"]);
    expect(m.hr.next_event(0)).toBe(1 * ms);
    m.k.run();
    expect(log.map((f) => `${f.name}@${f.at / ms}ms`)).toEqual(["d@1ms", "b@1ms", "e@2ms", "rt@3ms", "a@3ms", "c@3ms"]);
    // Interrupt context, on the CPU whose base held the timer.
    expect(log.every((f) => f.cpu === 0 && f.irq > 0)).toBe(true);
    expect(m.hr.stats.fired).toBe(6);
    expect(exec_context().irq).toBe(0);
    expect(m.hr.next_event(0)).toBeNull();
  });

  it("REL adds the current time; an expiry in the past fires at the current time, after hrtimer_start returns", () => {
    const m = machine();
    const log: Firing[] = [];
    const late = timer(m, "late", log);
    const rel = timer(m, "rel", log);
    m.k.run(5 * ms);
    on_cpu(m.k, 1, () => {
      m.hr.hrtimer_start(late, 1 * ms, "ABS");
      m.hr.hrtimer_start(rel, 2 * ms, "REL");
      expect(log).toEqual([]);
    });
    expect(rel.expires).toBe(7 * ms);
    expect(m.hr.next_event(1)).toBe(5 * ms);
    m.k.run();
    expect(log).toEqual([
      { name: "late", at: 5 * ms, cpu: 1, irq: 1 },
      { name: "rel", at: 7 * ms, cpu: 1, irq: 1 },
    ]);
  });

  it("hrtimer_init puts a REALTIME timer that is not plain ABS on CLOCK_MONOTONIC", () => {
    const m = machine();
    const t = new HrTimer("t");
    m.hr.hrtimer_init(t, "CLOCK_REALTIME", "ABS");
    expect(t.clock).toBe("CLOCK_REALTIME");
    for (const mode of ["REL", "ABS_PINNED", "REL_PINNED"] as const) {
      m.hr.hrtimer_init(t, "CLOCK_REALTIME", mode);
      expect(t.clock).toBe("CLOCK_MONOTONIC");
    }
    expect(t.cpu).toBe(-1);
  });

  it("a timer cancelled on another CPU leaves that CPU's device armed: it fires once for nothing", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "t", log);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS"));
    expect(on_cpu(m.k, 0, () => m.hr.hrtimer_try_to_cancel(t))).toBe(1);
    expect(m.hr.next_event(1)).toBe(10 * ms);
    m.k.run();
    expect(log).toEqual([]);
    expect(m.hr.next_event(1)).toBeNull();
    expect(m.k.engine.now).toBe(10 * ms);
    // Cancelled on its own CPU, the device is reprogrammed at once.
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 20 * ms, "ABS"));
    on_cpu(m.k, 1, () => m.hr.hrtimer_try_to_cancel(t));
    expect(m.hr.next_event(1)).toBeNull();
  });
});

describe("hrtimer_forward", () => {
  it("forward by 1 s from expiry 1 s at now 3.5 s: 3 overruns, expiry 4 s", () => {
    const m = machine();
    const t = new HrTimer("t");
    m.hr.hrtimer_init(t, "CLOCK_MONOTONIC", "ABS");
    t.expires = 1 * NSEC_PER_SEC;
    expect(m.hr.hrtimer_forward(t, 3.5 * NSEC_PER_SEC, NSEC_PER_SEC)).toBe(3);
    expect(t.expires).toBe(4 * NSEC_PER_SEC);
  });

  it("0 before the expiry; 1 at it; an exact multiple lands one interval past now", () => {
    const m = machine();
    const t = new HrTimer("t");
    m.hr.hrtimer_init(t, "CLOCK_MONOTONIC", "ABS");
    t.expires = 10;
    expect(m.hr.hrtimer_forward(t, 9, 5)).toBe(0);
    expect(t.expires).toBe(10);
    expect(m.hr.hrtimer_forward(t, 10, 5)).toBe(1);
    expect(t.expires).toBe(15);
    expect(m.hr.hrtimer_forward(t, 25, 5)).toBe(3);
    expect(t.expires).toBe(30);
    // An interval below the resolution (1 ns) counts as 1 ns.
    expect(m.hr.hrtimer_forward(t, 32, 0)).toBe(3);
    expect(t.expires).toBe(33);
  });

  it("large overruns take the division path and stay exact near 2^53 ns", () => {
    const m = machine();
    const t = new HrTimer("t");
    m.hr.hrtimer_init(t, "CLOCK_MONOTONIC", "ABS");
    t.expires = 7;
    const interval = 3_000_000_007;
    const now = Number.MAX_SAFE_INTEGER - 2 * interval;
    const orun = m.hr.hrtimer_forward(t, now, interval);
    const delta = BigInt(now) - 7n;
    const want = delta / BigInt(interval) + 1n;
    expect(BigInt(orun)).toBe(want);
    expect(BigInt(t.expires)).toBe(7n + want * BigInt(interval));
    expect(t.expires > now && t.expires - interval <= now).toBe(true);
    // Past KTIME_MAX (2^53 - 1 ns in ksim) the expiry saturates, as ktime_add_safe does.
    t.expires = Number.MAX_SAFE_INTEGER - 10;
    expect(m.hr.hrtimer_forward(t, Number.MAX_SAFE_INTEGER - 5, 100)).toBe(1);
    expect(t.expires).toBe(Number.MAX_SAFE_INTEGER);
  });

  it("WARNs on a queued timer (later kernels do; 2.6.34 corrupts the queue order)", () => {
    const m = machine();
    const t = timer(m, "t", []);
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 10, "ABS"));
    const bug = bug_of(() => m.hr.hrtimer_forward(t, 100, 5));
    expect(bug.kind).toBe("WARNING");
    expect(bug.message).toBe("hrtimer_forward(t) on a queued timer");
  });
});

describe("restart and norestart", () => {
  it("HRTIMER_RESTART re-queues on the same base; NORESTART leaves it inactive", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "tick", log, (self) => {
      m.hr.hrtimer_forward(self, m.hr.hrtimer_cb_get_time(self), 10 * ms);
      return log.length < 3 ? HRTIMER_RESTART : HRTIMER_NORESTART;
    });
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "REL"));
    m.k.run();
    expect(log.map((f) => [f.at / ms, f.cpu])).toEqual([
      [10, 1],
      [20, 1],
      [30, 1],
    ]);
    expect(t.state).toBe(HRTIMER_STATE_INACTIVE);
    expect(m.hr.hrtimer_active(t)).toBe(false);
    // The RESTARTs are traced as starts, as enqueue_hrtimer does.
    const starts = m.k.records.filter((r) => r.event === "hrtimer_start").map((r) => r.fields["expires"]);
    expect(starts).toEqual([10 * ms, 20 * ms, 30 * ms]);
  });

  it("NORESTART after the callback re-started its own timer: it fires again", () => {
    const m = machine();
    const log: Firing[] = [];
    const ret: number[] = [];
    const t = timer(m, "again", log, (self) => {
      if (log.length === 1) ret.push(m.hr.hrtimer_start(self, 5 * ms, "REL"));
      return HRTIMER_NORESTART;
    });
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    m.k.run();
    expect(log.map((f) => f.at / ms)).toEqual([1, 6]);
    // It was not queued when its callback restarted it.
    expect(ret).toEqual([0]);
    expect(m.hr.hrtimer_active(t)).toBe(false);
  });

  it("RESTART from a callback that also re-started the timer is the kernel's BUG_ON", () => {
    const m = machine();
    const t = timer(m, "both", [], (self) => {
      m.hr.hrtimer_start(self, 5 * ms, "REL");
      return HRTIMER_RESTART;
    });
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    expect(bug_of(() => m.k.run()).message).toBe(
      "hrtimer both: callback returned HRTIMER_RESTART but the timer was restarted or cancelled inside it (state 3)",
    );
    expect(m.k.engine.bug?.at_ns).toBe(1 * ms);
    expect(exec_context().irq).toBe(0);
  });

  it("a callback that RESTARTs without moving its expiry is a livelock", () => {
    const m = machine({ trace: false });
    const log: Firing[] = [];
    const t = timer(m, "stuck", log, () => HRTIMER_RESTART);
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    expect(bug_of(() => m.k.run()).message).toMatch(/^hrtimer interrupt livelock on CPU 0: stuck keeps expiring at 1000000 ns/);
    expect(log.length).toBe(MAX_EXPIRIES_PER_INTERRUPT);
  });
});

describe("cancel", () => {
  it("try_to_cancel: 1 when queued, 0 when not, -1 while its callback runs", () => {
    const m = machine();
    const seen: Record<string, unknown>[] = [];
    const t = timer(m, "t", [], (self) => {
      seen.push({
        try_to_cancel: m.hr.hrtimer_try_to_cancel(self),
        running: m.hr.hrtimer_callback_running(self),
        active: m.hr.hrtimer_active(self),
        queued: m.hr.hrtimer_is_queued(self),
        state: self.state,
      });
      return HRTIMER_NORESTART;
    });
    expect(m.hr.hrtimer_try_to_cancel(t)).toBe(0);
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    expect(m.hr.hrtimer_is_queued(t)).toBe(true);
    expect(m.hr.hrtimer_try_to_cancel(t)).toBe(1);
    expect(m.hr.hrtimer_try_to_cancel(t)).toBe(0);
    expect(m.hr.hrtimer_cancel(t)).toBe(0);
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 2 * ms, "ABS"));
    m.k.run();
    expect(seen).toEqual([{ try_to_cancel: -1, running: true, active: true, queued: false, state: HRTIMER_STATE_CALLBACK }]);
    expect(m.hr.hrtimer_callback_running(t)).toBe(false);
    expect(m.k.records.filter((r) => r.event === "hrtimer_cancel").length).toBe(2);
  });

  it("hrtimer_cancel from the timer's own callback deadlocks: BUG", () => {
    const m = machine();
    const t = timer(m, "selfcancel", [], (self) => {
      m.hr.hrtimer_cancel(self);
      return HRTIMER_NORESTART;
    });
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    expect(bug_of(() => m.k.run()).message).toBe(
      "hrtimer_cancel(selfcancel) called from its own callback on CPU 1: it waits for the callback to finish, which never happens (deadlock)",
    );
  });

  it("2.6.34's remove_hrtimer drops the CALLBACK bit: a second start inside the callback makes it cancellable", () => {
    const m = machine();
    const got: number[] = [];
    const t = timer(m, "twice", [], (self) => {
      m.hr.hrtimer_start(self, 5 * ms, "REL");
      m.hr.hrtimer_start(self, 6 * ms, "REL");
      got.push(self.state, m.hr.hrtimer_try_to_cancel(self));
      return HRTIMER_NORESTART;
    });
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    m.k.run();
    expect(got).toEqual([HRTIMER_STATE_ENQUEUED, 1]);
  });
});

describe("switch_hrtimer_base", () => {
  it("a timer moves to the base of the CPU that starts it, and fires there", () => {
    const m = machine({ cpus: 3 });
    const log: Firing[] = [];
    const t = timer(m, "t", log);
    expect(on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS"))).toBe(0);
    expect(t.cpu).toBe(1);
    expect(on_cpu(m.k, 2, () => m.hr.hrtimer_start(t, 10 * ms, "ABS"))).toBe(1);
    expect(t.cpu).toBe(2);
    expect(m.hr.timers_on(1)).toEqual([]);
    expect(m.hr.timers_on(2)).toEqual([t]);
    m.k.run();
    expect(log).toEqual([{ name: "t", at: 10 * ms, cpu: 2, irq: 1 }]);
  });

  it("PINNED pins to the starting CPU: without NO_HZ that is where every start goes", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "pinned", log, undefined, "CLOCK_MONOTONIC", "ABS_PINNED");
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 10 * ms, "ABS_PINNED"));
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 12 * ms, "ABS_PINNED"));
    expect(t.cpu).toBe(1);
    // Started ABS_PINNED from CPU 0 (as start_rt_bandwidth does), it moves to CPU 0.
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 14 * ms, "ABS_PINNED"));
    expect(t.cpu).toBe(0);
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 2 * ms, "REL_PINNED"));
    expect(t.cpu).toBe(1);
    m.k.run();
    expect(log).toEqual([{ name: "pinned", at: 2 * ms, cpu: 1, irq: 1 }]);
  });

  it("a timer whose callback runs stays on its base when restarted, even from another CPU", () => {
    const m = machine();
    const log: Firing[] = [];
    const t = timer(m, "self", log, (self) => {
      if (log.length === 1) m.hr.hrtimer_start(self, 5 * ms, "REL");
      if (log.length === 2) {
        // Code on CPU 0 restarting it while its callback runs on CPU 1
        // (instantaneous callbacks make this rare; an IPI nested here shows it).
        on_cpu(m.k, 0, () => m.hr.hrtimer_start(self, 5 * ms, "REL"));
      }
      return HRTIMER_NORESTART;
    });
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    m.k.run();
    expect(log.map((f) => [f.at / ms, f.cpu])).toEqual([
      [1, 1],
      [6, 1],
      [11, 1],
    ]);
  });

  it("hrtimer_start outside any CPU context, or before hrtimer_init, is a BUG", () => {
    const m = machine();
    const t = new HrTimer("orphan");
    m.hr.hrtimer_init(t, "CLOCK_MONOTONIC", "ABS");
    expect(bug_of(() => m.hr.hrtimer_start(t, 1, "ABS")).message).toBe(
      "hrtimer_start(orphan) outside any CPU context: a timer goes to the base of the CPU that starts it",
    );
    const raw = new HrTimer("raw");
    expect(bug_of(() => on_cpu(m.k, 0, () => m.hr.hrtimer_start(raw, 1, "ABS"))).message).toBe("hrtimer_start(raw) before hrtimer_init");
  });
});

describe("trace events", () => {
  it("start, expiry (traced as a cancel first, as 2.6.34's debug_deactivate does), and the callback's name", () => {
    const m = machine();
    const t = new HrTimer("my_timer");
    m.hr.hrtimer_init(t, "CLOCK_MONOTONIC", "ABS");
    t.function = function my_fn() {
      return HRTIMER_NORESTART;
    };
    on_cpu(m.k, 1, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    m.k.run();
    expect(m.k.records.map((r) => [r.ts, r.cpu, r.event, r.fields])).toEqual([
      [0, 1, "hrtimer_start", { hrtimer: "my_timer", function: "my_fn", expires: 1 * ms, softexpires: 1 * ms }],
      [1 * ms, 1, "hrtimer_cancel", { hrtimer: "my_timer" }],
      [1 * ms, 1, "hrtimer_expire_entry", { hrtimer: "my_timer", now: 1 * ms, function: "my_fn" }],
      [1 * ms, 1, "hrtimer_expire_exit", { hrtimer: "my_timer" }],
    ]);
  });

  it("an anonymous callback is named after its timer", () => {
    const m = machine();
    const t = timer(m, "sched_rt_period_timer", []);
    on_cpu(m.k, 0, () => m.hr.hrtimer_start(t, 1 * ms, "ABS"));
    expect(m.k.records[0]?.fields["function"]).toBe("sched_rt_period_timer");
  });
});

describe("process context", () => {
  it("a task starts a timer on its CPU; the callback wakes it", () => {
    const m = machine();
    const log: Firing[] = [];
    const events: string[] = [];
    const p = m.k.spawn({
      comm: "waiter",
      cpu: 1,
      *threadfn(self) {
        const t = timer(m, "wakeup", log, () => {
          m.k.sched.wake_up_process(self);
          return HRTIMER_NORESTART;
        });
        m.hr.hrtimer_start(t, 3 * ms, "REL");
        events.push(`started on ${t.cpu} at ${m.k.engine.now}`);
        self.state = "S";
        yield SCHEDULE;
        events.push(`woken at ${m.k.engine.now / ms}ms`);
        return 0;
      },
    });
    m.k.run();
    expect(events).toEqual(["started on 1 at 0", "woken at 3ms"]);
    expect(log).toEqual([{ name: "wakeup", at: 3 * ms, cpu: 1, irq: 1 }]);
    expect(p.state).toBe("X");
  });
});
