/**
 * cpu_stop of 2.6.35 (kernel/stop_machine.c): one stopper thread per CPU,
 * "migration/N", SCHED_FIFO MAX_RT_PRIO-1, runs the works queued on its CPU
 * one at a time with preemption off. 2.6.35 has no stop sched class yet, so
 * a stopper is an ordinary RT task: RT throttling can hold it back.
 */
import {
  BUG,
  can_sleep,
  complete,
  Completion,
  CPU_ONLINE,
  CPU_POST_DEAD,
  CPU_TASKS_FROZEN,
  CPU_UP_CANCELED,
  CPU_UP_PREPARE,
  current,
  EFFECT_RUN,
  ENOENT,
  get_task_struct,
  MAX_RT_PRIO,
  Mutex,
  mutex_lock,
  mutex_unlock,
  NOTIFY_BAD,
  NOTIFY_OK,
  preempt_disable,
  preempt_enable,
  put_task_struct,
  SCHEDULE,
  smp_processor_id,
  wait_for_completion,
  type CpuMask,
  type CpuStopFn,
  type CpuStopOps,
  type CpuStopWork,
  type Effect,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type TaskStruct,
  type WaitEdge,
} from "@ksim/core";

/** cpu_stop_cpu_notifier's priority: 10, the same as migration_call. */
export const CPU_STOP_CPU_NOTIFY_PRIORITY = 10;

/** sched_param of a stopper: MAX_RT_PRIO-1 as an rt_priority (99). */
const STOPPER_RT_PRIORITY = MAX_RT_PRIO - 1;

/** struct cpu_stop_done: shared by the works of one request. */
interface CpuStopDone {
  /** nr left to execute */
  nr_todo: number;
  /** actually executed? */
  executed: boolean;
  /** collected return value */
  ret: number;
  /** fired when nr_todo reaches 0 */
  readonly completion: Completion;
  /** The works of this request, for the wait-for graph. */
  readonly works: QueuedWork[];
}

/** struct cpu_stop_work as it sits on a stopper's list. */
interface QueuedWork {
  readonly cpu: number;
  readonly fn: CpuStopFn;
  readonly arg: unknown;
  readonly done: CpuStopDone | null;
  /** Signalled (run or failed). */
  finished: boolean;
}

/** struct cpu_stopper: one per possible CPU, enabled on online CPUs. */
export interface CpuStopper {
  readonly cpu: number;
  /** pending works, oldest first */
  readonly works: QueuedWork[];
  /** the stopper thread, from CPU_UP_PREPARE until it is stopped */
  thread: TaskStruct | null;
  /** works are accepted (from CPU_ONLINE until CPU_UP_CANCELED or CPU_POST_DEAD) */
  enabled: boolean;
}

export class CpuStoppers implements CpuStopOps {
  private readonly stoppers: CpuStopper[] = [];
  /** static DEFINE_MUTEX(stop_cpus_mutex): stop_cpus' works are per-CPU statics. */
  private readonly stop_cpus_mutex = new Mutex("stop_cpus_mutex");
  readonly cpu_stop_cpu_notifier: NotifierBlock;
  /** Works run to completion, and works completed as failed (-ENOENT). */
  readonly stats = { executed: 0, failed: 0 };

  constructor(private readonly k: Kernel) {
    this.cpu_stop_cpu_notifier = {
      name: "cpu_stop_cpu_callback",
      priority: CPU_STOP_CPU_NOTIFY_PRIORITY,
      notifier_call: (_nb, action, hcpu) => this.cpu_stop_cpu_callback(action, hcpu),
    };
  }

  /** The stopper of `cpu` (for tests and reports). */
  stopper(cpu: number): CpuStopper {
    const s = this.stoppers[cpu];
    if (!s) BUG(`cpu_stop: no stopper for CPU ${cpu} (cpu_stop_init not run?)`);
    return s;
  }

  /**
   * cpu_stop_init(), an early_initcall: the per-CPU stoppers, then the
   * callback run by hand for the boot CPU (UP_PREPARE, ONLINE), then the
   * notifier for every CPU that comes up later.
   */
  *cpu_stop_init(): KernelCall {
    if (this.stoppers.length > 0) BUG("cpu_stop_init called twice");
    for (let cpu = 0; cpu < this.k.sched.nr_cpu_ids; cpu++) {
      this.stoppers.push({ cpu, works: [], thread: null, enabled: false });
    }
    const bcpu = smp_processor_id();
    const err = yield* this.cpu_stop_cpu_callback(CPU_UP_PREPARE, bcpu);
    if (err === NOTIFY_BAD) BUG(`cpu_stop_init: no stopper for boot CPU ${bcpu}`);
    yield* this.cpu_stop_cpu_callback(CPU_ONLINE, bcpu);
    this.k.hotplug.register_cpu_notifier(this.cpu_stop_cpu_notifier);
  }

