/**
 * kernel/stop_machine.c as of 2.6.34, with the part of kernel/workqueue.c it
 * uses. stop_machine_create() makes the "kstop" RT workqueue (one thread
 * kstop/N per online CPU, made through kthreadd, SCHED_FIFO MAX_RT_PRIO-1,
 * bound and woken) and stop_machine_destroy() stops its threads, both
 * refcounted; cpu_down() brackets every operation with them. While the
 * workqueue exists, workqueue_cpu_callback (priority 0, registered by
 * init_workqueues) gives a CPU coming up its thread and stops a dead CPU's
 * at CPU_POST_DEAD. __stop_machine() queues stop_cpu() on every online CPU
 * and flushes the workqueue: the threads spin (cpu_relax) through a shared
 * state machine, PREPARE, DISABLE_IRQ, RUN, EXIT, the last to ack a state
 * moving all to the next; fn runs in RUN on the target CPU. The spinning
 * uses CPU time, charged to each thread's rt_rq like any FIFO task's: by the
 * tick while it waits in PREPARE (so it can be throttled there), in one
 * piece at local_irq_enable() for the part spun with interrupts off.
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
  init_completion,
  MAX_RT_PRIO,
  Mutex,
  mutex_lock,
  mutex_unlock,
  NOTIFY_OK,
  preempt_disable,
  preempt_enable,
  RUN,
  SCHEDULE,
  smp_processor_id,
  STOP_MACHINE,
  wait_for_completion,
  CpuMask,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type RunEffect,
  type StopMachineOps,
  type Subsystem,
  type SubsystemFactory,
  type TaskStruct,
  type WaitEdge,
  type WaitNode,
} from "@ksim/core";
import { STOPMACHINE_DISABLE_IRQ, STOPMACHINE_EXIT, STOPMACHINE_NONE, STOPMACHINE_PREPARE, STOPMACHINE_RUN } from "./state.js";

/** The spin of cpu_relax(): an endless RUN, ended by set_state(). Effects are only read, so one serves every spin. */
const RUN_UNTIL_STATE_MOVES: RunEffect = Object.freeze(RUN(Number.POSITIVE_INFINITY));

/** MAX_RT_PRIO-1 as an rt_priority: create_workqueue_thread() of an RT workqueue. */
const KSTOP_RT_PRIORITY = MAX_RT_PRIO - 1;

/** struct cpu_workqueue_struct of "kstop": its thread and its one stop_cpu() work. */
interface KstopCpu {
  readonly cpu: number;
  /** cwq->thread: null before create_workqueue_thread and after cleanup. */
  thread: TaskStruct | null;
  /** The worklist holds the stop_cpu() work. */
  work_pending: boolean;
  /** In the current stop_machine: acknowledged PREPARE / finished the work / took part. */
  acked: boolean;
  done: boolean;
  participating: boolean;
}

export class KstopMachine implements StopMachineOps {
  /** stop_machine_wq's per-CPU part; null while no user holds the workqueue. */
  private percpu: KstopCpu[] | null = null;
  /** static DEFINE_MUTEX(lock): one stop_machine at a time. */
  private readonly lock = new Mutex("stop_machine_mutex");
  /** setup_lock: protects refcount and the workqueue. */
  private readonly setup_lock = new Mutex("stop_machine setup_lock");
  /** Users of stop_machine (stop_machine_create minus stop_machine_destroy). */
  refcount = 0;
  /** The flush_workqueue() of the caller. */
  private readonly flush_done = new Completion("flush_workqueue(kstop)");

  state = STOPMACHINE_NONE;
  /** Threads yet to acknowledge the current state (the kernel's thread_ack). */
  thread_ack = 0;
  private num_threads = 0;
  private nr_todo = 0;
  private active_cpus: CpuMask | null = null;
  /** What active_cpus points to when it is not null: a copy of stop_machine's cpus, made once. */
  private readonly active_cpus_buf = new CpuMask();
  private fn: (() => number) | null = null;
  private fnret = 0;
  /** kstop threads spinning in cpu_relax() until the state moves. */
  private readonly spinners: TaskStruct[] = [];
  /** The task blocked in stop_machine, if any. */
  caller: TaskStruct | null = null;
  /** stop_machine calls completed. */
  nr_calls = 0;
  /** kstop threads created so far (each cpu_down makes a set). */
  nr_threads_created = 0;

