/**
 * kernel/hrtimer.c of Linux 2.6.34: per-CPU clock bases, the hrtimer API,
 * the clock event device of each CPU, and the CPU-hotplug notifier that
 * migrates a dead CPU's timers (hrtimer_cpu_notify).
 *
 * Modelled as 2.6.34 runs with CONFIG_SMP, CONFIG_HOTPLUG_CPU and
 * CONFIG_HIGH_RES_TIMERS (high resolution mode active on every CPU), without
 * CONFIG_NO_HZ. See README.md, "Model fidelity".
 */
import {
  BUG,
  BUG_ON,
  CPU_DEAD,
  CPU_DEAD_FROZEN,
  CPU_DYING,
  CPU_DYING_FROZEN,
  CPU_UP_PREPARE,
  CPU_UP_PREPARE_FROZEN,
  raw_smp_processor_id,
  EventQueue,
  HRTIMER_NORESTART,
  HRTIMER_STATE_CALLBACK,
  HRTIMER_STATE_ENQUEUED,
  HRTIMER_STATE_INACTIVE,
  HRTIMER_STATE_MIGRATE,
  KernelBug,
  KTIME_MAX,
  NOTIFY_OK,
  SimEvent,
  smp_processor_id,
  type ClockId,
  type HrTimer,
  type HrtimerMode,
  type HrtimerOps,
  type HrtimerStats,
  type Kernel,
  type KernelCall,
  type Nanoseconds,
  type NotifierBlock,
  type WaitEdge,
  type WaitNode,
} from "@ksim/core";

/** hrtimers_nb sets no priority: 0, so it runs after migration_call (10). */
export const HRTIMER_CPU_NOTIFY_PRIORITY = 0;

/**
 * Expiries one hrtimer_interrupt may run before ksim calls it a livelock: a
 * callback that re-arms its timer at or before now runs again in the same
 * interrupt, for ever, as it would in the kernel (simulated time does not
 * pass inside an interrupt).
 */
export const MAX_EXPIRIES_PER_INTERRUPT = 100_000;

/** KTIME_HIGH_RES: the resolution of a clock base in high resolution mode. */
const HRTIMER_RESOLUTION: Nanoseconds = 1;

/** The clock bases of a CPU, in the order hrtimer_interrupt walks them. */
const HRTIMER_MAX_CLOCK_BASES = 2;
const CLOCK_INDEX: Readonly<Record<ClockId, number>> = { CLOCK_REALTIME: 0, CLOCK_MONOTONIC: 1 };

export interface HrtimersOptions {
  /** Priority of hrtimers_nb on the cpu notifier chain (default 0, as in 2.6.34). */
  priority?: number;
}

/**
 * WARN(): ksim stops on a warning (panic_on_warn). Checks on hot paths test
 * first and build their message only when they fire.
 */
function WARN(message: string): never {
  throw new KernelBug(message, "WARNING");
}

function not_an_engine_event(ev: SimEvent): void {
  BUG(`${ev.name}: a timer's queue node was fired as an engine event`);
}

/**
 * A timer's rb_node and its timer->base, in one record the timer keeps in
 * HrTimer.node from hrtimer_init on. The node is an entry of its clock base's
 * queue, ordered by (expiry, enqueue order), never of the engine's.
 */
class HrtimerNode extends SimEvent {
  /** timer->base: the clock base that holds (or last held) the timer; null before its first start. */
  base: HrtimerClockBase | null = null;
  constructor(readonly timer: HrTimer) {
    super(`hrtimer ${timer.name}`, not_an_engine_event);
  }
}

/** struct hrtimer_clock_base: one clock's queue of timers on one CPU. */
class HrtimerClockBase {
  /** base->active: the queued timers' nodes, earliest first, ties in enqueue order. */
  readonly active = new EventQueue();
  constructor(
    readonly cpu_base: HrtimerCpuBase,
    readonly index: number,
  ) {}

  first(): HrtimerNode | undefined {
    return this.active.peek() as HrtimerNode | undefined;
  }
}

/** struct hrtimer_cpu_base, with the CPU's clock event device. */
class HrtimerCpuBase {
  readonly clock_base: readonly HrtimerClockBase[];
  /** hrtimer_interrupt runs here now: it reprograms the device on its way out. */
  in_hrtimer_interrupt = false;
  /** cpu_base->expires_next: the earliest expiry queued, as hrtimer_next_expiry() last found it. */
  expires_next = Number.POSITIVE_INFINITY;

