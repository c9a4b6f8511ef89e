import type { Nanoseconds } from "./time.js";

export const EFFECT_RUN = 0;
export const EFFECT_SCHEDULE = 1;
export const EFFECT_SLEEP = 2;

/** Consume `ns` of CPU time: progresses only while the task is current. */
export interface RunEffect {
  readonly op: typeof EFFECT_RUN;
  readonly ns: Nanoseconds;
}
/**
 * Call schedule(): with the task's state set to S or D it blocks; with
 * state R it is sched_yield().
 */
export interface ScheduleEffect {
  readonly op: typeof EFFECT_SCHEDULE;
}
/** Sleep in TASK_INTERRUPTIBLE for `ns` (schedule_hrtimeout / nanosleep). */
export interface SleepEffect {
  readonly op: typeof EFFECT_SLEEP;
  readonly ns: Nanoseconds;
}

export type Effect = RunEffect | ScheduleEffect | SleepEffect;

/**
 * A blocking kernel function: a generator that yields effects and returns
 * its result. Call it from process context with `yield*`.
 */
export type KernelCall<T = void> = Generator<Effect, T, unknown>;

export function RUN(ns: Nanoseconds): RunEffect {
  return { op: EFFECT_RUN, ns };
}

export const SCHEDULE: ScheduleEffect = Object.freeze({ op: EFFECT_SCHEDULE });

export function SLEEP(ns: Nanoseconds): SleepEffect {
  return { op: EFFECT_SLEEP, ns };
}

/** schedule(): the caller has set its state first. */
export function* schedule(): KernelCall {
  yield SCHEDULE;
}

/** sched_yield() / yield(): give the CPU to a peer of equal priority. */
export function* sched_yield(): KernelCall {
  yield SCHEDULE;
}