  /** cpu_stop_cpu_callback(): manage the stopper of `cpu` over hotplug. */
  *cpu_stop_cpu_callback(action: number, cpu: number): KernelCall<number> {
    const stopper = this.stopper(cpu);
    switch (action & ~CPU_TASKS_FROZEN) {
      case CPU_UP_PREPARE:
        return yield* this.stopper_up_prepare(stopper);
      case CPU_ONLINE:
        this.stopper_online(stopper);
        break;
      case CPU_UP_CANCELED:
      case CPU_POST_DEAD:
        yield* this.stopper_kill(stopper);
        break;
    }
    return NOTIFY_OK;
  }

  private *stopper_up_prepare(stopper: CpuStopper): KernelCall<number> {
    if (stopper.thread || stopper.enabled || stopper.works.length > 0) {
      BUG(`cpu_stop: CPU_UP_PREPARE for CPU ${stopper.cpu} while its stopper still exists`);
    }
    const k = this.k;
    const p = yield* k.kthread.kthread_create((s: CpuStopper) => this.cpu_stopper_thread(s), stopper, "migration/%d", stopper.cpu);
    // IS_ERR(p): KthreadOps' kthread_create cannot fail, but keep the kernel's answer to it.
    if (!p) return NOTIFY_BAD;
    // sched_setscheduler_nocheck(p, SCHED_FIFO, MAX_RT_PRIO-1)
    k.sched.sched_setscheduler(p, "FIFO", STOPPER_RT_PRIORITY);
    stopper.thread = get_task_struct(p);
    return NOTIFY_OK;
  }

  private stopper_online(stopper: CpuStopper): void {
    const p = stopper.thread;
    if (p === null) BUG(`cpu_stop: CPU_ONLINE for CPU ${stopper.cpu} without a stopper thread`);
    this.k.kthread.kthread_bind(p, stopper.cpu);
    // "strictly unnecessary, as first user will wake it"
    this.k.sched.wake_up_process(p);
    stopper.enabled = true;
  }

  /** CPU_UP_CANCELED / CPU_POST_DEAD: kill the stopper, fail what it left, release it. */
  private *stopper_kill(stopper: CpuStopper): KernelCall {
    const p = stopper.thread;
    if (p === null) BUG(`cpu_stop: no stopper thread to stop for CPU ${stopper.cpu}`);
    yield* this.k.kthread.kthread_stop(p);
    // The kernel signals each work but leaves the list as it is; ksim
    // empties it, which its next CPU_UP_PREPARE (BUG_ON) requires anyway.
    for (const work of stopper.works.splice(0)) this.cpu_stop_signal_done(work, false);
    stopper.enabled = false;
    put_task_struct(p);
    stopper.thread = null;
  }

  /** cpu_stopper_thread(): take the first work, run it, signal it; sleep when none. */
  private *cpu_stopper_thread(stopper: CpuStopper): KernelCall<number> {
    const k = this.k;
    for (;;) {
      const me = current();
      me.state = "S";
      // kthread_should_stop() comes first: a work still queued then is failed by the callback.
      if (k.kthread.kthread_should_stop()) {
        me.state = "R";
        return 0;
      }
      const work = stopper.works.shift();
      if (work === undefined) {
        me.wchan = "cpu_stopper_thread";
        yield SCHEDULE;
        continue;
      }
      me.state = "R";
      const ret = yield* this.run_work(work);
      if (ret !== 0 && work.done) work.done.ret = ret;
      this.cpu_stop_signal_done(work, true);
    }
  }

  /**
   * fn(arg) with preemption off. A fn that spins is stepped here: each step
   * runs atomic, and between steps it may only consume CPU time.
   */
  private *run_work(work: QueuedWork): KernelCall<number> {
    const cpu = smp_processor_id();
    if (cpu !== work.cpu) BUG(`cpu_stop: a work for CPU ${work.cpu} runs on CPU ${cpu}`);
    preempt_disable();
    let r: number | KernelCall<number>;
    try {
      r = work.fn(work.arg);
    } finally {
      preempt_enable();
    }
    if (typeof r === "number") return r;
    for (;;) {
      let step: IteratorResult<Effect, number>;
      preempt_disable();
      try {
        step = r.next();
      } finally {
        preempt_enable();
      }
      if (step.done === true) return step.value;
      if (step.value.op !== EFFECT_RUN) BUG(`scheduling while atomic: a cpu_stop function on CPU ${cpu} slept`);
      yield step.value;
    }
  }