  constructor(
    readonly cpu: number,
    /** The clock event device: armed for the CPU's earliest expiry. */
    readonly event: SimEvent,
  ) {
    const bases: HrtimerClockBase[] = [];
    for (let i = 0; i < HRTIMER_MAX_CLOCK_BASES; i++) bases.push(new HrtimerClockBase(this, i));
    this.clock_base = bases;
  }
}

// The BUGs of the interrupt path, apart so that its functions stay small
// enough for V8 to inline (a message's template is most of their bytecode).

function interrupt_livelock(cpu: number, timer: HrTimer, now: Nanoseconds): never {
  BUG(
    `hrtimer interrupt livelock on CPU ${cpu}: ${timer.name} keeps expiring at ${now} ns ` +
      `(${MAX_EXPIRIES_PER_INTERRUPT} expiries in one interrupt; a callback re-arms at or before now)`,
  );
}

function bad_expiry(timer: HrTimer, node: HrtimerNode): never {
  if (timer.expires !== node.time) {
    BUG(`hrtimer ${timer.name}: expiry changed from ${node.time} to ${timer.expires} while it was queued`);
  }
  BUG(`hrtimer ${timer.name} expired with no function`);
}

function restarted_in_callback(timer: HrTimer): never {
  BUG(`hrtimer ${timer.name}: callback returned HRTIMER_RESTART but the timer was restarted or cancelled inside it (state ${timer.state})`);
}

function node_of(timer: HrTimer, what: string): HrtimerNode {
  const node = timer.node;
  if (!(node instanceof HrtimerNode)) BUG(`${what}(${timer.name}) before hrtimer_init`);
  return node;
}

function hrtimer_callback_running(timer: HrTimer): boolean {
  return (timer.state & HRTIMER_STATE_CALLBACK) !== 0;
}

/** The callback's name for traces: the function's own, else the timer's. */
function function_name(timer: HrTimer): string {
  return timer.function?.name || timer.name;
}

/** ktime_add_safe(): saturate instead of overflowing. */
function ktime_add_safe(lhs: Nanoseconds, rhs: Nanoseconds): Nanoseconds {
  const res = lhs + rhs;
  return res > KTIME_MAX ? KTIME_MAX : res;
}

/**
 * hrtimer_get_target(): the CPU whose base a starting timer goes to. Only
 * CONFIG_NO_HZ may pick another CPU (the nohz load balancer, for a timer
 * that is not pinned, started on an idle CPU); ksim models the kernel
 * without NO_HZ, so it is always the CPU that starts the timer.
 */
function hrtimer_get_target(this_cpu: number, _pinned: boolean): number {
  return this_cpu;
}

export class Hrtimers implements HrtimerOps {
  readonly stats: HrtimerStats = { fired: 0, migrated: 0 };
  /** hrtimers_nb: hrtimer_cpu_notify on the cpu notifier chain. */
  readonly hrtimers_nb: NotifierBlock;
  private readonly cpu_bases: HrtimerCpuBase[] = [];
  /** Enqueue order, the tie-break between equal expiries. */
  private enqueue_seq = 0;

  constructor(
    private readonly k: Kernel,
    opts: HrtimersOptions = {},
  ) {
    this.hrtimers_nb = {
      name: "hrtimer_cpu_notify",
      priority: opts.priority ?? HRTIMER_CPU_NOTIFY_PRIORITY,
      notifier_call: (nb, action, hcpu) => this.hrtimer_cpu_notify(nb, action, hcpu),
      // The chain calls it without making a generator.
      notifier_call_nosleep: (_nb, action, hcpu) => this.hrtimer_cpu_notify_nosleep(action, hcpu),
    };
  }

  /**
   * hrtimers_init(): a base for every possible CPU (those online now have a
   * running clock event device), hrtimers_nb on the cpu chain, and the
   * explanation of a timer stranded on an offline CPU for the wait-for graph.
   */
  init(): void {
    BUG_ON(this.cpu_bases.length > 0, "hrtimers_init() called twice");
    const nr_cpu_ids = this.k.sched.nr_cpu_ids;
    for (let cpu = 0; cpu < nr_cpu_ids; cpu++) {
      const ev = new SimEvent(`hrtimer_interrupt/${cpu}`, () => this.clock_event(cpu_base));
      const cpu_base = new HrtimerCpuBase(cpu, ev);
      this.cpu_bases.push(cpu_base);
    }
    this.k.hotplug.register_cpu_notifier(this.hrtimers_nb);
    this.k.hotplug.register_local_timer_device({
      name: "hrtimer",
      local_timer_masked: (cpu, masked) => this.local_timer_masked(cpu, masked),
    });
    this.k.waitfor.add_explainer((n) => this.explain_wait(n));
  }

