import { BUG } from "./bug.js";
import type { ExecContext } from "./context.js";
import { CpuMask } from "./cpumask.js";
import { EFFECT_RUN, EFFECT_SLEEP, type Effect, type KernelCall } from "./effects.js";
import type { Engine } from "./engine.js";
import { SimEvent } from "./heap.js";
import type { RtRqStats, SchedOps, SchedStats } from "./sched.js";
import {
  MAX_PRIO,
  PF_EXITING,
  put_task_struct,
  set_task_policy,
  TaskStruct,
  type SchedPolicy,
  type TaskSpec,
} from "./task.js";
import type { CpuCurrent, TraceBus } from "./trace.js";

/** The part of struct rq that runs process context on one CPU. */
export class CpuExec {
  curr: TaskStruct;
  need_resched = false;
  /** Time from which curr's CPU time is not yet accounted. */
  exec_start = 0;
  nr_switches = 0;
  idle_ns = 0;
  busy_ns = 0;
  /** curr's body is being stepped right now. */
  stepping = false;
  /** The caller calls schedule() next if need_resched: no resched event needed. */
  deferred = false;
  /** local_irq_disable() in effect: the tick is held pending, not taken. */
  irqs_disabled = false;
  /** A tick came while interrupts were off; it is taken at local_irq_enable(). */
  tick_pending = false;
  readonly run_ev: SimEvent;
  readonly resched_ev: SimEvent;
  /** The next scheduler tick that matters (slice end, RT throttle). */
  readonly hrtick_ev: SimEvent;

  constructor(
    readonly cpu: number,
    readonly idle: TaskStruct,
    exec: ProcessExecutor,
  ) {
    this.curr = idle;
    this.run_ev = new SimEvent(`run/${cpu}`, () => exec.run_done(this));
    this.resched_ev = new SimEvent(`resched/${cpu}`, () => exec.schedule(this));
    this.hrtick_ev = new SimEvent(`hrtick/${cpu}`, () => exec.hrtick(this));
  }
}

/** Why select_task_rq() is asked: a wake-up (SD_BALANCE_WAKE) or a new task (SD_BALANCE_FORK). */
export type SelectTaskRqReason = "wake" | "fork";

/** schedule_debug()'s BUG, apart so that step() stays small enough for V8 to inline. */
function scheduling_while_atomic(p: TaskStruct, slept: boolean, ctx: ExecContext): never {
  BUG(`scheduling while atomic: ${p.name} ${slept ? "slept" : "called schedule()"} with preempt_count ${ctx.atomic}, irq depth ${ctx.irq}`);
}

/** Guard against a loop of yields in which no time passes. */
const MAX_STEPS_WITHOUT_TIME = 100_000;

/**
 * %GeneratorPrototype%.next, which every task body inherits. Read off the
 * body at each step, `next` was a megamorphic load: each generator function
 * gives its generators a prototype of its own.
 */
const generator_next = (Object.getPrototypeOf(function* () {}) as { prototype: { next: (this: KernelCall<number>) => IteratorResult<Effect, number> } })
  .prototype.next;

/**
 * The process-context machinery every scheduler shares: it steps task
 * bodies (generators), turns their effects into CPU time, blocking and
 * sleeping, switches tasks, and keeps `current` right. What to run and when
 * to preempt is the policy of a subclass: the real scheduler in @ksim/sched,
 * or the small reference policy in @ksim/core/testing.
 */
export abstract class ProcessExecutor implements SchedOps, CpuCurrent {
  readonly rqs: CpuExec[] = [];
  /** Every non-idle task not yet freed, in pid order. */
  readonly tasks: TaskStruct[] = [];
  private nr_freed = 0;
  readonly stats: SchedStats = { context_switches: 0, rt_throttles: 0 };
  protected next_pid = 1;

  constructor(
    readonly engine: Engine,
    readonly trace: TraceBus,
    readonly nr_cpu_ids: number,
  ) {
    if (!(nr_cpu_ids >= 1)) BUG(`nr_cpu_ids ${nr_cpu_ids} < 1`);
    for (let cpu = 0; cpu < nr_cpu_ids; cpu++) {
      const idle = new TaskStruct(0, "swapper", CpuMask.cpumask_of(cpu));
      idle.cpu = cpu;
      idle.state = "R";
      idle.on_cpu = true;
      idle.policy = "IDLE";
      idle.prio = idle.normal_prio = idle.static_prio = MAX_PRIO;
      idle.waker = this;
      this.rqs.push(new CpuExec(cpu, idle, this));
    }
    // The executor itself, not a closure: V8 allocates a closure stored in
    // a field in the old generation, where it would keep this young machine
    // (and every machine after it) alive through each scavenge.
    trace.cpus = this;
  }

