/**
 * kernel/stop_machine.c as of 2.6.34: __stop_machine() queues a stop_cpu()
 * work item on every online CPU of the "kstop" RT workqueue (one thread per
 * CPU, SCHED_FIFO at MAX_RT_PRIO-1), and flushes the workqueue. The threads
 * step through a shared state machine, each acknowledging every state; when
 * all have disabled interrupts, the thread on the target CPU runs fn().
 *
 * Simplification: a thread that arrives early waits asleep for the others
 * instead of spinning with interrupts off, so it consumes neither CPU time
 * nor RT runtime while it waits, and other tasks may run on its CPU then.
 * Because the threads are RT tasks, RT throttling of a CPU delays its
 * thread, and with it the whole stop_machine: that is kept.
 */
import {
  BUG,
  can_sleep,
  complete,
  Completion,
  CpuMask,
  exec_context,
  preempt_disable,
  preempt_enable,
  STOP_MACHINE,
  current,
  init_completion,
  MAX_RT_PRIO,
  Mutex,
  mutex_lock,
  mutex_unlock,
  PF_KTHREAD,
  SCHEDULE,
  wait_event,
  wait_for_completion,
  WaitQueueHead,
  wake_up,
  type Kernel,
  type KernelCall,
  type StopMachineOps,
  type Subsystem,
  type SubsystemFactory,
  type TaskStruct,
  type WaitEdge,
  type WaitNode,
} from "@ksim/core";
// enum stopmachine_state; kstop folds DISABLE_IRQ into the arrival ack.
import { STOPMACHINE_EXIT, STOPMACHINE_NONE, STOPMACHINE_PREPARE, STOPMACHINE_RUN } from "./state.js";


/** MAX_RT_PRIO-1 as an rt_priority: the kstop workqueue's threads. */
const KSTOP_RT_PRIORITY = MAX_RT_PRIO - 1;

/** Per-CPU part: the workqueue thread and its one work item. */
interface KstopCpu {
  readonly cpu: number;
  readonly thread: TaskStruct;
  /** cpu_workqueue_struct's worklist, for a single stop_cpu() item. */
  readonly more_work: WaitQueueHead;
  work_pending: boolean;
  /** In the current stop_machine: acknowledged PREPARE / finished the item. */
  acked: boolean;
  done: boolean;
  participating: boolean;
}

export class KstopMachine implements StopMachineOps {
  private readonly percpu: KstopCpu[] = [];
  /** static DEFINE_MUTEX(lock): one stop_machine at a time. */
  private readonly lock = new Mutex("stop_machine_mutex");
  /** The flush_workqueue() of the caller. */
  private readonly flush_done = new Completion("flush_workqueue(kstop)");
  /** Threads waiting for the state to move on. */
  private readonly state_wq = new WaitQueueHead("stopmachine_state");

  state = STOPMACHINE_NONE;
  /** Threads yet to acknowledge PREPARE (the kernel's thread_ack). */
  thread_ack = 0;
  private num_threads = 0;
  private nr_todo = 0;
  private active_cpu = -1;
  private fn: (() => number) | null = null;
  private fnret = 0;
  /** The task blocked in stop_machine, if any. */
  caller: TaskStruct | null = null;
  /** stop_machine calls completed. */
  nr_calls = 0;

  constructor(private readonly k: Kernel) {}

  /** The kstop/N threads, by CPU. */
  get threads(): readonly TaskStruct[] {
    return this.percpu.map((c) => c.thread);
  }

  /**
   * create_rt_workqueue("kstop") at boot: one thread per possible CPU,
   * bound there and asleep; plus the wait-for explainer.
   */
  init(): void {
    if (this.percpu.length > 0) BUG("stop_machine_init called twice");
    const k = this.k;
    for (let cpu = 0; cpu < k.sched.nr_cpu_ids; cpu++) {
      const more_work = new WaitQueueHead(`kstop/${cpu} worklist`);
      const thread = k.sched.create_task({
        comm: `kstop/${cpu}`,
        policy: "FIFO",
        rt_priority: KSTOP_RT_PRIORITY,
        cpus_allowed: CpuMask.cpumask_of(cpu),
        cpu,
        flags: PF_KTHREAD,
        threadfn: () => this.worker_thread(cpu),
      });
      this.percpu.push({ cpu, thread, more_work, work_pending: false, acked: false, done: false, participating: false });
    }
    k.waitfor.add_explainer((n) => this.explain(n));
  }

  private pc(cpu: number): KstopCpu {
    const c = this.percpu[cpu];
    if (!c) BUG(`stop_machine: no kstop thread for CPU ${cpu} (init() not called?)`);
    return c;
  }

  /** worker_thread(): wait for the work item, run it, account the flush. */
  private *worker_thread(cpu: number): KernelCall<number> {
    const c = this.pc(cpu);
    for (;;) {
      yield* wait_event(c.more_work, () => c.work_pending, "S", "worker_thread");
      c.work_pending = false;
      yield* this.stop_cpu(c);
      c.done = true;
      if (--this.nr_todo === 0) complete(this.flush_done);
    }
  }

