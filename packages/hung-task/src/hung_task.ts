/**
 * kernel/hung_task.c of 2.6.3x: khungtaskd wakes every
 * hung_task_timeout_secs and reports each task that has stayed in
 * TASK_UNINTERRUPTIBLE, without a context switch, since the previous scan.
 * A task is therefore reported between T and 2T after it blocked.
 */
import {
  current,
  define_service,
  MAX_SCHEDULE_TIMEOUT,
  NICE_TO_PRIO,
  PF_KTHREAD,
  SCHEDULE,
  SLEEP,
  tick_nsec,
  TIMER,
  type Kernel,
  type KernelCall,
  type Subsystem,
  type SubsystemFactory,
  type TaskStruct,
} from "@ksim/core";

/** The machine's reaction to a report: it stops the run and explains the hang. */
export type OnHung = (tasks: readonly TaskStruct[], now_ns: number) => void;

export interface HungTaskOptions {
  /** sysctl_hung_task_timeout_secs; 0 turns the detector off. */
  hung_task_timeout_secs: number;
  /** sysctl_hung_task_warnings (default 10). */
  hung_task_warnings?: number;
  /** sysctl_hung_task_check_count: tasks looked at per scan (default: all). */
  hung_task_check_count?: number;
  /** Called after each scan that printed a report, with the tasks it named. */
  on_hung?: OnHung;
  /** printk(KERN_ERR ...); default: the kernel's printk. */
  printk?: (line: string) => void;
}

export class HungTaskDetector {
  /** The khungtaskd thread; null before hung_task_init(). */
  task: TaskStruct | null = null;
  sysctl_hung_task_timeout_secs: number;
  sysctl_hung_task_warnings: number;
  sysctl_hung_task_check_count: number;
  /** Scans done so far. */
  scans = 0;
  private readonly on_hung: OnHung | undefined;
  private readonly printk: (line: string) => void;
  /** Tasks reported by the scan in progress (reused). */
  private readonly found: TaskStruct[] = [];

  constructor(
    private readonly k: Kernel,
    opts: HungTaskOptions,
  ) {
    this.sysctl_hung_task_timeout_secs = opts.hung_task_timeout_secs;
    this.sysctl_hung_task_warnings = opts.hung_task_warnings ?? 10;
    this.sysctl_hung_task_check_count = opts.hung_task_check_count ?? Number.MAX_SAFE_INTEGER;
    this.on_hung = opts.on_hung;
    this.printk = opts.printk ?? ((line) => k.printk(line));
  }

  /**
   * hung_task_init(): kthread_run(watchdog, NULL, "khungtaskd"), whatever
   * the timeout: with 0 the thread sleeps until the sysctl is written.
   * kthreadd forks it, so it is placed by fork balancing after whatever
   * was already runnable has run (init waits for kthreadd meanwhile).
   */
  *hung_task_init(): KernelCall<TaskStruct> {
    const p = yield* this.k.kthread.kthread_run(() => this.watchdog(), null, "khungtaskd");
    this.task = p;
    return p;
  }

  /**
   * hung_task_init() without kthreadd, for a machine that has none (a test
   * kit): the thread is created and woken by the caller.
   */
  init(): TaskStruct {
    const k = this.k;
    const p = k.sched.create_task({
      comm: "khungtaskd",
      policy: "NORMAL",
      nice: 0,
      flags: PF_KTHREAD,
      threadfn: () => this.watchdog(),
    });
    this.task = p;
    k.sched.wake_up_new_task(p);
    return p;
  }

  /**
   * watchdog(): sleep for the timeout on the timer wheel, scan, forever. A
   * wake-up before the timeout (the sysctl written) sleeps again for the
   * timeout read anew.
   */
  private *watchdog(): KernelCall<number> {
    // set_user_nice(current, 0): kthreadd's children inherit its nice level.
    const self = current();
    if (self.static_prio !== NICE_TO_PRIO(0)) this.k.sched.sched_setscheduler(self, "NORMAL", 0);
    for (;;) {
      let timeout = this.sysctl_hung_task_timeout_secs;
      while ((yield* this.schedule_timeout_interruptible(timeout_jiffies(timeout, this.k.config.hz))) !== 0) {
        timeout = this.sysctl_hung_task_timeout_secs;
      }
      this.check_hung_uninterruptible_tasks(timeout);
    }
  }

  /**
   * schedule_timeout_interruptible() of the machine's timer wheel; a machine
   * without one (a test kit) times the sleep with the executor's SLEEP.
   */
  private *schedule_timeout_interruptible(timeout: number): KernelCall<number> {
    const k = this.k;
    if (k.has_service(TIMER)) return yield* k.service(TIMER).schedule_timeout_interruptible(timeout);
    if (timeout === MAX_SCHEDULE_TIMEOUT) {
      current().state = "S";
      current().wchan = "schedule_timeout";
      yield SCHEDULE;
      return timeout;
    }
    yield SLEEP(timeout * tick_nsec(k.config.hz));
    return 0;
  }

  /** Scans every task in state exactly D. */
  check_hung_uninterruptible_tasks(timeout: number): void {
    this.scans++;
    let max_count = this.sysctl_hung_task_check_count;
    const found = this.found;
    found.length = 0;
    for (const t of this.k.sched.for_each_process()) {
      if (max_count-- === 0) break;
      if (t.state === "D") this.check_hung_task(t, timeout);
    }
    if (found.length > 0 && this.on_hung) this.on_hung(found.slice(), this.k.engine.now);
  }

  /** check_hung_task(): the switch-count rule and the warning budget. */
  private check_hung_task(t: TaskStruct, timeout: number): void {
    const switch_count = t.nvcsw + t.nivcsw;
    // A task that went to D before its first switch out is not judged yet.
    if (switch_count === 0) return;
    if (switch_count !== t.last_switch_count) {
      t.last_switch_count = switch_count;
      return;
    }
    if (this.sysctl_hung_task_warnings === 0) return;
    this.sysctl_hung_task_warnings--;
    this.printk(`INFO: task ${t.comm}:${t.pid} blocked for more than ${timeout} seconds.`);
    this.printk(`"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.`);
    this.found.push(t);
  }
}

/** timeout_jiffies(): a timeout of 0 disables the watchdog (it sleeps without a timer). */
export function timeout_jiffies(timeout: number, hz: number): number {
  return timeout ? timeout * hz : MAX_SCHEDULE_TIMEOUT;
}

/** What the rest of a machine may ask of the hung-task detector. */
export interface HungTaskOps {
  /** The khungtaskd thread; null before hung_task_init(). */
  readonly task: TaskStruct | null;
  readonly sysctl_hung_task_timeout_secs: number;
}

/** A service core does not know: defined here, found by its name. */
export const HUNG_TASK = define_service<HungTaskOps>("hung_task");

/** khungtaskd as a machine's subsystem: hung_task_init() is a module_init (device level). */
export function hung_task_subsystem(opts: HungTaskOptions): SubsystemFactory {
  return (k: Kernel): Subsystem<HungTaskOps> => {
    const d = new HungTaskDetector(k, opts);
    return {
      name: "hung_task",
      implementation: "kernel/hung_task.c of 2.6.34",
      provides: HUNG_TASK,
      ops: d,
      initcalls: [{ name: "hung_task_init", level: "device", fn: () => d.hung_task_init() }],
    };
  };
}
