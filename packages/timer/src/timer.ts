/**
 * kernel/timer.c of Linux 2.6.34: jiffies, the per-CPU timer wheel
 * (struct tvec_base), the timer_list API, schedule_timeout() and msleep(),
 * and the CPU-hotplug notifier that moves a dead CPU's timers
 * (timer_cpu_notify).
 *
 * Modelled as 2.6.34 runs with CONFIG_SMP, CONFIG_HOTPLUG_CPU and
 * CONFIG_NO_HZ: a CPU's tick runs only when one of its timers is due, so a
 * timer costs one engine event. See README.md, "Model fidelity".
 */
import {
  BUG,
  BUG_ON,
  CPU_DEAD,
  CPU_DEAD_FROZEN,
  CPU_UP_PREPARE,
  CPU_UP_PREPARE_FROZEN,
  EventQueue,
  MAX_SCHEDULE_TIMEOUT,
  NOTIFY_OK,
  SCHEDULE,
  SimEvent,
  TimerList,
  block_on,
  current,
  msecs_to_jiffies,
  raw_smp_processor_id,
  smp_processor_id,
  tick_nsec,
  unblock,
  type Kernel,
  type KernelCall,
  type Nanoseconds,
  type NotifierBlock,
  type TaskStruct,
  type TimerOps,
  type TimerStats,
  type WaitEdge,
  type WaitNode,
  type Waitable,
} from "@ksim/core";

declare module "@ksim/core" {
  interface TraceEvents {
    timer_start: { timer: string; function: string; expires: number };
    timer_expire_entry: { timer: string; function: string; now: number };
    timer_expire_exit: { timer: string };
    timer_cancel: { timer: string };
  }
}

/** timers_nb sets no priority: 0. init_timers() registers it before hrtimers_init() registers hrtimers_nb. */
export const TIMER_CPU_NOTIFY_PRIORITY = 0;

export interface TimersOptions {
  /** Priority of timers_nb on the cpu notifier chain (default 0, as in 2.6.34). */
  priority?: number;
  /**
   * mod_timer() rounds the expiry up by apply_slack() (0.4% of the delay,
   * to fewer significant bits), as 2.6.35 does; 2.6.34 has no slack.
   */
  timer_slack?: boolean;
}

function not_an_engine_event(ev: SimEvent): void {
  BUG(`${ev.name}: a timer's wheel entry was fired as an engine event`);
}

/**
 * A timer's timer->entry and timer->base, in one record the timer keeps in
 * TimerList.entry from init_timer on. It sits in its base's queue, keyed by
 * the time of the tick that runs it, never in the engine's.
 */
class TimerEntry extends SimEvent {
  /** timer->base: the base that holds (or last held) the timer. */
  base: TvecBase | null = null;
  constructor(readonly timer: TimerList) {
    super(`timer ${timer.name}`, not_an_engine_event);
  }
}

/** struct tvec_base: one CPU's wheel. */
class TvecBase {
  /** The pending timers, by the tick that runs them, ties in the order they were added. */
  readonly queue = new EventQueue();
  /** base->running_timer: whose function runs now (del_timer_sync waits for it). */
  running_timer: TimerList | null = null;
  /** base->timer_jiffies: the next jiffy this base has not run yet. */
  timer_jiffies = 0;
  constructor(
    readonly cpu: number,
    /** This CPU's tick, armed for the first pending timer only (NO_HZ). */
    readonly tick: SimEvent,
  ) {}

  first(): TimerEntry | undefined {
    return this.queue.peek() as TimerEntry | undefined;
  }
}

/** The function's name for traces: the function's own, else the timer's. */
function function_name(timer: TimerList): string {
  return timer.function?.name || timer.name;
}

/** find_last_bit() of a non-zero value. */
function fls(x: bigint): bigint {
  let bit = -1n;
  while (x > 0n) {
    x >>= 1n;
    bit++;
  }
  return bit;
}