  /** Who runs on `cpu`, for the trace (null for a CPU this machine lacks). */
  current_on(cpu: number): TaskStruct | null {
    return this.rqs[cpu]?.curr ?? null;
  }

  // ---- policy: what a scheduler implementation decides -------------------

  protected abstract cpu_online(cpu: number): boolean;
  protected abstract enqueue_task(rq: CpuExec, p: TaskStruct, wakeup: boolean): void;
  protected abstract dequeue_task(rq: CpuExec, p: TaskStruct, sleep: boolean): void;
  /** The next task to run; null runs the idle task. */
  protected abstract pick_next_task(rq: CpuExec): TaskStruct | null;
  protected abstract put_prev_task(rq: CpuExec, p: TaskStruct): void;
  protected abstract yield_task(rq: CpuExec, p: TaskStruct): void;
  /** A task was made runnable on rq: preempt curr if it should. */
  protected abstract check_preempt_curr(rq: CpuExec, p: TaskStruct): void;
  /**
   * Where a waking task goes; `this_cpu` is the waker's CPU (-1: none);
   * `sd_flag` says why (SD_BALANCE_WAKE or, from wake_up_new_task, SD_BALANCE_FORK).
   */
  protected abstract select_task_rq(p: TaskStruct, this_cpu: number, sd_flag?: SelectTaskRqReason): number;
  /** Charge `delta` ns of CPU time to curr's class (update_curr). */
  protected update_curr_class(_rq: CpuExec, _p: TaskStruct, _delta: number): void {}
  /** An hrtick: slice ends, RT budgets run out. */
  protected task_tick(_rq: CpuExec): void {}
  /** `p` became rq's current task (set_curr_task / hrtick arming). */
  protected set_curr_task(_rq: CpuExec, _p: TaskStruct): void {}
  /** schedule() before the pick: prev's class pre_schedule, idle_balance. */
  protected pre_schedule(_rq: CpuExec, _prev: TaskStruct): void {}
  /** schedule() after the switch: the new curr's class post_schedule. */
  protected post_schedule(_rq: CpuExec): void {}
  /** try_to_wake_up() / wake_up_new_task() after check_preempt_curr: task_woken. */
  protected task_woken(_rq: CpuExec, _p: TaskStruct): void {}
  /** set_cpus_allowed_ptr() writes the new mask (the RT class's set_cpus_allowed). */
  protected set_cpus_allowed(p: TaskStruct, mask: CpuMask): void {
    p.cpus_allowed = mask.clone();
    p.rt.nr_cpus_allowed = mask.weight();
  }

  /** SLEEP effect: wake `p` after `ns`. Override to use a real hrtimer. */
  protected start_sleep_timer(p: TaskStruct, ns: number): void {
    p.sleep_ev ??= new SimEvent(`sleep/${p.pid}`, () => this.wake_up_process(p));
    this.engine.schedule(p.sleep_ev, this.engine.now + ns);
  }

  protected cancel_sleep_timer(p: TaskStruct): void {
    if (p.sleep_ev) this.engine.cancel(p.sleep_ev);
  }

  // ---- tasks ---------------------------------------------------------------

  create_task(spec: TaskSpec): TaskStruct {
    const cpus = spec.cpus_allowed ?? CpuMask.first_n(this.nr_cpu_ids);
    if (cpus.is_empty()) BUG(`create_task(${spec.comm}): empty cpus_allowed`);
    const p = new TaskStruct(this.next_pid++, spec.comm, cpus.clone());
    const policy = spec.policy ?? "NORMAL";
    set_task_policy(p, policy, policy === "FIFO" || policy === "RR" ? (spec.rt_priority ?? 1) : (spec.nice ?? 0));
    p.flags = spec.flags ?? 0;
    const here = this.engine.ctx.cpu >= 0 ? this.engine.ctx.cpu : 0;
    p.cpu = spec.cpu ?? (cpus.test_cpu(here) ? here : cpus.first());
    p.waker = this;
    p.body = spec.threadfn(p);
    if (p.body.next !== generator_next) BUG(`create_task(${spec.comm}): threadfn did not return a generator`);
    p.rt.nr_cpus_allowed = p.cpus_allowed.weight();
    this.tasks.push(p);
    this.task_created(p);
    return p;
  }