  /** cpu_stop_signal_done(): count the work down; the last one completes the request. */
  private cpu_stop_signal_done(work: QueuedWork, executed: boolean): void {
    work.finished = true;
    if (executed) this.stats.executed++;
    else this.stats.failed++;
    const done = work.done;
    if (done === null) return;
    if (executed) done.executed = true;
    if (--done.nr_todo === 0) complete(done.completion);
  }

  /** cpu_stop_queue_work(): onto the stopper's list if it is enabled, else failed at once. */
  private cpu_stop_queue_work(work: QueuedWork): void {
    const stopper = this.stopper(work.cpu);
    if (stopper.enabled && stopper.thread !== null) {
      stopper.works.push(work);
      this.k.sched.wake_up_process(stopper.thread);
    } else {
      this.cpu_stop_signal_done(work, false);
    }
  }

  private cpu_stop_init_done(nr_todo: number, what: string): CpuStopDone {
    const done: CpuStopDone = {
      nr_todo,
      executed: false,
      ret: 0,
      works: [],
      completion: new Completion(what, (w) => this.explain(done, w, what)),
    };
    return done;
  }

  *stop_one_cpu(cpu: number, fn: CpuStopFn, arg: unknown): KernelCall<number> {
    if (!can_sleep()) BUG("stop_one_cpu called from atomic context");
    const done = this.cpu_stop_init_done(1, `stop_one_cpu(${cpu})`);
    const work: QueuedWork = { cpu, fn, arg, done, finished: false };
    done.works.push(work);
    this.cpu_stop_queue_work(work);
    yield* wait_for_completion(done.completion, "stop_one_cpu");
    return done.executed ? done.ret : -ENOENT;
  }

  stop_one_cpu_nowait(cpu: number, fn: CpuStopFn, arg: unknown, work_buf: CpuStopWork): void {
    work_buf.fn = fn;
    work_buf.arg = arg;
    this.cpu_stop_queue_work({ cpu, fn, arg, done: null, finished: false });
  }

  *stop_cpus(cpus: CpuMask, fn: CpuStopFn, arg: unknown): KernelCall<number> {
    if (!can_sleep()) BUG("stop_cpus called from atomic context");
    yield* mutex_lock(this.stop_cpus_mutex, "stop_cpus");
    try {
      return yield* this.__stop_cpus(cpus, fn, arg);
    } finally {
      mutex_unlock(this.stop_cpus_mutex);
    }
  }

  private *__stop_cpus(cpus: CpuMask, fn: CpuStopFn, arg: unknown): KernelCall<number> {
    const done = this.cpu_stop_init_done(cpus.weight(), "stop_cpus");
    for (let cpu = cpus.first(); cpu >= 0; cpu = cpus.next(cpu + 1)) {
      done.works.push({ cpu, fn, arg, done, finished: false });
    }
    // Preemption off while queueing: a stopper woken here must not run
    // before the others are queued (it might wait for them in fn).
    preempt_disable();
    try {
      for (const work of done.works) this.cpu_stop_queue_work(work);
    } finally {
      preempt_enable();
    }
    yield* wait_for_completion(done.completion, "stop_cpus");
    return done.executed ? done.ret : -ENOENT;
  }

  /**
   * A task waiting for a request waits for the stopper of its first work not
   * yet done, preferring one that is not running (a running one will finish
   * by itself; why a runnable one does not run is the scheduler's to say).
   */
  private explain(done: CpuStopDone, waiter: TaskStruct, what: string): WaitEdge | null {
    let holdup: QueuedWork | null = null;
    for (const w of done.works) {
      if (w.finished) continue;
      const t = this.stoppers[w.cpu]?.thread;
      if (!t) continue;
      if (holdup === null || !t.on_cpu) holdup = w;
      if (!t.on_cpu) break;
    }
    const t = holdup ? this.stoppers[holdup.cpu]?.thread : null;
    if (!holdup || !t) return null;
    return {
      from: { kind: "task", task: waiter },
      to: { kind: "task", task: t },
      because: `${what} waits for ${t.comm} to run its work on CPU ${holdup.cpu}`,
    };
  }
}