/**
 * apply_slack() of 2.6.35: with no slack set, a timer due later than now may
 * fire up to 1/256 of its delay late, rounded so that the expiry has fewer
 * significant bits and timers coalesce.
 */
export function apply_slack(expires: number, now: number): number {
  if (expires <= now) return expires;
  const e = BigInt(expires);
  const limit = e + BigInt(Math.floor((expires - now) / 256));
  const mask = e ^ limit;
  if (mask === 0n) return expires;
  const low = (1n << fls(mask)) - 1n;
  return Number(limit & ~low);
}

/**
 * What a task sleeping in schedule_timeout() is blocked on: its on-stack
 * timer. It tells the wait-for graph when the timer will never fire.
 */
class TimeoutSleep implements Waitable {
  readonly waiters: TaskStruct[] = [];
  readonly name: string;
  constructor(
    private readonly wheel: Timers,
    readonly timer: TimerList,
  ) {
    this.name = timer.name;
  }

  explain_waiter(p: TaskStruct): WaitEdge | null {
    const t = this.timer;
    if (!this.wheel.timer_pending(t) || this.wheel.tick_fires(t.cpu)) return null;
    return {
      from: { kind: "task", task: p },
      to: { kind: "timer", timer: t },
      because: `${p.name} sleeps in schedule_timeout until ${t.name} fires, and that timer is on offline CPU ${t.cpu}'s timer wheel`,
    };
  }
}

export class Timers implements TimerOps {
  readonly stats: TimerStats = { fired: 0, migrated: 0 };
  /** timers_nb: timer_cpu_notify on the cpu notifier chain. */
  readonly timers_nb: NotifierBlock;
  /** TICK_NSEC at the kernel's HZ. */
  readonly tick_ns: Nanoseconds;
  private readonly bases: TvecBase[] = [];
  private readonly timer_slack: boolean;
  /** The order timers were added, the tie-break within one tick. */
  private add_seq = 0;

  constructor(
    private readonly k: Kernel,
    opts: TimersOptions = {},
  ) {
    this.tick_ns = tick_nsec(k.config.hz);
    this.timer_slack = opts.timer_slack ?? false;
    this.timers_nb = {
      name: "timer_cpu_notify",
      priority: opts.priority ?? TIMER_CPU_NOTIFY_PRIORITY,
      notifier_call: (nb, action, hcpu) => this.timer_cpu_notify(nb, action, hcpu),
      // The chain calls it without making a generator.
      notifier_call_nosleep: (_nb, action, hcpu) => this.timer_cpu_notify_nosleep(action, hcpu),
    };
  }

  /**
   * init_timers(): timer_cpu_notify(CPU_UP_PREPARE) by hand for the boot
   * CPU, then timers_nb on the cpu chain. ksim makes a base for every
   * possible CPU here (the kernel allocates the others at their first
   * CPU_UP_PREPARE).
   */
  init(): void {
    BUG_ON(this.bases.length > 0, "init_timers() called twice");
    for (let cpu = 0; cpu < this.k.sched.nr_cpu_ids; cpu++) {
      const tick = new SimEvent(`timer_tick/${cpu}`, () => this.tick(base));
      const base = new TvecBase(cpu, tick);
      this.bases.push(base);
    }
    const boot_cpu = Math.max(raw_smp_processor_id(), 0);
    this.init_timers_cpu(boot_cpu);
    this.k.hotplug.register_cpu_notifier(this.timers_nb);
    // The tick is the local timer interrupt: masked by __cpu_disable, unmasked
    // when the CPU boots again, when what the base holds is due again.
    this.k.hotplug.register_local_timer_device({
      name: "timer wheel tick",
      local_timer_masked: (cpu, masked) => {
        const base = this.bases[cpu];
        if (base === undefined) return;
        if (masked && base.tick.queued) this.k.engine.cancel(base.tick);
        else if (!masked) this.arm_tick(base);
      },
    });
    this.k.waitfor.add_explainer((n) => this.explain_wait(n));
  }