  /**
   * The CPU's local timer interrupt was masked (clear_local_APIC in
   * __cpu_disable) or unmasked (the CPU booted again): its device stops, or
   * is armed again for what its base holds.
   */
  private local_timer_masked(cpu: number, masked: boolean): void {
    const cpu_base = this.cpu_bases[cpu];
    if (cpu_base === undefined) return;
    if (masked) this.k.engine.cancel(cpu_base.event);
    else this.hrtimer_force_reprogram(cpu_base);
  }

  // ---- the API (include/linux/hrtimer.h) ------------------------------------

  /**
   * hrtimer_init(): the kernel memsets the timer; ksim keeps what the owner
   * set (name, function, data) and resets the rest. A CLOCK_REALTIME timer
   * that is not plain ABS runs on CLOCK_MONOTONIC (so ABS_PINNED does too).
   */
  hrtimer_init(timer: HrTimer, clock_id: ClockId, mode: HrtimerMode): void {
    // debugobjects: "ODEBUG: init active object type: hrtimer".
    if (timer.state !== HRTIMER_STATE_INACTIVE) WARN(`hrtimer_init(${timer.name}) of an active timer (state ${timer.state})`);
    if (clock_id === "CLOCK_REALTIME" && mode !== "ABS") clock_id = "CLOCK_MONOTONIC";
    timer.clock = clock_id;
    timer.expires = 0;
    timer.cpu = -1;
    if (timer.node instanceof HrtimerNode) timer.node.base = null;
    else timer.node = new HrtimerNode(timer);
  }

  /**
   * hrtimer_start() = __hrtimer_start_range_ns(timer, tim, 0, mode, 1).
   * Returns remove_hrtimer()'s result: 1 if the timer was queued, else 0
   * (so 0 when a callback restarts its own timer).
   */
  hrtimer_start(timer: HrTimer, tim: Nanoseconds, mode: HrtimerMode): number {
    const this_cpu = raw_smp_processor_id();
    if (this_cpu < 0) BUG(`hrtimer_start(${timer.name}) outside any CPU context: a timer goes to the base of the CPU that starts it`);
    if (!Number.isSafeInteger(tim)) BUG(`hrtimer_start(${timer.name}): expiry ${tim} is not a whole number of nanoseconds`);
    const node = node_of(timer, "hrtimer_start");
    const base = node.base;
    const ret = base === null ? 0 : this.remove_hrtimer(timer, node, base);
    const new_base = this.switch_hrtimer_base(timer, node, base, this_cpu, mode === "ABS_PINNED" || mode === "REL_PINNED");
    if (mode === "REL" || mode === "REL_PINNED") tim = ktime_add_safe(tim, this.k.engine.now);
    timer.expires = tim;
    this.enqueue_hrtimer(timer, node, new_base);
    // Only the CPU's own device is reprogrammed (hrtimer_enqueue_reprogram);
    // a timer kept on another CPU's base because its callback runs there
    // is sorted out when that interrupt ends.
    if (new_base.cpu_base.cpu === this_cpu) this.hrtimer_force_reprogram(new_base.cpu_base);
    return ret;
  }

  /** 1 if it was queued, 0 if not; -1 while its callback runs. */
  hrtimer_try_to_cancel(timer: HrTimer): number {
    const node = timer.node;
    if (!(node instanceof HrtimerNode) || node.base === null) return 0;
    if (hrtimer_callback_running(timer)) return -1;
    return this.remove_hrtimer(timer, node, node.base);
  }

  /**
   * hrtimer_cancel() spins until the callback is done. ksim runs a callback
   * in no time, so a running callback here means the callback cancels its own
   * timer: in the kernel that CPU spins for ever with interrupts off.
   */
  hrtimer_cancel(timer: HrTimer): number {
    const ret = this.hrtimer_try_to_cancel(timer);
    if (ret < 0) {
      BUG(
        `hrtimer_cancel(${timer.name}) called from its own callback on CPU ${timer.cpu}: ` +
          "it waits for the callback to finish, which never happens (deadlock)",
      );
    }
    return ret;
  }

