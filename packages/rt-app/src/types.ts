/**
 * An rt-app workload after validation: rt-app's thread_data_t, phase_data_t
 * and event_data_t (src/rt-app_types.h), as plain data so that a scenario
 * holding one can be sent to a worker thread.
 */

/** The policies of Linux 2.6.34 that ksim's scheduler models. */
export type RtAppPolicy = "SCHED_OTHER" | "SCHED_FIFO" | "SCHED_RR" | "SCHED_IDLE";

/** A scheduling change: null policy keeps the current one (rt-app's `same`). */
export interface RtAppSched {
  readonly policy: RtAppPolicy | null;
  /** rt_priority 1..99 (FIFO, RR) or nice -20..19 (OTHER, IDLE); null: the policy's default. */
  readonly priority: number | null;
}

export type RtAppEvent =
  /** run, runtime, mem, iorun: CPU work of `ns`; `c_us` is what rt-app adds to c_duration, `loops` to perf. */
  | { readonly kind: "run"; readonly key: string; readonly ns: number; readonly c_us: number; readonly loops: number }
  | { readonly kind: "sleep"; readonly key: string; readonly us: number }
  /** `ref` is the resource name; unique timers are per thread instance. */
  | { readonly kind: "timer"; readonly key: string; readonly ref: string; readonly unique: boolean; readonly period_us: number }
  | { readonly kind: "lock" | "unlock"; readonly key: string; readonly mutex: string }
  /** wait: pthread_cond_wait; sync: signal, then wait (rt-app's rtapp_sig_and_wait). */
  | { readonly kind: "wait" | "sync"; readonly key: string; readonly cond: string; readonly mutex: string }
  | { readonly kind: "signal" | "broadcast"; readonly key: string; readonly cond: string }
  /** suspend waits on the condition named after its own thread; resume broadcasts the named one. */
  | { readonly kind: "suspend" | "resume"; readonly key: string; readonly cond: string }
  | { readonly kind: "barrier"; readonly key: string; readonly barrier: string }
  | { readonly kind: "yield"; readonly key: string }
  | { readonly kind: "fork"; readonly key: string; readonly thread: string }
  | { readonly kind: "sem_post" | "sem_wait"; readonly key: string; readonly sem: string };

export interface RtAppPhase {
  readonly name: string;
  /** Times the phase runs before the next one starts; -1: forever. */
  readonly loop: number;
  readonly events: readonly RtAppEvent[];
  /** Affinity for this phase; null: the thread's. */
  readonly cpus: readonly number[] | null;
  /** Set at the phase's start; null: unchanged. */
  readonly sched: RtAppSched | null;
}

export interface RtAppThread {
  /** The key in `tasks`. */
  readonly name: string;
  /** Threads created at start (0: only by fork). */
  readonly instance: number;
  readonly delay_us: number;
  /** Times the phases run in turn; -1: forever. */
  readonly loop: number;
  /** Affinity; null: every CPU. */
  readonly cpus: readonly number[] | null;
  readonly policy: RtAppPolicy;
  readonly priority: number;
  readonly phases: readonly RtAppPhase[];
}

/** A key rt-app does not read: it skips it, and so does ksim (the loader warns of it). */
export interface RtAppIgnoredKey {
  /** The field path, as in errors: `global.frag`, `tasks.t.colour`. */
  readonly path: string;
  readonly why: string;
}

export interface RtAppWorkload {
  /** The file, as named to the loader (for messages). */
  readonly source: string;
  /** global.duration in seconds; -1: until every thread ends. */
  readonly duration_s: number;
  /** global.calibration when it is a number of ns per loop; null when it names a CPU. */
  readonly ns_per_loop: number | null;
  readonly cumulative_slack: boolean;
  readonly log_basename: string;
  readonly threads: readonly RtAppThread[];
  /** Barrier name -> how many thread instances take part (rt-app counts them at parse time). */
  readonly barriers: readonly (readonly [string, number])[];
  /** Timer resource -> absolute mode (the last `mode` given for it wins, as in rt-app). */
  readonly timer_modes: readonly (readonly [string, boolean])[];
  /** Keys passed over, in file order, as rt-app passes over them. */
  readonly ignored: readonly RtAppIgnoredKey[];
}