  get jiffies(): number {
    return Math.floor(this.k.engine.now / this.tick_ns);
  }

  /**
   * Whether `cpu`'s tick interrupt still fires: not from __cpu_disable's
   * clear_local_APIC on (core's local timer mask), nor on a CPU not yet up.
   */
  tick_fires(cpu: number): boolean {
    return !this.k.hotplug.local_timer_masked(cpu);
  }

  // ---- the API (include/linux/timer.h) ---------------------------------------

  init_timer(timer: TimerList): void {
    const e = timer.entry;
    if (e instanceof TimerEntry && e.queued) BUG(`init_timer(${timer.name}) of a pending timer`);
    if (!(e instanceof TimerEntry)) timer.entry = new TimerEntry(timer);
    // __init_timer(): timer->base = this CPU's base, not pending.
    const cpu = raw_smp_processor_id();
    (timer.entry as TimerEntry).base = cpu >= 0 ? this.base(cpu) : null;
    timer.cpu = cpu;
  }

  setup_timer(timer: TimerList, fn: (data: unknown) => void, data: unknown): void {
    this.init_timer(timer);
    timer.function = fn;
    timer.data = data;
  }

  add_timer(timer: TimerList): void {
    if (this.timer_pending(timer)) BUG(`add_timer(${timer.name}) of a pending timer`);
    this.mod_timer(timer, timer.expires);
  }

  mod_timer(timer: TimerList, expires: number): number {
    if (this.timer_pending(timer) && timer.expires === expires) return 1;
    if (this.timer_slack) expires = apply_slack(expires, this.jiffies);
    return this.__mod_timer(timer, expires);
  }

  add_timer_on(timer: TimerList, cpu: number): void {
    const entry = this.entry_of(timer, "add_timer_on");
    if (entry.queued || timer.function === null) BUG(`add_timer_on(${timer.name}): pending or without a function`);
    entry.base = this.base(cpu);
    // internal_add_timer(), then wake_up_idle_cpu(): the target's tick is rearmed.
    this.internal_add_timer(entry.base, timer, entry);
  }

  del_timer(timer: TimerList): number {
    const entry = timer.entry;
    if (!(entry instanceof TimerEntry) || !entry.queued) return 0;
    this.detach_timer(entry);
    return 1;
  }

  try_to_del_timer_sync(timer: TimerList): number {
    const entry = timer.entry;
    if (entry instanceof TimerEntry && entry.base !== null && entry.base.running_timer === timer) return -1;
    return this.del_timer(timer);
  }

  /**
   * del_timer_sync() spins while the function runs. A function runs in no
   * simulated time in ksim, so a running one here is the function deleting
   * its own timer: in the kernel that CPU spins for ever.
   */
  del_timer_sync(timer: TimerList): number {
    const ret = this.try_to_del_timer_sync(timer);
    if (ret < 0) BUG(`del_timer_sync(${timer.name}) called from its own function on CPU ${timer.cpu}: it waits for itself (deadlock)`);
    return ret;
  }

  timer_pending(timer: TimerList): boolean {
    const entry = timer.entry;
    return entry instanceof TimerEntry && entry.queued;
  }

  /**
   * schedule_timeout(): the caller set its state first. An on-stack timer
   * on this CPU's base wakes the task (process_timeout) at jiffies +
   * timeout; the result is the jiffies left, 0 once it expired.
   */
  *schedule_timeout(timeout: number): KernelCall<number> {
    return yield* this.schedule_timeout_in(timeout, "schedule_timeout");
  }