  /**
   * hrtimer_forward(): moves the expiry past `now` by whole intervals and
   * returns how many (0 if `now` is before the expiry); the expiry saturates
   * at KTIME_MAX (hrtimer_add_expires uses ktime_add_safe). 2.6.34 does not
   * check that the timer is not queued; later kernels WARN, and so does ksim,
   * since a queued timer's place would no longer match its expiry.
   */
  hrtimer_forward(timer: HrTimer, now: Nanoseconds, interval: Nanoseconds): number {
    if (timer.state & HRTIMER_STATE_ENQUEUED) WARN(`hrtimer_forward(${timer.name}) on a queued timer`);
    const delta = now - timer.expires;
    if (delta < 0) return 0;
    if (interval < HRTIMER_RESOLUTION) interval = HRTIMER_RESOLUTION;
    let orun = 1;
    if (delta >= interval) {
      // ktime_divns(delta, incr): exact, since a remainder-free quotient of
      // two safe integers is represented exactly.
      orun = (delta - (delta % interval)) / interval;
      timer.expires = ktime_add_safe(timer.expires, interval * orun);
      if (timer.expires > now) return orun;
      // This (and the add below) is the correction for exact multiples.
      orun++;
    }
    timer.expires = ktime_add_safe(timer.expires, interval);
    return orun;
  }

  hrtimer_active(timer: HrTimer): boolean {
    return timer.state !== HRTIMER_STATE_INACTIVE;
  }

  hrtimer_is_queued(timer: HrTimer): boolean {
    return (timer.state & HRTIMER_STATE_ENQUEUED) !== 0;
  }

  hrtimer_callback_running(timer: HrTimer): boolean {
    return hrtimer_callback_running(timer);
  }

  /** Both clock bases read the same clock in ksim: the engine's. */
  hrtimer_cb_get_time(_timer: HrTimer): Nanoseconds {
    return this.k.engine.now;
  }

  // ---- helpers for reports ----------------------------------------------------

  /**
   * The timers queued on `cpu`'s bases, by expiry; at equal expiry the
   * REALTIME base first, then enqueue order, as one interrupt runs them.
   */
  timers_on(cpu: number): HrTimer[] {
    const nodes: HrtimerNode[] = [];
    for (const base of this.cpu_base(cpu).clock_base) {
      // Drain and refill: the queue has no iterator, and keys do not change.
      const start = nodes.length;
      for (let n = base.first(); n !== undefined; n = base.first()) {
        base.active.pop();
        nodes.push(n);
      }
      for (let i = start; i < nodes.length; i++) base.active.push(nodes[i]!);
    }
    nodes.sort((a, b) => a.time - b.time || a.base!.index - b.base!.index || a.seq - b.seq);
    return nodes.map((n) => n.timer);
  }

  /** Whether `cpu`'s clock event device runs: its timers fire by themselves. */
  base_online(cpu: number): boolean {
    return this.k.hotplug.cpu_online(cpu);
  }

  /** When `cpu`'s clock event device is armed to fire; null if it is not. */
  next_event(cpu: number): Nanoseconds | null {
    const ev = this.cpu_base(cpu).event;
    return ev.queued ? ev.time : null;
  }

  // ---- queueing (enqueue_hrtimer, __remove_hrtimer, switch_hrtimer_base) -------

  private cpu_base(cpu: number): HrtimerCpuBase {
    const b = this.cpu_bases[cpu];
    if (b === undefined) {
      BUG(this.cpu_bases.length === 0 ? "hrtimer used before hrtimers_init() (Hrtimers.init)" : `no hrtimer base for CPU ${cpu}`);
    }
    return b;
  }

  private trace_cpu(base: HrtimerClockBase): number {
    const cpu = raw_smp_processor_id();
    return cpu >= 0 ? cpu : base.cpu_base.cpu;
  }

  /** enqueue_hrtimer(): into expiry order, after any timer of equal expiry. */
  private enqueue_hrtimer(timer: HrTimer, node: HrtimerNode, base: HrtimerClockBase): void {
    const trace = this.k.trace;
    // debug_activate()
    if (trace.enabled) {
      trace.emit("hrtimer_start", this.trace_cpu(base), {
        hrtimer: timer.name,
        function: function_name(timer),
        expires: timer.expires,
        softexpires: timer.expires,
      });
    }
    node.time = timer.expires;
    node.seq = this.enqueue_seq++;
    base.active.push(node);
    // OR'ed, to keep the state of a running callback.
    timer.state |= HRTIMER_STATE_ENQUEUED;
  }