  /**
   * The last put_task_struct(): forget the task, as release_task() and the
   * RCU-delayed free do, so that long runs with many short-lived threads
   * keep bounded memory. Compaction is batched to stay O(1) amortised.
   */
  task_freed(_p: TaskStruct): void {
    this.nr_freed++;
    if (this.nr_freed > 32 && this.nr_freed * 2 > this.tasks.length) {
      let j = 0;
      for (const t of this.tasks) if (t.usage > 0) this.tasks[j++] = t;
      this.tasks.length = j;
      this.nr_freed = 0;
    }
  }

  /** A hook for the policy to initialise its per-task state. */
  protected task_created(_p: TaskStruct): void {}

  *for_each_process(): Iterable<TaskStruct> {
    for (const t of this.tasks) if (t.usage > 0) yield t;
  }

  cpu_curr(cpu: number): TaskStruct {
    return this.rq(cpu).curr;
  }

  task_curr(p: TaskStruct): boolean {
    return p.on_cpu;
  }

  wait_task_inactive(p: TaskStruct): boolean {
    return !p.on_cpu;
  }

  /** idle_cpu() of 2.6.34: the CPU is running its idle task. */
  idle_cpu(cpu: number): boolean {
    const rq = this.rq(cpu);
    return rq.curr === rq.idle;
  }

  sched_idle_next(): void {
    this.resched_curr(this.rq(this.engine.ctx.cpu));
  }

  protected rq(cpu: number): CpuExec {
    const rq = this.rqs[cpu];
    if (!rq) BUG(`no runqueue for cpu ${cpu}`);
    return rq;
  }

  // ---- wake-ups --------------------------------------------------------------

  wake_up_new_task(p: TaskStruct): void {
    if (p.state === "R" || p.state === "X") BUG(`wake_up_new_task(${p.name}) in state ${p.state}`);
    this.try_to_wake_up(p, "SD", "sched_wakeup_new");
  }

  wake_up_process(p: TaskStruct): boolean {
    return this.try_to_wake_up(p, "SD", "sched_wakeup");
  }

  wake_up_state(p: TaskStruct, states: string): boolean {
    return this.try_to_wake_up(p, states, "sched_wakeup");
  }

  protected try_to_wake_up(p: TaskStruct, states: string, event: "sched_wakeup" | "sched_wakeup_new"): boolean {
    // TASK_NORMAL, what nearly every wake-up asks for, by two comparisons:
    // String.prototype.includes is a builtin call per wake-up.
    const state = p.state;
    if (states === "SD" ? state !== "S" && state !== "D" : !states.includes(state)) return false;
    if (p.usage <= 0) BUG(`use-after-free: wake-up of freed task ${p.name}`);
    this.cancel_sleep_timer(p);
    p.blocked_on = null;
    p.wchan = null;
    const this_cpu = this.engine.ctx.cpu;
    const cpu = this.select_task_rq(p, this_cpu, event === "sched_wakeup_new" ? "fork" : "wake");
    if (cpu !== p.cpu) this.set_task_cpu(p, cpu);
    p.state = "R";
    const rq = this.rq(cpu);
    this.activate_task(rq, p, true);
    if (this.trace.enabled) this.trace_wakeup(event, p, this_cpu, cpu);
    this.check_preempt_curr(rq, p);
    this.task_woken(rq, p);
    return true;
  }

  /** The wake-up's trace event, apart so that try_to_wake_up() inlines small. */
  private trace_wakeup(event: "sched_wakeup" | "sched_wakeup_new", p: TaskStruct, this_cpu: number, cpu: number): void {
    this.trace.emit(event, this_cpu >= 0 ? this_cpu : cpu, {
      comm: p.comm,
      pid: p.pid,
      prio: p.prio,
      success: 1,
      target_cpu: cpu,
    });
  }