  /**
   * schedule_timeout() for a caller that is not itself a scheduler
   * function: /proc/<pid>/wchan skips the __sched functions and names it.
   */
  private *schedule_timeout_in(timeout: number, wchan: string): KernelCall<number> {
    const p = current();
    const state = p.state === "D" ? "D" : "S";
    if (timeout === MAX_SCHEDULE_TIMEOUT) {
      if (p.state !== "R") {
        block_on(p, { name: "schedule_timeout(MAX_SCHEDULE_TIMEOUT)" }, [], state, wchan);
      }
      yield SCHEDULE;
      p.blocked_on = null;
      p.wchan = null;
      return timeout;
    }
    if (timeout < 0) {
      this.k.printk(`schedule_timeout: wrong timeout value ${(timeout >>> 0).toString(16)}`);
      p.state = "R";
      return 0;
    }
    const expire = timeout + this.jiffies;
    const timer = new TimerList(`process_timeout(${p.name})`);
    this.setup_timer(timer, process_timeout, p);
    this.__mod_timer(timer, expire);
    const sleep = new TimeoutSleep(this, timer);
    if (p.state !== "R") block_on(p, sleep, sleep.waiters, state, wchan);
    yield SCHEDULE;
    unblock(p, sleep.waiters);
    // del_singleshot_timer_sync()
    this.del_timer_sync(timer);
    const left = expire - this.jiffies;
    return left < 0 ? 0 : left;
  }

  *schedule_timeout_interruptible(timeout: number): KernelCall<number> {
    current().state = "S";
    return yield* this.schedule_timeout(timeout);
  }

  *schedule_timeout_uninterruptible(timeout: number): KernelCall<number> {
    current().state = "D";
    return yield* this.schedule_timeout(timeout);
  }

  /** msleep(): one jiffy more than asked, so the sleep is at least `msecs` long. */
  *msleep(msecs: number): KernelCall {
    let timeout = msecs_to_jiffies(msecs, this.k.config.hz) + 1;
    while (timeout) {
      current().state = "D";
      timeout = yield* this.schedule_timeout_in(timeout, "msleep");
    }
  }

  /** The timers pending on `cpu`'s base, in the order its ticks would run them. */
  timers_on(cpu: number): TimerList[] {
    const q = this.base(cpu).queue;
    const entries: TimerEntry[] = [];
    // Drain and refill: the queue has no iterator, and keys do not change.
    for (let e = q.peek(); e !== undefined; e = q.peek()) {
      q.pop();
      entries.push(e as TimerEntry);
    }
    for (const e of entries) q.push(e);
    return entries.map((e) => e.timer);
  }

  /** When `cpu`'s tick is armed to run its wheel; null if it is not. */
  next_tick(cpu: number): Nanoseconds | null {
    const ev = this.base(cpu).tick;
    return ev.queued ? ev.time : null;
  }

  // ---- the wheel ---------------------------------------------------------------

  private base(cpu: number): TvecBase {
    const b = this.bases[cpu];
    if (b === undefined) BUG(this.bases.length === 0 ? "timer used before init_timers() (Timers.init)" : `no timer base for CPU ${cpu}`);
    return b;
  }

  private entry_of(timer: TimerList, what: string): TimerEntry {
    const e = timer.entry;
    if (!(e instanceof TimerEntry)) BUG(`${what}(${timer.name}) before init_timer`);
    return e;
  }

  /**
   * __mod_timer(): off its old base if pending, onto this CPU's base unless
   * its function is running on the old one (then it stays there), at the
   * new expiry. NO_HZ's move of a timer started on an idle CPU to the idle
   * load balancer needs an idle CPU in process context, which ksim has not.
   */
  private __mod_timer(timer: TimerList, expires: number): number {
    const entry = this.entry_of(timer, "mod_timer");
    if (timer.function === null) BUG(`mod_timer(${timer.name}) without a function`);
    let ret = 0;
    if (entry.queued) {
      this.detach_timer(entry);
      ret = 1;
    }
    const cpu = raw_smp_processor_id();
    if (cpu < 0) BUG(`mod_timer(${timer.name}) outside any CPU context: a timer goes to the base of the CPU that adds it`);
    const new_base = this.base(cpu);
    if (entry.base !== new_base && (entry.base === null || entry.base.running_timer !== timer)) entry.base = new_base;
    timer.expires = expires;
    this.internal_add_timer(entry.base, timer, entry);
    return ret;
  }