  /**
   * __remove_hrtimer(): off the queue, into `newstate`; the device follows
   * the new first timer when `reprogram` (the base is this CPU's).
   */
  private __remove_hrtimer(timer: HrTimer, node: HrtimerNode, base: HrtimerClockBase, newstate: number, reprogram: boolean): void {
    if (timer.state & HRTIMER_STATE_ENQUEUED) {
      const was_first = base.first() === node;
      base.active.remove(node);
      if (was_first && reprogram) this.hrtimer_force_reprogram(base.cpu_base);
    }
    timer.state = newstate;
  }

  /**
   * remove_hrtimer(): a timer on another CPU's base is removed without
   * reprogramming that CPU's device; its interrupt then fires for nothing
   * and reprograms itself (the kernel's choice over a cross-CPU call).
   * The new state is INACTIVE even while the callback runs: 2.6.34 drops
   * the CALLBACK bit here (later kernels keep it).
   */
  private remove_hrtimer(timer: HrTimer, node: HrtimerNode, base: HrtimerClockBase): number {
    if (!(timer.state & HRTIMER_STATE_ENQUEUED)) return 0;
    this.trace_hrtimer_cancel(timer, base);
    this.__remove_hrtimer(timer, node, base, HRTIMER_STATE_INACTIVE, base.cpu_base.cpu === raw_smp_processor_id());
    return 1;
  }

  /**
   * switch_hrtimer_base(): the timer moves to the starting CPU's base of its
   * clock, unless its callback is running (then it stays where it is).
   */
  private switch_hrtimer_base(
    timer: HrTimer,
    node: HrtimerNode,
    base: HrtimerClockBase | null,
    this_cpu: number,
    pinned: boolean,
  ): HrtimerClockBase {
    const cpu = hrtimer_get_target(this_cpu, pinned);
    const index = base === null ? CLOCK_INDEX[timer.clock] : base.index;
    const new_base = this.cpu_base(cpu).clock_base[index]!;
    if (base !== new_base) {
      if (base !== null && hrtimer_callback_running(timer)) return base;
      node.base = new_base;
      timer.cpu = cpu;
    }
    return new_base;
  }

  private trace_hrtimer_cancel(timer: HrTimer, base: HrtimerClockBase): void {
    const trace = this.k.trace;
    if (trace.enabled) trace.emit("hrtimer_cancel", this.trace_cpu(base), { hrtimer: timer.name });
  }

  // ---- the clock event device and hrtimer_interrupt ---------------------------

  /**
   * The earliest expiry queued on the CPU (+Infinity when none), into
   * cpu_base.expires_next, not returned: a time past 2^31 ns is a heap
   * number in V8, and where this is not inlined a returned one is boxed,
   * an allocation per interrupt.
   */
  private hrtimer_next_expiry(cpu_base: HrtimerCpuBase): void {
    let next = Number.POSITIVE_INFINITY;
    for (let i = 0; i < HRTIMER_MAX_CLOCK_BASES; i++) {
      const n = cpu_base.clock_base[i]!.first();
      if (n !== undefined && n.time < next) next = n.time;
    }
    cpu_base.expires_next = next;
  }

  /**
   * hrtimer_force_reprogram(): arm the CPU's clock event device for its
   * earliest expiry (at once if that is past: tick_program_event's -ETIME
   * raises the softirq that runs it). No device fires while its CPU's
   * local timer interrupt is masked.
   */
  private hrtimer_force_reprogram(cpu_base: HrtimerCpuBase): void {
    if (cpu_base.in_hrtimer_interrupt) return;
    const engine = this.k.engine;
    const ev = cpu_base.event;
    this.hrtimer_next_expiry(cpu_base);
    const next = cpu_base.expires_next;
    if (next === Number.POSITIVE_INFINITY || this.k.hotplug.local_timer_masked(cpu_base.cpu)) {
      if (ev.queued) engine.cancel(ev);
      return;
    }
    const at = next > engine.now ? next : engine.now;
    if (ev.queued && ev.time === at) return;
    // Engine.enqueue(): the time goes through the event, not a call's argument.
    ev.time = at;
    engine.enqueue(ev);
  }