  /** workqueue_cpu_callback, priority 0. */
  readonly workqueue_cpu_notifier: NotifierBlock;

  constructor(private readonly k: Kernel) {
    this.workqueue_cpu_notifier = {
      name: "workqueue_cpu_callback",
      priority: 0,
      notifier_call: (_nb, action, cpu): KernelCall<number> => this.workqueue_cpu_callback(action, cpu),
    };
  }

  /** The kstop/N threads that exist now, by CPU. */
  get threads(): readonly TaskStruct[] {
    const out: TaskStruct[] = [];
    for (const c of this.percpu ?? []) if (c.thread) out.push(c.thread);
    return out;
  }

  /**
   * init_workqueues() (do_basic_setup, after smp_init): hotcpu_notifier(
   * workqueue_cpu_callback, 0); plus the wait-for explainer. No kstop
   * thread exists until the first stop_machine_create().
   */
  init(): void {
    this.k.hotplug.register_cpu_notifier(this.workqueue_cpu_notifier);
    this.k.waitfor.add_explainer((n) => this.explain(n));
  }

  // ---- the workqueue (kernel/workqueue.c) ------------------------------------

  /** stop_machine_create(): the first user makes the workqueue; a reference either way. */
  *stop_machine_create(): KernelCall<number> {
    yield* mutex_lock(this.setup_lock, "stop_machine_create");
    if (this.refcount === 0) yield* this.create_rt_workqueue();
    this.refcount++;
    mutex_unlock(this.setup_lock);
    return 0;
  }

  /** stop_machine_destroy(): the last user destroys the workqueue, stopping each thread. */
  *stop_machine_destroy(): KernelCall {
    yield* mutex_lock(this.setup_lock, "stop_machine_destroy");
    if (this.refcount <= 0) BUG("stop_machine_destroy without stop_machine_create");
    if (--this.refcount === 0) yield* this.destroy_workqueue();
    mutex_unlock(this.setup_lock);
  }

  /**
   * create_rt_workqueue("kstop"): under cpu_maps_update_begin, listed first
   * (so workqueue_cpu_callback sees it), then a thread for each online CPU,
   * bound there and woken.
   */
  private *create_rt_workqueue(): KernelCall {
    const hp = this.k.hotplug;
    yield* hp.cpu_maps_update_begin();
    const percpu: KstopCpu[] = [];
    this.percpu = percpu;
    for (let cpu = 0; cpu < this.k.sched.nr_cpu_ids; cpu++) {
      const c: KstopCpu = { cpu, thread: null, work_pending: false, acked: false, done: false, participating: false };
      percpu.push(c);
      if (!hp.cpu_online(cpu)) continue;
      yield* this.create_workqueue_thread(c);
      this.start_workqueue_thread(c, cpu);
    }
    hp.cpu_maps_update_done();
  }

  /** destroy_workqueue(): off the list, then cleanup_workqueue_thread() for each CPU. */
  private *destroy_workqueue(): KernelCall {
    const hp = this.k.hotplug;
    yield* hp.cpu_maps_update_begin();
    const percpu = this.percpu ?? [];
    // An offline CPU has no thread to clean up.
    for (const c of percpu) if (c.thread !== null) yield* this.cleanup_workqueue_thread(c);
    this.percpu = null;
    hp.cpu_maps_update_done();
  }

  /** create_workqueue_thread(): kthread_create("kstop/%d") and SCHED_FIFO MAX_RT_PRIO-1; it sleeps. */
  private *create_workqueue_thread(c: KstopCpu): KernelCall {
    const p = yield* this.k.kthread.kthread_create((cwq: KstopCpu) => this.worker_thread(cwq), c, "kstop/%d", c.cpu);
    this.k.sched.sched_setscheduler(p, "FIFO", KSTOP_RT_PRIORITY);
    c.thread = p;
    this.nr_threads_created++;
  }

  /** start_workqueue_thread(): kthread_bind() unless cpu < 0, then wake_up_process(). */
  private start_workqueue_thread(c: KstopCpu, cpu: number): void {
    const p = c.thread;
    if (p === null) return;
    if (cpu >= 0) this.k.kthread.kthread_bind(p, cpu);
    this.k.sched.wake_up_process(p);
  }