  /**
   * internal_add_timer(): the timer runs at the first tick of this base
   * whose jiffies reach its expiry, and never in the tick that has already
   * passed (an expired timer goes to the slot of the next jiffy).
   */
  private internal_add_timer(base: TvecBase, timer: TimerList, entry: TimerEntry, activate = true): void {
    const at_jiffy = Math.max(timer.expires, this.jiffies + 1, base.timer_jiffies);
    entry.time = at_jiffy * this.tick_ns;
    entry.seq = this.add_seq++;
    timer.cpu = base.cpu;
    const trace = this.k.trace;
    // debug_activate() traces timer_start; migrate_timer_list() adds without it.
    if (activate && trace.enabled) {
      trace.emit("timer_start", this.trace_cpu(base), { timer: timer.name, function: function_name(timer), expires: timer.expires });
    }
    base.queue.push(entry);
    if (base.first() === entry) this.arm_tick(base);
  }

  /** detach_timer(): off its base's list; the tick follows the new first timer. */
  private detach_timer(entry: TimerEntry): void {
    const base = entry.base!;
    const trace = this.k.trace;
    if (trace.enabled) trace.emit("timer_cancel", this.trace_cpu(base), { timer: entry.timer.name });
    const was_first = base.first() === entry;
    base.queue.remove(entry);
    if (was_first) this.arm_tick(base);
  }

  private trace_cpu(base: TvecBase): number {
    const cpu = raw_smp_processor_id();
    return cpu >= 0 ? cpu : base.cpu;
  }

  /**
   * NO_HZ: the CPU's next tick comes when its first timer is due
   * (tick_nohz_stop_sched_tick with get_next_timer_interrupt); none while
   * its base is empty or its tick no longer fires.
   */
  private arm_tick(base: TvecBase): void {
    const engine = this.k.engine;
    const first = base.first();
    if (first === undefined || !this.tick_fires(base.cpu)) {
      if (base.tick.queued) engine.cancel(base.tick);
      return;
    }
    const at = first.time > engine.now ? first.time : engine.now;
    if (!base.tick.queued || base.tick.time !== at) engine.schedule(base.tick, at);
  }

  /**
   * The tick: update_process_times() → run_local_timers() raises
   * TIMER_SOFTIRQ, which irq_exit() runs at once (invoke_softirq), so the
   * timer functions run in softirq context on this CPU.
   */
  private tick(base: TvecBase): void {
    if (!this.tick_fires(base.cpu)) return;
    const sched = this.k.sched;
    sched.irq_enter(base.cpu);
    try {
      this.run_timer_softirq(base);
    } finally {
      sched.irq_exit(base.cpu);
    }
    this.arm_tick(base);
  }

  /** run_timer_softirq() → __run_timers(): every timer whose tick has come, in order. */
  private run_timer_softirq(base: TvecBase): void {
    const now = this.k.engine.now;
    const jiffies = this.jiffies;
    for (let e = base.first(); e !== undefined && e.time <= now; e = base.first()) {
      const timer = e.timer;
      const fn = timer.function;
      if (fn === null) BUG(`timer ${timer.name} expired with no function`);
      base.running_timer = timer;
      this.detach_timer(e);
      this.call_timer_fn(base, timer, fn, jiffies);
    }
    base.running_timer = null;
    base.timer_jiffies = jiffies + 1;
  }