  set_task_cpu(p: TaskStruct, cpu: number): void {
    if (p.on_rq) BUG(`set_task_cpu(${p.name}) while queued`);
    if (this.trace.enabled && p.cpu !== cpu) {
      const this_cpu = this.engine.ctx.cpu;
      this.trace.emit("sched_migrate_task", this_cpu >= 0 ? this_cpu : p.cpu, {
        comm: p.comm,
        pid: p.pid,
        prio: p.prio,
        orig_cpu: p.cpu,
        dest_cpu: cpu,
      });
    }
    p.cpu = cpu;
  }

  protected activate_task(rq: CpuExec, p: TaskStruct, wakeup: boolean): void {
    if (p.on_rq) BUG(`activate_task(${p.name}): already queued`);
    this.enqueue_task(rq, p, wakeup);
    p.on_rq = true;
  }

  protected deactivate_task(rq: CpuExec, p: TaskStruct, sleep: boolean): void {
    if (!p.on_rq) BUG(`deactivate_task(${p.name}): not queued`);
    this.dequeue_task(rq, p, sleep);
    p.on_rq = false;
  }

  /** Moves a queued task that is not running to another runqueue. */
  protected move_queued_task(p: TaskStruct, dest_cpu: number): void {
    const src = this.rq(p.cpu);
    this.deactivate_task(src, p, false);
    this.set_task_cpu(p, dest_cpu);
    const dst = this.rq(dest_cpu);
    this.activate_task(dst, p, false);
    this.check_preempt_curr(dst, p);
  }

  /**
   * __sched_setscheduler(): off the runqueue (and out of curr) while the
   * policy changes, back on, then check_class_changed() decides whether
   * anything is preempted.
   */
  sched_setscheduler(p: TaskStruct, policy: SchedPolicy, prio: number): number {
    const rq = this.rq(p.cpu);
    const queued = p.on_rq;
    const running = rq.curr === p;
    if (running) this.update_curr(rq);
    if (queued) this.deactivate_task(rq, p, false);
    if (running) this.put_prev_task(rq, p);
    const oldprio = p.prio;
    const prev_policy = p.policy;
    set_task_policy(p, policy, prio);
    this.policy_changed(p);
    if (running) this.set_curr_task(rq, p);
    if (queued) {
      this.activate_task(rq, p, false);
      this.check_class_changed(rq, p, prev_policy, oldprio, running);
    }
    return 0;
  }

  /**
   * check_class_changed(): after a policy or priority change of a queued
   * task. The policy's classes decide; without them a running task is
   * rescheduled and a queued one may preempt.
   */
  protected check_class_changed(rq: CpuExec, p: TaskStruct, _prev_policy: SchedPolicy, _oldprio: number, running: boolean): void {
    if (running) this.resched_curr(rq);
    else this.check_preempt_curr(rq, p);
  }

  /** A hook for the policy after a task's class or priority changed. */
  protected policy_changed(_p: TaskStruct): void {}

  /** cpu_active_mask membership; the policy may refine it. */
  protected cpu_active(cpu: number): boolean {
    return this.cpu_online(cpu);
  }

  /**
   * set_cpus_allowed_ptr(): -EINVAL unless the mask holds an active CPU; a
   * sleeping task is placed by its next wake-up, a queued one moves to the
   * first active CPU of the mask, a running one too at its next switch (the
   * migration thread's job in 2.6.34).
   */
  set_cpus_allowed_ptr(p: TaskStruct, mask: CpuMask): number {
    const dest = this.any_active_cpu(mask);
    if (dest < 0) return -22;
    this.set_cpus_allowed(p, mask);
    if (mask.test_cpu(p.cpu)) return 0;
    if (!p.on_rq && !p.on_cpu) {
      // migrate_task(): "the next wake-up will properly place the task":
      // task_cpu stays, and select_task_rq() falls back to an allowed CPU.
      return 0;
    } else if (p.on_cpu) {
      // Moved by the scheduler at its next switch, as the migration thread would.
      p.migration_pending = true;
      this.resched_curr(this.rq(p.cpu));
    } else if (p.on_rq) {
      this.move_queued_task(p, dest);
    }
    return 0;
  }