  /** stop_cpu(): the work item every online CPU runs. */
  private *stop_cpu(c: KstopCpu): KernelCall {
    const cpu = exec_context().cpu;
    if (cpu !== c.cpu) BUG(`kstop/${c.cpu} runs stop_cpu on CPU ${cpu}`);
    const active = cpu === this.active_cpu;
    // STOPMACHINE_PREPARE and _DISABLE_IRQ, acknowledged on arrival.
    c.acked = true;
    if (--this.thread_ack === 0) {
      if (this.percpu_active()) {
        this.state = STOPMACHINE_RUN;
        // Only the target has anything to do in this state.
        if (!active) this.k.sched.wake_up_process(this.pc(this.active_cpu).thread);
      } else {
        this.state = STOPMACHINE_EXIT;
        wake_up(this.state_wq);
      }
    }
    if (active) {
      while (this.state < STOPMACHINE_RUN) {
        c.thread.state = "S";
        c.thread.wchan = "stop_cpu";
        yield SCHEDULE;
      }
      c.thread.wchan = null;
      // STOPMACHINE_RUN: every online CPU has interrupts off now.
      const fn = this.fn;
      if (fn === null) BUG("stop_cpu: no function to run");
      preempt_disable();
      try {
        const err = fn();
        if (err) this.fnret = err;
      } finally {
        preempt_enable();
      }
      this.state = STOPMACHINE_EXIT;
      wake_up(this.state_wq);
    } else {
      yield* wait_event(this.state_wq, () => this.state === STOPMACHINE_EXIT, "S", "stop_cpu");
    }
  }

  private percpu_active(): boolean {
    return this.active_cpu >= 0 && this.pc(this.active_cpu).participating;
  }

  /** __stop_machine(): blocks the caller until fn has run; returns its result. */
  *stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number> {
    if (!can_sleep()) BUG("stop_machine called from atomic context");
    if (this.percpu.length === 0) BUG("stop_machine before the kstop workqueue exists");
    const k = this.k;
    const me = current();
    // flush_workqueue() from the workqueue's own thread would wait for itself.
    if (this.percpu.some((c) => c.thread === me)) BUG(`stop_machine called from ${me.comm}: it would wait for itself`);
    yield* mutex_lock(this.lock, "stop_machine");
    const online = k.hotplug.cpu_online_mask;
    this.num_threads = k.hotplug.num_online_cpus();
    this.active_cpu = cpus.is_empty() ? online.first() : cpus.first();
    this.fn = fn;
    this.fnret = 0;
    this.thread_ack = this.num_threads;
    this.nr_todo = this.num_threads;
    this.state = STOPMACHINE_PREPARE;
    init_completion(this.flush_done);
    for (const c of this.percpu) {
      c.participating = online.test_cpu(c.cpu);
      c.acked = c.done = !c.participating;
    }
    this.caller = me;
    // queue_work_on() each online CPU.
    for (const c of this.percpu) {
      if (!c.participating) continue;
      this.rebind(c);
      c.work_pending = true;
      // insert_work() wakes the worker (the first time, it starts it).
      k.sched.wake_up_process(c.thread);
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

  /**
   * A thread that slept through its CPU's death was moved off it by
   * migrate_live_tasks; 2.6.34's workqueue hotplug callback gives the CPU a
   * freshly bound thread when it comes back. Rebinding the sleeping thread
   * stands in for that (same pid, same place).
   */
  private rebind(c: KstopCpu): void {
    const t = c.thread;
    if (t.cpu === c.cpu && t.cpus_allowed.weight() === 1 && t.cpus_allowed.test_cpu(c.cpu)) return;
    if (t.on_rq || t.on_cpu) BUG(`kstop/${c.cpu} is queued while it has no work`);
    // kthread_bind() of the fresh thread: task_cpu and a one-CPU mask, even
    // while cpu_down has already made that CPU inactive.
    t.cpus_allowed = CpuMask.cpumask_of(c.cpu);
    t.cpu = c.cpu;
  }

  /** The task blocked in stop_machine waits for the first kstop thread still due to run. */
  private explain(n: WaitNode): WaitEdge | null {
    if (n.kind !== "task" || n.task !== this.caller || n.task.blocked_on !== this.flush_done) return null;
    const c = this.holdup();
    if (c === null) return null;
    const what = this.state === STOPMACHINE_RUN && c.cpu === this.active_cpu ? "to run the stopped function" : "to run";
    return {
      from: n,
      to: { kind: "task", task: c.thread },
      because: `stop_machine waits for ${c.thread.comm} ${what} on CPU ${c.cpu}`,
    };
  }

  private holdup(): KstopCpu | null {
    for (const c of this.percpu) if (c.participating && !c.acked) return c;
    if (this.state === STOPMACHINE_RUN) return this.pc(this.active_cpu);
    for (const c of this.percpu) if (c.participating && !c.done) return c;
    return null;
  }
}

/** kstop as a machine's stop_machine: its workqueue threads are made before smp_init. */
export function kstop_subsystem(): SubsystemFactory {
  return (k: Kernel): Subsystem<StopMachineOps> => {
    const sm = new KstopMachine(k);
    return {
      name: "stop_machine",
      implementation: "kernel/stop_machine.c of 2.6.34 (kstop RT workqueue)",
      provides: STOP_MACHINE,
      ops: sm,
      initcalls: [{ name: "stop_machine_init", level: "early", fn: () => sm.init() }],
    };
  };
}