  private call_timer_fn(base: TvecBase, timer: TimerList, fn: (data: unknown) => void, jiffies: number): void {
    const trace = this.k.trace;
    if (trace.enabled) trace.emit("timer_expire_entry", base.cpu, { timer: timer.name, function: function_name(timer), now: jiffies });
    this.stats.fired++;
    fn(timer.data);
    if (trace.enabled) trace.emit("timer_expire_exit", base.cpu, { timer: timer.name });
  }

  // ---- CPU hotplug -----------------------------------------------------------

  /** timer_cpu_notify(): called by the chain in the caller's context; never blocks. */
  private *timer_cpu_notify(_self: NotifierBlock, action: number, hcpu: number): KernelCall<number> {
    return this.timer_cpu_notify_nosleep(action, hcpu);
  }

  /** timer_cpu_notify() as a plain function: it never sleeps. */
  private timer_cpu_notify_nosleep(action: number, hcpu: number): number {
    switch (action) {
      case CPU_UP_PREPARE:
      case CPU_UP_PREPARE_FROZEN:
        this.init_timers_cpu(hcpu);
        break;
      case CPU_DEAD:
      case CPU_DEAD_FROZEN:
        this.migrate_timers(hcpu);
        break;
      default:
        break;
    }
    return NOTIFY_OK;
  }

  /**
   * init_timers_cpu(): empty lists, timer_jiffies = jiffies. The kernel
   * re-initialises the lists over any timer left there; ksim calls that the
   * bug it is.
   */
  private init_timers_cpu(cpu: number): void {
    const base = this.base(cpu);
    const left = base.first();
    if (left !== undefined) {
      BUG(`init_timers_cpu(${cpu}): timer ${left.timer.name} is still on CPU ${cpu}'s wheel (timer_cpu_notify(CPU_DEAD) never moved it)`);
    }
    base.timer_jiffies = this.jiffies;
    this.k.engine.cancel(base.tick);
  }

  /**
   * migrate_timers(): every timer of the dead CPU's wheel moves to the wheel
   * of the CPU running the notifier, keeping its expiry; one already due
   * runs at that CPU's next tick.
   */
  private migrate_timers(cpu: number): void {
    if (this.k.hotplug.cpu_online(cpu)) BUG(`migrate_timers(${cpu}): CPU ${cpu} is online`);
    const this_cpu = smp_processor_id();
    if (this_cpu === cpu) BUG(`migrate_timers(${cpu}) running on the dead CPU itself`);
    const old_base = this.base(cpu);
    const new_base = this.base(this_cpu);
    if (old_base.running_timer !== null) BUG(`migrate_timers(${cpu}): ${old_base.running_timer.name}'s function is running`);
    this.k.engine.cancel(old_base.tick);
    const trace = this.k.trace;
    for (let e = old_base.first(); e !== undefined; e = old_base.first()) {
      // detach_timer(timer, 0) traces timer_cancel.
      if (trace.enabled) trace.emit("timer_cancel", this_cpu, { timer: e.timer.name });
      old_base.queue.remove(e);
      e.base = new_base;
      this.internal_add_timer(new_base, e.timer, e, false);
      this.stats.migrated++;
    }
  }

  // ---- wait-for graph ----------------------------------------------------------

  /** A timer pending on a CPU whose tick no longer fires waits for timer_cpu_notify(CPU_DEAD). */
  private explain_wait(n: WaitNode): WaitEdge | null {
    if (n.kind !== "timer") return null;
    const t = n.timer;
    if (!this.timer_pending(t) || this.tick_fires(t.cpu)) return null;
    return {
      from: n,
      to: { kind: "notifier", name: this.timers_nb.name, event: "CPU_DEAD" },
      because: `${t.name} is pending on offline CPU ${t.cpu}'s timer wheel; only ${this.timers_nb.name}(CPU_DEAD) moves it to a live CPU`,
    };
  }
}

/** process_timeout(): the function of schedule_timeout()'s timer. */
function process_timeout(data: unknown): void {
  const p = data as TaskStruct;
  p.waker.wake_up_process(p);
}