  /** cpumask_any_and(cpu_active_mask, mask): where set_cpus_allowed_ptr's migration sends a task; -1 if none. */
  private any_active_cpu(mask: CpuMask): number {
    for (let c = mask.first(); c >= 0 && c < this.nr_cpu_ids; c = mask.next(c + 1)) if (this.cpu_active(c)) return c;
    return -1;
  }

  move_task_off_dead_cpu(dead_cpu: number, p: TaskStruct): void {
    if (p.cpu !== dead_cpu || !p.on_rq || p.on_cpu) return;
    this.move_queued_task(p, this.select_task_rq(p, -1));
  }

  resched_curr(rq: CpuExec): void {
    rq.need_resched = true;
    if (rq.stepping || rq.deferred || rq.resched_ev.index >= 0) return;
    // Engine.enqueue(): no call takes the time (see there).
    rq.resched_ev.time = this.engine.now;
    this.engine.enqueue(rq.resched_ev);
  }

  resched_cpu(cpu: number): void {
    this.resched_curr(this.rq(cpu));
  }

  // ---- interrupts ------------------------------------------------------------

  private readonly irq_saved_task: (TaskStruct | null)[] = [];
  private readonly irq_saved_cpu: number[] = [];

  irq_enter(cpu: number): void {
    const rq = this.rq(cpu);
    this.update_curr(rq);
    // An interrupt outside Engine.run (boot, a test) still runs on this machine.
    this.engine.activate();
    const ctx = this.engine.ctx;
    this.irq_saved_task.push(ctx.task);
    this.irq_saved_cpu.push(ctx.cpu);
    ctx.task = rq.curr;
    ctx.cpu = cpu;
    ctx.irq++;
  }

  irq_exit(_cpu: number): void {
    const ctx = this.engine.ctx;
    ctx.irq--;
    ctx.task = this.irq_saved_task.pop() ?? null;
    ctx.cpu = this.irq_saved_cpu.pop() ?? -1;
  }

  // ---- the core loop ---------------------------------------------------------

  /** Charge curr's CPU time up to now. */
  update_curr(rq: CpuExec): void {
    const now = this.engine.now;
    const delta = now - rq.exec_start;
    if (delta <= 0) return;
    rq.exec_start = now;
    const p = rq.curr;
    if (p === rq.idle) {
      rq.idle_ns += delta;
      return;
    }
    rq.busy_ns += delta;
    p.se.sum_exec_runtime += delta;
    if (p.run_remaining !== Number.POSITIVE_INFINITY) p.run_remaining = Math.max(0, p.run_remaining - delta);
    this.update_curr_class(rq, p, delta);
  }

  /** run_ev: curr's RUN effect is done; step its body on. */
  run_done(rq: CpuExec): void {
    rq.deferred = true;
    this.update_curr(rq);
    rq.deferred = false;
    const p = rq.curr;
    p.run_remaining = 0;
    if (rq.need_resched || this.step(rq, p)) this.schedule(rq);
  }

  hrtick(rq: CpuExec): void {
    // With interrupts off the timer interrupt stays pending (no scheduler_tick).
    if (rq.irqs_disabled) {
      rq.tick_pending = true;
      return;
    }
    rq.deferred = true;
    try {
      this.update_curr(rq);
      this.task_tick(rq);
    } finally {
      rq.deferred = false;
    }
    if (rq.need_resched) this.schedule(rq);
  }

  /** irqs_disabled() as seen on `cpu`: its running task turned interrupts off. */
  irqs_disabled(cpu: number): boolean {
    return this.rq(cpu).irqs_disabled;
  }

  /**
   * local_irq_disable() by the task running on `cpu` (stop_cpu at
   * STOPMACHINE_DISABLE_IRQ): no scheduler tick lands there until
   * local_irq_enable(), so no RT budget check either.
   */
  local_irq_disable(cpu: number): void {
    const rq = this.rq(cpu);
    if (rq.irqs_disabled) BUG(`local_irq_disable on CPU ${cpu}: interrupts are already off`);
    rq.irqs_disabled = true;
  }

  /**
   * local_irq_enable(): a tick that came meanwhile is taken now, charging
   * what ran with interrupts off (update_curr_rt) in one piece.
   */
  local_irq_enable(cpu: number): void {
    const rq = this.rq(cpu);
    if (!rq.irqs_disabled) BUG(`local_irq_enable on CPU ${cpu}: interrupts are not off`);
    rq.irqs_disabled = false;
    if (!rq.tick_pending) return;
    rq.tick_pending = false;
    this.update_curr(rq);
    this.task_tick(rq);
  }

