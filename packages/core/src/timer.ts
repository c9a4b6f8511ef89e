/**
 * include/linux/timer.h and the jiffies half of include/linux/jiffies.h:
 * what the timer wheel (kernel/timer.c) offers the other subsystems, and the
 * sleeps of include/linux/sched.h that it times (schedule_timeout, msleep).
 */
import type { KernelCall } from "./effects.js";
import { NSEC_PER_SEC, type Nanoseconds } from "./time.js";

/** MAX_SCHEDULE_TIMEOUT (LONG_MAX): schedule_timeout() arms no timer and sleeps until woken. */
export const MAX_SCHEDULE_TIMEOUT = Number.MAX_SAFE_INTEGER;

/** TICK_NSEC: the length of one jiffy at `hz`, rounded to the nearest ns. */
export function tick_nsec(hz: number): Nanoseconds {
  return Math.floor((NSEC_PER_SEC + Math.floor(hz / 2)) / hz);
}

/**
 * msecs_to_jiffies(): rounds up, so a sleep is never shorter than asked
 * (the three cases of 2.6.34 all compute ceil(m * HZ / 1000)).
 */
export function msecs_to_jiffies(m: number, hz: number): number {
  if (m < 0) return 0;
  return Math.floor((m * hz + 999) / 1000);
}

/** jiffies_to_msecs(): rounds up as well. */
export function jiffies_to_msecs(j: number, hz: number): number {
  return Math.floor((j * 1000 + hz - 1) / hz);
}

/**
 * struct timer_list. The owner embeds one and reuses it. `cpu` names the CPU
 * whose tvec_base holds it, or held it last (the kernel's timer->base).
 */
export class TimerList {
  /** Shown in traces and wait-for graphs ("process_timeout(khungtaskd/5)"). */
  name: string;
  function: ((data: unknown) => void) | null = null;
  data: unknown = null;
  /** Absolute expiry in jiffies. */
  expires = 0;
  /** CPU of the base holding the timer; -1 before its first add. */
  cpu = -1;
  /** The wheel's bookkeeping (timer->entry), private to the implementation. */
  entry: unknown = null;

  constructor(name: string) {
    this.name = name;
  }
}

export interface TimerStats {
  /** Timer functions run. */
  fired: number;
  /** Timers moved off a dead CPU by timer_cpu_notify(CPU_DEAD). */
  migrated: number;
}

export interface TimerOps {
  /** jiffies now: whole ticks of 1/HZ s since boot. */
  readonly jiffies: number;
  /** init_timer(): the timer is not pending and belongs to no base yet. */
  init_timer(timer: TimerList): void;
  /** setup_timer(): init_timer with its function and data. */
  setup_timer(timer: TimerList, fn: (data: unknown) => void, data: unknown): void;
  /** add_timer(): BUG if pending; queue it at timer.expires on this CPU's base. */
  add_timer(timer: TimerList): void;
  /** mod_timer(): (re)queue at `expires` on this CPU's base; 1 if it was pending. */
  mod_timer(timer: TimerList, expires: number): number;
  /** add_timer_on(): queue on `cpu`'s base. */
  add_timer_on(timer: TimerList, cpu: number): void;
  /** del_timer(): 1 if it was pending, else 0. */
  del_timer(timer: TimerList): number;
  /** try_to_del_timer_sync(): -1 while its function runs. */
  try_to_del_timer_sync(timer: TimerList): number;
  /** del_timer_sync(): waits out a running function; 1 if it was pending. */
  del_timer_sync(timer: TimerList): number;
  timer_pending(timer: TimerList): boolean;
  /** schedule_timeout(): the caller has set its state to S or D; returns the jiffies left. */
  schedule_timeout(timeout: number): KernelCall<number>;
  schedule_timeout_interruptible(timeout: number): KernelCall<number>;
  schedule_timeout_uninterruptible(timeout: number): KernelCall<number>;
  /** msleep(): TASK_UNINTERRUPTIBLE for at least `msecs`. */
  msleep(msecs: number): KernelCall;
  /** The timers queued on `cpu`'s base, in the order they would run. */
  timers_on(cpu: number): TimerList[];
  readonly stats: TimerStats;
}
