import type { Nanoseconds } from "./time.js";

/** include/linux/hrtimer.h: what the hrtimer subsystem offers the others. */

export const HRTIMER_NORESTART = 0;
export const HRTIMER_RESTART = 1;
export type HrtimerRestart = typeof HRTIMER_NORESTART | typeof HRTIMER_RESTART;

export const HRTIMER_STATE_INACTIVE = 0x00;
export const HRTIMER_STATE_ENQUEUED = 0x01;
export const HRTIMER_STATE_CALLBACK = 0x02;
export const HRTIMER_STATE_MIGRATE = 0x04;

export type HrtimerMode = "ABS" | "REL" | "ABS_PINNED" | "REL_PINNED";
export type ClockId = "CLOCK_MONOTONIC" | "CLOCK_REALTIME";

/**
 * struct hrtimer. The owner embeds one and reuses it. `cpu` names the CPU
 * whose hrtimer_cpu_base holds it (the kernel's timer->base->cpu_base).
 */
export class HrTimer {
  /** Shown in traces and wait-for graphs ("sched_rt_period_timer"). */
  name: string;
  function: ((timer: HrTimer) => HrtimerRestart) | null = null;
  /** Absolute expiry on the timer's clock. */
  expires: Nanoseconds = 0;
  state = HRTIMER_STATE_INACTIVE;
  clock: ClockId = "CLOCK_MONOTONIC";
  /** CPU of the base holding the timer; -1 before its first start. */
  cpu = -1;
  /** Queue position, private to the hrtimer implementation. */
  node: unknown = null;
  /** A free slot for the owner (the kernel uses container_of). */
  data: unknown = null;

  constructor(name: string) {
    this.name = name;
  }
}

export interface HrtimerStats {
  fired: number;
  migrated: number;
}

export interface HrtimerOps {
  hrtimer_init(timer: HrTimer, clock: ClockId, mode: HrtimerMode): void;
  /** Queue the timer on the current CPU's base (switch_hrtimer_base); returns 1 if it was active. */
  hrtimer_start(timer: HrTimer, tim: Nanoseconds, mode: HrtimerMode): number;
  /** 1 if it was active, 0 if not; waits out a running callback. */
  hrtimer_cancel(timer: HrTimer): number;
  /** 1 if dequeued, 0 if inactive, -1 while its callback runs. */
  hrtimer_try_to_cancel(timer: HrTimer): number;
  /** Moves expiry past `now` by whole intervals; returns how many. */
  hrtimer_forward(timer: HrTimer, now: Nanoseconds, interval: Nanoseconds): number;
  hrtimer_active(timer: HrTimer): boolean;
  hrtimer_is_queued(timer: HrTimer): boolean;
  hrtimer_callback_running(timer: HrTimer): boolean;
  /** The clock of the timer's base, read now. */
  hrtimer_cb_get_time(timer: HrTimer): Nanoseconds;
  readonly stats: HrtimerStats;
}