  /** __schedule(): pick and switch until curr runs a RUN effect or is idle. */
  schedule(rq: CpuExec): void {
    const engine = this.engine;
    if (rq.resched_ev.index >= 0) engine.cancel(rq.resched_ev);
    for (let steps = 0; ; steps++) {
      if (steps > MAX_STEPS_WITHOUT_TIME) this.livelock(rq);
      const prev = rq.curr;
      this.update_curr(rq);
      rq.need_resched = false;
      // With interrupts off nothing takes the CPU from a running task (no
      // tick, no IPI): it keeps it until it enables them or blocks, even on
      // a CPU that went offline meanwhile (take_cpu_down's stop_cpu).
      const keep = rq.irqs_disabled && prev !== rq.idle && prev.state === "R";
      if (keep) prev.yielded = false;
      else if (prev !== rq.idle) {
        if (prev.state !== "R") {
          prev.blocked_since = engine.now;
          this.deactivate_task(rq, prev, true);
        } else if (prev.migration_pending) {
          this.migrate_prev(rq, prev);
        } else {
          if (prev.yielded) this.yield_task(rq, prev);
          this.put_prev_task(rq, prev);
        }
        prev.yielded = false;
      }
      if (!keep) this.pre_schedule(rq, prev);
      const next = keep ? prev : (this.pick_next_task(rq) ?? rq.idle);
      if (next !== prev) this.context_switch(rq, prev, next);
      rq.exec_start = engine.now;
      this.set_curr_task(rq, next);
      this.post_schedule(rq);
      // prev's RUN event is moved in place or cancelled only here: one heap
      // operation instead of a removal and a push (the sequence numbers are
      // the same, so ties resolve as before).
      if (next === rq.idle) return this.cancel_run(rq);
      if (next.run_remaining > 0) {
        if (next.run_remaining !== Number.POSITIVE_INFINITY) this.arm_run(rq, next.run_remaining);
        else this.cancel_run(rq);
        return;
      }
      if (!this.step(rq, next)) return;
    }
  }

  /**
   * schedule()'s rare paths, apart so that schedule() leaves V8 budget to
   * inline its hot callees. A running task whose affinity changed goes
   * where the migration thread's __migrate_task() would send it:
   * cpumask_any_and(cpu_active_mask, cpus_allowed).
   */
  private migrate_prev(rq: CpuExec, prev: TaskStruct): void {
    prev.migration_pending = false;
    this.put_prev_task(rq, prev);
    this.deactivate_task(rq, prev, false);
    let dest = this.any_active_cpu(prev.cpus_allowed);
    if (dest < 0) dest = this.select_task_rq(prev, rq.cpu);
    this.set_task_cpu(prev, dest);
    this.activate_task(this.rq(dest), prev, false);
    if (dest !== rq.cpu) this.resched_curr(this.rq(dest));
  }

  private livelock(rq: CpuExec): never {
    BUG(`livelock on CPU ${rq.cpu}: ${rq.curr.name} keeps yielding and no time passes`);
  }

  /**
   * run_ev fires when curr's RUN effect, `ns` more, is done. The time goes
   * through the event (Engine.enqueue); a duration under 2^31 ns, unlike a
   * time, passes as a small integer.
   */
  private arm_run(rq: CpuExec, ns: number): void {
    const ev = rq.run_ev;
    ev.time = this.engine.now + ns;
    this.engine.enqueue(ev);
  }

  private cancel_run(rq: CpuExec): void {
    if (rq.run_ev.index >= 0) this.engine.cancel(rq.run_ev);
  }

  private context_switch(rq: CpuExec, prev: TaskStruct, next: TaskStruct): void {
    const cpu = rq.cpu;
    if (next !== rq.idle && (!this.cpu_online(cpu) || !next.cpus_allowed.test_cpu(cpu) || next.cpu !== cpu)) this.bad_switch(rq, next);
    if (prev !== rq.idle) {
      if (prev.state === "R") prev.nivcsw++;
      else prev.nvcsw++;
    }
    rq.nr_switches++;
    this.stats.context_switches++;
    if (this.trace.enabled) this.trace_sched_switch(rq, prev, next);
    prev.on_cpu = false;
    next.on_cpu = true;
    rq.curr = next;
    // finish_task_switch(): the last reference of a dead task goes with it.
    if (prev.state === "X") put_task_struct(prev);
  }