  /** The device's interrupt. Its engine event is cancelled when the interrupt is masked. */
  private clock_event(cpu_base: HrtimerCpuBase): void {
    if (!this.base_online(cpu_base.cpu) || this.k.hotplug.local_timer_masked(cpu_base.cpu)) {
      const first = this.timers_on(cpu_base.cpu)[0];
      BUG(`hrtimer ${first?.name ?? "(none queued)"} fired on offline CPU ${cpu_base.cpu}`);
    }
    this.hrtimer_interrupt(cpu_base);
  }

  /**
   * hrtimer_interrupt(): in interrupt context on the base's CPU, run every
   * expired timer, REALTIME base first, each base in expiry order; again
   * while a callback has queued an already expired timer (the kernel's
   * retry); then reprogram the device.
   */
  private hrtimer_interrupt(cpu_base: HrtimerCpuBase): void {
    const cpu = cpu_base.cpu;
    if (cpu_base.in_hrtimer_interrupt) BUG(`hrtimer_interrupt re-entered on CPU ${cpu}`);
    const now = this.k.engine.now;
    const sched = this.k.sched;
    sched.irq_enter(cpu);
    cpu_base.in_hrtimer_interrupt = true;
    try {
      let expired = 0;
      for (this.hrtimer_next_expiry(cpu_base); cpu_base.expires_next <= now; this.hrtimer_next_expiry(cpu_base)) {
        for (let i = 0; i < HRTIMER_MAX_CLOCK_BASES; i++) {
          const base = cpu_base.clock_base[i]!;
          for (let node = base.first(); node !== undefined && node.time <= now; node = base.first()) {
            if (++expired > MAX_EXPIRIES_PER_INTERRUPT) interrupt_livelock(cpu, node.timer, now);
            this.__run_hrtimer(node.timer, node, base);
          }
        }
      }
    } finally {
      cpu_base.in_hrtimer_interrupt = false;
      sched.irq_exit(cpu);
    }
    this.hrtimer_force_reprogram(cpu_base);
  }

  /**
   * __run_hrtimer(): the timer leaves the queue in state CALLBACK, its
   * function runs, and HRTIMER_RESTART puts it back on the same base.
   */
  private __run_hrtimer(timer: HrTimer, node: HrtimerNode, base: HrtimerClockBase): void {
    const fn = timer.function;
    if (timer.expires !== node.time || fn === null) bad_expiry(timer, node);
    // debug_deactivate() traces the expiry as a cancel too, as 2.6.34 does.
    this.trace_hrtimer_cancel(timer, base);
    this.__remove_hrtimer(timer, node, base, HRTIMER_STATE_CALLBACK, false);
    const trace = this.k.trace;
    if (trace.enabled) this.trace_expire_entry(timer, base);
    this.stats.fired++;
    const restart = fn(timer);
    if (trace.enabled) trace.emit("hrtimer_expire_exit", base.cpu_base.cpu, { hrtimer: timer.name });
    if (restart !== HRTIMER_NORESTART) {
      if (timer.state !== HRTIMER_STATE_CALLBACK) restarted_in_callback(timer);
      this.enqueue_hrtimer(timer, node, base);
    }
    timer.state &= ~HRTIMER_STATE_CALLBACK;
  }

  /** `now` read here, not passed in: a time argument is boxed where the call is not inlined. */
  private trace_expire_entry(timer: HrTimer, base: HrtimerClockBase): void {
    this.k.trace.emit("hrtimer_expire_entry", base.cpu_base.cpu, { hrtimer: timer.name, now: this.k.engine.now, function: function_name(timer) });
  }

  // ---- CPU hotplug -----------------------------------------------------------

  /** hrtimer_cpu_notify(): called by the chain in the caller's context; never blocks. */
  private *hrtimer_cpu_notify(_self: NotifierBlock, action: number, hcpu: number): KernelCall<number> {
    return this.hrtimer_cpu_notify_nosleep(action, hcpu);
  }