  /** cleanup_workqueue_thread(): nothing left to flush (stop_machine flushed it); kthread_stop. */
  private *cleanup_workqueue_thread(c: KstopCpu): KernelCall {
    const p = c.thread;
    if (p === null) return;
    if (c.work_pending) BUG(`cleanup_workqueue_thread(kstop/${c.cpu}) with its stop_cpu work still queued`);
    yield* this.k.kthread.kthread_stop(p);
    c.thread = null;
  }

  /**
   * workqueue_cpu_callback(): while the workqueue exists, a CPU coming up
   * gets a thread (made at CPU_UP_PREPARE, bound and woken at CPU_ONLINE),
   * and a dead or cancelled CPU's thread is stopped.
   */
  private *workqueue_cpu_callback(action: number, cpu: number): KernelCall<number> {
    const c = this.percpu?.[cpu];
    if (c === undefined) return NOTIFY_OK;
    switch (action & ~CPU_TASKS_FROZEN) {
      case CPU_UP_PREPARE:
        yield* this.create_workqueue_thread(c);
        break;
      case CPU_ONLINE:
        this.start_workqueue_thread(c, cpu);
        break;
      case CPU_UP_CANCELED:
        this.start_workqueue_thread(c, -1);
        yield* this.cleanup_workqueue_thread(c);
        break;
      case CPU_POST_DEAD:
        yield* this.cleanup_workqueue_thread(c);
        break;
      default:
        break;
    }
    return NOTIFY_OK;
  }

  /** worker_thread(): sleep in S until work is queued or kthread_stop asks; run the work. */
  private *worker_thread(c: KstopCpu): KernelCall<number> {
    const kt = this.k.kthread;
    const me = current();
    for (;;) {
      me.state = "S";
      if (!kt.kthread_should_stop() && !c.work_pending) {
        me.wchan = "worker_thread";
        yield SCHEDULE;
      }
      me.state = "R";
      if (kt.kthread_should_stop()) break;
      if (!c.work_pending) continue;
      // run_workqueue(): the one work is stop_cpu().
      c.work_pending = false;
      yield* this.stop_cpu(c);
      c.done = true;
      if (--this.nr_todo === 0) complete(this.flush_done);
    }
    return 0;
  }

  // ---- the state machine (kernel/stop_machine.c) ---------------------------------

  /** set_state(): reset the ack counter and move on; every spinner re-reads the state. */
  private set_state(newstate: number): void {
    this.thread_ack = this.num_threads;
    this.state = newstate;
    for (const p of this.spinners) {
      // The spin is an endless RUN; ending it is what re-reading the state costs.
      p.run_remaining = 0;
      if (p.on_cpu) this.k.sched.resched_cpu(p.cpu);
    }
    this.spinners.length = 0;
  }

  /** ack_state(): the last one to ack a state moves all to the next. */
  private ack_state(): void {
    if (--this.thread_ack === 0) this.set_state(this.state + 1);
  }

  /** stop_cpu(): the work every online CPU's kstop thread runs. */
  private *stop_cpu(c: KstopCpu): KernelCall {
    const me = current();
    const cpu = smp_processor_id();
    if (cpu !== c.cpu) BUG(`kstop/${c.cpu} runs stop_cpu on CPU ${cpu}`);
    const active = this.is_active(cpu);
    const sched = this.k.sched;
    let curstate = STOPMACHINE_NONE;
    let irqs_off = false;
    do {
      // cpu_relax() until the state moves: CPU time, RT time of this thread's
      // rq. Inline, as it is in the kernel: a generator per turn cost more
      // than the rest of the spin.
      while (this.state === curstate) {
        this.spinners.push(me);
        yield RUN_UNTIL_STATE_MOVES;
      }
      curstate = this.state;
      if (curstate === STOPMACHINE_PREPARE) c.acked = true;
      else if (curstate === STOPMACHINE_DISABLE_IRQ) {
        // local_irq_disable(): from here the spin gets no tick, so no RT throttle.
        sched.local_irq_disable(cpu);
        irqs_off = true;
      } else if (curstate === STOPMACHINE_RUN && active) this.run_fn();
      this.ack_state();
    } while (curstate !== STOPMACHINE_EXIT);
    // local_irq_enable(): the spin's RT time is charged now, in one piece.
    if (irqs_off) sched.local_irq_enable(cpu);
  }