  /**
   * context_switch()'s checks failed: which one. Apart, as is the trace
   * below, so that context_switch() stays small enough for V8 to inline
   * into schedule().
   */
  private bad_switch(rq: CpuExec, next: TaskStruct): never {
    if (!this.cpu_online(rq.cpu)) BUG(`${next.name} scheduled on offline CPU ${rq.cpu}`);
    if (!next.cpus_allowed.test_cpu(rq.cpu)) {
      BUG(`${next.name} scheduled on CPU ${rq.cpu} outside its cpus_allowed ${next.cpus_allowed.toString()}`);
    }
    BUG(`${next.name} runs on CPU ${rq.cpu} but task_cpu() is ${next.cpu}`);
  }

  private trace_sched_switch(rq: CpuExec, prev: TaskStruct, next: TaskStruct): void {
    this.trace.emit("sched_switch", rq.cpu, {
      prev_comm: prev.comm,
      prev_pid: prev.pid,
      prev_prio: prev.prio,
      prev_state: prev.state,
      next_comm: next.comm,
      next_pid: next.pid,
      next_prio: next.prio,
    });
  }

  /**
   * Steps curr's body until it starts a RUN effect (returns false, run_ev
   * armed) or must be rescheduled (returns true: blocked, yielded, exited,
   * or preempted).
   */
  private step(rq: CpuExec, p: TaskStruct): boolean {
    const ctx = this.engine.ctx;
    const saved_task = ctx.task;
    const saved_cpu = ctx.cpu;
    ctx.task = p;
    ctx.cpu = rq.cpu;
    rq.stepping = true;
    try {
      for (;;) {
        const r = generator_next.call(p.body);
        if (r.done === true) {
          this.do_exit(p, r.value);
          return true;
        }
        const e = r.value;
        if (e.op === EFFECT_RUN) {
          if (!(e.ns > 0)) continue;
          p.run_remaining = e.ns;
          if (rq.need_resched) return true;
          if (e.ns !== Number.POSITIVE_INFINITY) this.arm_run(rq, e.ns);
          else this.cancel_run(rq);
          return false;
        }
        // schedule_debug(): a task that sleeps or calls schedule() with
        // preemption or interrupts off is the kernel's "scheduling while atomic".
        if (ctx.atomic > 0 || ctx.irq > 0) scheduling_while_atomic(p, e.op === EFFECT_SLEEP, ctx);
        if (e.op === EFFECT_SLEEP) {
          p.state = "S";
          p.wchan = "hrtimer_nanosleep";
          this.start_sleep_timer(p, e.ns);
          return true;
        }
        // SCHEDULE: blocks unless the state is still R (then it is a yield).
        if (p.state === "R") p.yielded = true;
        return true;
      }
    } finally {
      rq.stepping = false;
      ctx.task = saved_task;
      ctx.cpu = saved_cpu;
    }
  }

  /** do_exit(): the task is dead; it leaves the CPU at the next switch. */
  protected do_exit(p: TaskStruct, code: number): void {
    p.exit_code = code;
    p.flags |= PF_EXITING;
    p.state = "X";
    p.wchan = null;
    p.blocked_on = null;
    if (this.trace.enabled) this.trace.emit("sched_process_exit", p.cpu, { comm: p.comm, pid: p.pid, prio: p.prio });
    this.task_exited(p);
    // release_task(): kernel threads are reaped at once.
    put_task_struct(p);
  }

  task_sched_runtime(p: TaskStruct): number {
    if (p.on_cpu) this.update_curr(this.rq(p.cpu));
    return p.se.sum_exec_runtime;
  }

  /** A policy without RT bandwidth has nothing to show. */
  rt_rq_stats(_cpu: number): RtRqStats {
    return { rt_nr_running: 0, rt_throttled: false, rt_time: 0, rt_runtime: Number.POSITIVE_INFINITY };
  }

  /** A hook for the policy when a task exits. */
  protected task_exited(_p: TaskStruct): void {}

}