  /** hrtimer_cpu_notify() as a plain function: it never sleeps. */
  private hrtimer_cpu_notify_nosleep(action: number, hcpu: number): number {
    const scpu = hcpu;
    switch (action) {
      case CPU_UP_PREPARE:
      case CPU_UP_PREPARE_FROZEN:
        this.init_hrtimers_cpu(scpu);
        break;
      case CPU_DYING:
      case CPU_DYING_FROZEN:
        // clockevents_notify(CLOCK_EVT_NOTIFY_CPU_DYING) hands the do_timer
        // duty over (tick_handover_do_timer); the device is already silent,
        // masked by __cpu_disable. The timers stay queued until CPU_DEAD.
        break;
      case CPU_DEAD:
      case CPU_DEAD_FROZEN:
        // clockevents_notify(CLOCK_EVT_NOTIFY_CPU_DEAD), then the timers.
        this.k.engine.cancel(this.cpu_base(scpu).event);
        this.migrate_hrtimers(scpu);
        break;
      default:
        break;
    }
    return NOTIFY_OK;
  }

  /** init_hrtimers_cpu(): the base of a CPU coming up; migrate_hrtimers left it empty. */
  private init_hrtimers_cpu(cpu: number): void {
    const cpu_base = this.cpu_base(cpu);
    const left = this.timers_on(cpu)[0];
    if (left !== undefined) {
      BUG(`init_hrtimers_cpu(${cpu}): hrtimer ${left.name} is still queued on CPU ${cpu}'s base (hrtimer_cpu_notify(CPU_DEAD) never moved it)`);
    }
    this.k.engine.cancel(cpu_base.event);
  }

  /**
   * migrate_hrtimers(): with interrupts off, every timer of every clock base
   * of the dead CPU moves to the same clock's base of the CPU running the
   * notifier, keeping its expiry, without reprogramming; then
   * __hrtimer_peek_ahead_timers() runs hrtimer_interrupt here, which fires
   * what has already expired and reprograms this CPU's device.
   */
  private migrate_hrtimers(scpu: number): void {
    if (this.k.hotplug.cpu_online(scpu)) BUG(`migrate_hrtimers(${scpu}): CPU ${scpu} is online`);
    const this_cpu = smp_processor_id();
    if (this_cpu === scpu) BUG(`migrate_hrtimers(${scpu}) running on the dead CPU itself`);
    const old_base = this.cpu_base(scpu);
    const new_base = this.cpu_base(this_cpu);
    for (let i = 0; i < HRTIMER_MAX_CLOCK_BASES; i++) {
      this.migrate_hrtimer_list(old_base.clock_base[i]!, new_base.clock_base[i]!);
    }
    this.hrtimer_interrupt(new_base);
  }

  private migrate_hrtimer_list(old_base: HrtimerClockBase, new_base: HrtimerClockBase): void {
    const trace = this.k.trace;
    for (let node = old_base.first(); node !== undefined; node = old_base.first()) {
      const timer = node.timer;
      if (hrtimer_callback_running(timer)) BUG(`migrate_hrtimer_list: ${timer.name}'s callback is running`);
      this.trace_hrtimer_cancel(timer, old_base);
      // MIGRATE, not INACTIVE: the timer never looks inactive on its way.
      this.__remove_hrtimer(timer, node, old_base, HRTIMER_STATE_MIGRATE, false);
      node.base = new_base;
      timer.cpu = new_base.cpu_base.cpu;
      this.enqueue_hrtimer(timer, node, new_base);
      timer.state &= ~HRTIMER_STATE_MIGRATE;
      this.stats.migrated++;
      if (trace.enabled) {
        trace.emit("hrtimer_migrate", new_base.cpu_base.cpu, {
          hrtimer: timer.name,
          from_cpu: old_base.cpu_base.cpu,
          to_cpu: new_base.cpu_base.cpu,
        });
      }
    }
  }

  // ---- wait-for graph ----------------------------------------------------------

  /** A timer queued on an offline CPU's base waits for hrtimer_cpu_notify(CPU_DEAD). */
  private explain_wait(n: WaitNode): WaitEdge | null {
    if (n.kind !== "hrtimer") return null;
    const t = n.timer;
    if (!this.hrtimer_is_queued(t) || t.cpu < 0 || this.base_online(t.cpu)) return null;
    return {
      from: n,
      to: { kind: "notifier", name: this.hrtimers_nb.name, event: "CPU_DEAD" },
      because:
        `${t.name} is queued on offline CPU ${t.cpu}'s hrtimer base; ` +
        `only ${this.hrtimers_nb.name}(CPU_DEAD) moves it to a live CPU`,
    };
  }
}