  /** STOPMACHINE_RUN on an active CPU: fn with interrupts (and preemption) off. */
  private run_fn(): void {
    const fn = this.fn;
    if (fn === null) BUG("stop_cpu: no function to run");
    preempt_disable();
    try {
      const err = fn();
      if (err) this.fnret = err;
    } finally {
      preempt_enable();
    }
  }

  /** __stop_machine(): blocks the caller until fn has run; returns its result. */
  *stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number> {
    if (!can_sleep()) BUG("stop_machine called from atomic context");
    const me = current();
    if (this.is_kstop_thread(me)) BUG(`stop_machine called from ${me.comm}: it would wait for itself`);
    yield* mutex_lock(this.lock, "stop_machine");
    const percpu = this.percpu;
    if (percpu === null) BUG("__stop_machine without stop_machine_create: no kstop workqueue");
    const online = this.k.hotplug.cpu_online_mask;
    this.num_threads = this.k.hotplug.num_online_cpus();
    this.active_cpus = cpus.is_empty() ? null : this.active_cpus_buf.copy(cpus);
    this.fn = fn;
    this.fnret = 0;
    this.nr_todo = this.num_threads;
    init_completion(this.flush_done);
    for (const c of percpu) {
      c.participating = online.test_cpu(c.cpu);
      c.acked = c.done = !c.participating;
    }
    this.set_state(STOPMACHINE_PREPARE);
    this.caller = me;
    // queue_work_on() each online CPU: insert_work() wakes its thread.
    for (const c of percpu) {
      if (!c.participating) continue;
      if (c.thread === null) BUG(`stop_machine: online CPU ${c.cpu} has no kstop thread`);
      c.work_pending = true;
      this.k.sched.wake_up_process(c.thread);
    }
    // flush_workqueue(stop_machine_wq)
    yield* wait_for_completion(this.flush_done, "stop_machine");
    const ret = this.fnret;
    this.caller = null;
    this.fn = null;
    this.state = STOPMACHINE_NONE;
    this.nr_calls++;
    mutex_unlock(this.lock);
    return ret;
  }

  private is_kstop_thread(p: TaskStruct): boolean {
    const percpu = this.percpu;
    if (percpu === null) return false;
    for (const c of percpu) if (c.thread === p) return true;
    return false;
  }

  /** The task blocked in stop_machine waits for the first kstop thread still due to run. */
  private explain(n: WaitNode): WaitEdge | null {
    if (n.kind !== "task" || n.task !== this.caller || n.task.blocked_on !== this.flush_done) return null;
    const c = this.holdup();
    if (c?.thread == null) return null;
    const what = this.state === STOPMACHINE_RUN && this.is_active(c.cpu) ? "to run the stopped function" : "to run";
    return {
      from: n,
      to: { kind: "task", task: c.thread },
      because: `stop_machine waits for ${c.thread.comm} ${what} on CPU ${c.cpu}`,
    };
  }

  private is_active(cpu: number): boolean {
    return this.active_cpus === null ? cpu === this.k.hotplug.cpu_online_mask.first() : this.active_cpus.test_cpu(cpu);
  }

  /** The first thread that has not arrived; else, in RUN, the target's; else the first not finished. */
  private holdup(): KstopCpu | null {
    const percpu = this.percpu ?? [];
    for (const c of percpu) if (c.participating && !c.acked) return c;
    if (this.state === STOPMACHINE_RUN) {
      for (const c of percpu) if (c.participating && this.is_active(c.cpu)) return c;
    }
    for (const c of percpu) if (c.participating && !c.done) return c;
    return null;
  }
}

/**
 * kstop as a machine's stop_machine: init_workqueues() registers
 * workqueue_cpu_callback in do_basic_setup, after smp_init and
 * sched_init_smp; the kstop threads themselves exist only around each
 * cpu_down (stop_machine_create / stop_machine_destroy).
 */
export function kstop_subsystem(): SubsystemFactory {
  return (k: Kernel): Subsystem<StopMachineOps> => {
    const sm = new KstopMachine(k);
    return {
      name: "stop_machine",
      implementation: "kernel/stop_machine.c of 2.6.34 (kstop RT workqueue, made around each cpu_down)",
      provides: STOP_MACHINE,
      ops: sm,
      initcalls: [{ name: "init_workqueues", level: "smp", after: ["sched_init_smp"], fn: () => sm.init() }],
    };
  };
}
