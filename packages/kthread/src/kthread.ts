/**
 * kernel/kthread.c of Linux 2.6.34: kthreadd, kthread_create, kthread_bind,
 * kthread_stop and kthread_should_stop, plus the parking API of 3.x
 * (kthread_park, kthread_unpark, kthread_should_park, kthread_parkme).
 */
import {
  BUG,
  can_sleep,
  Completion,
  complete,
  cpu_all_mask,
  CpuMask,
  current,
  EINTR,
  ENOSYS,
  get_task_struct,
  init_completion,
  PF_KTHREAD,
  PF_THREAD_BOUND,
  PRIO_TO_NICE,
  put_task_struct,
  rt_policy,
  schedule,
  SCHEDULE,
  smp_processor_id,
  wait_for_completion,
  WARN_ON,
  type Kernel,
  type KernelCall,
  type KthreadOps,
  type TaskSpec,
  type TaskState,
  type TaskStruct,
  type ThreadFn,
  type Waitable,
  type WaitEdge,
} from "@ksim/core";
import { format_comm } from "./namefmt.js";

declare module "@ksim/core" {
  interface TraceEvents {
    /** trace_sched_kthread_stop(k) at the start of kthread_stop(). */
    sched_kthread_stop: { comm: string; pid: number };
    /** trace_sched_kthread_stop_ret(ret) when kthread_stop() returns. */
    sched_kthread_stop_ret: { ret: number };
  }
}

/**
 * struct kthread. In 2.6.34 it lives on the thread's stack and is found
 * through task->vfork_done; ksim keeps it in task_struct.kthread. The park
 * fields are the flag bits 3.x added (KTHREAD_SHOULD_PARK, KTHREAD_IS_PARKED,
 * KTHREAD_IS_PER_CPU).
 */
export class Kthread implements Waitable {
  should_stop = false;
  should_park = false;
  is_parked = false;
  is_per_cpu = false;
  /** The CPU kthread_bind() bound the thread to (3.x kthread->cpu); -1 if none. */
  cpu = -1;
  /**
   * task->vfork_done: the exited completion while the thread lives; mm_release()
   * clears it at exit, which is how kthread_stop() tells a live thread.
   */
  vfork_done: Completion | null;
  /** ksim's memory that kthread_stop() was called, to catch a second call. */
  stop_called = false;
  readonly exited: Completion;
  /** Made at the first park: only 3.x's parking uses it, and most threads never park. */
  private parked_completion: Completion | null = null;

  constructor(
    readonly task: TaskStruct,
    /** kthread_data() of 3.x. */
    readonly data: unknown,
    /**
     * Who called kthread_create(), and the name it asked for: ksim's record
     * (the kernel keeps none) of who is to wake the new thread, so that a
     * thread left asleep in kthread() can be explained.
     */
    private readonly creator: TaskStruct | null = null,
    private readonly requested = "",
  ) {
    // Named when asked: kthread_create() renames the thread after this runs.
    this.exited = new Completion("kthread->exited", (waiter) =>
      task_edge(waiter, task, `kthread_stop(${task.name}) waits for the thread to exit`),
    );
    this.vfork_done = this.exited;
  }

  /** What a new thread waits on in kthread() until its first wake-up. */
  get name(): string {
    return `kthread(${this.requested})`;
  }

  /**
   * A new thread sleeps in kthread() until someone wakes it (kthread_bind()
   * then wake_up_process(), or kthread_stop()), and in 2.6.34 that is the
   * caller of kthread_create() once it has the thread back. Until then the
   * thread still carries kthreadd's name, as the kernel's hung-task report shows.
   */
  explain_waiter(waiter: TaskStruct): WaitEdge | null {
    const c = this.creator;
    if (c === null || waiter !== this.task || c.state === "X") return null;
    return task_edge(
      waiter,
      c,
      `${waiter.comm}/${waiter.pid} sleeps in kthread() until it is first woken or stopped, which is left to ${c.comm}/${c.pid}, the caller of kthread_create(${this.requested})`,
    );
  }

  /** The completion kthread_park() waits on. */
  get parked(): Completion {
    const task = this.task;
    return (this.parked_completion ??= new Completion("kthread->parked", (waiter) =>
      task_edge(waiter, task, `kthread_park(${task.name}) waits for the thread to park`),
    ));
  }
}

function task_edge(waiter: TaskStruct, target: TaskStruct, because: string): WaitEdge {
  return { from: { kind: "task", task: waiter }, to: { kind: "task", task: target }, because };
}

/** to_kthread(): the struct kthread of a thread made by kthread_create(). */
export function to_kthread(p: TaskStruct): Kthread {
  const kt = p.kthread;
  if (!(kt instanceof Kthread)) BUG(`to_kthread(${p.name}): not a thread created by kthread_create()`);
  return kt;
}

/** to_live_kthread() of 3.x: null once the thread has exited. */
function to_live_kthread(p: TaskStruct): Kthread | null {
  const kt = to_kthread(p);
  return kt.vfork_done !== null ? kt : null;
}

/** might_sleep(): a blocking kthread call from atomic context is a bug. */
function might_sleep(what: string): void {
  if (!can_sleep()) BUG(`scheduling while atomic: ${what} called where it may not sleep`);
}

/** struct kthread_create_info: a request queued for kthreadd. */
interface KthreadCreateInfo {
  /** threadfn(data), bound when the request is made. */
  readonly call_threadfn: () => KernelCall<number>;
  readonly data: unknown;
  /** The task that called kthread_create(), and the name it gives the thread. */
  readonly creator: TaskStruct;
  readonly comm: string;
  /** Result passed back to kthread_create() from kthreadd. */
  result: TaskStruct | null;
  readonly done: Completion;
}

export class Kthreads implements KthreadOps {
  kthreadd_task: TaskStruct | null = null;
  /** kthread_create_list: requests waiting for kthreadd, oldest first. */
  private readonly kthread_create_list: KthreadCreateInfo[] = [];
  /**
   * cpu_all_mask, made once: kthread_create() gives it to every new thread
   * (set_cpus_allowed_ptr copies it), several per hotplug operation.
   */
  private all_mask: CpuMask | null = null;

  constructor(private readonly k: Kernel) {}

  /**
   * rest_init(): kernel_thread(kthreadd), woken at once. Call it once, after
   * the scheduler is up and before the first kthread_create().
   */
  init(): TaskStruct {
    if (this.kthreadd_task !== null) BUG("kthreadd started twice");
    const tsk = this.k.sched.create_task({
      comm: "kthreadd",
      flags: PF_KTHREAD,
      cpus_allowed: cpu_all_mask(this.k.sched.nr_cpu_ids),
      threadfn: () => this.kthreadd(),
    });
    this.kthreadd_task = tsk;
    this.k.sched.wake_up_new_task(tsk);
    return tsk;
  }

  /** kthreadd(): sleeps while there is nothing to create, then serves every request in order. */
  private *kthreadd(): KernelCall<number> {
    const tsk = current();
    for (;;) {
      tsk.state = "S";
      if (this.kthread_create_list.length === 0) {
        tsk.wchan = "kthreadd";
        yield SCHEDULE;
      }
      tsk.state = "R";
      for (let create = this.kthread_create_list.shift(); create; create = this.kthread_create_list.shift()) {
        this.create_kthread(create);
      }
    }
  }

  /**
   * create_kthread(): kernel_thread(kthread, create). The child is a copy of
   * kthreadd (its comm, policy, priority and CPU mask) until kthread_create()
   * names it and resets it.
   */
  private create_kthread(create: KthreadCreateInfo): void {
    const parent = current();
    const spec: TaskSpec = {
      comm: parent.comm,
      flags: parent.flags | PF_KTHREAD,
      policy: parent.policy,
      cpus_allowed: parent.cpus_allowed,
      threadfn: (self) => this.kthread(self, create),
    };
    // Set, not spread in: an object spread per thread cost more than the rest of the spec.
    if (rt_policy(parent.policy)) spec.rt_priority = parent.rt_priority;
    else spec.nice = PRIO_TO_NICE(parent.static_prio);
    const p = this.k.sched.create_task(spec);
    this.k.sched.wake_up_new_task(p);
  }

  /** kthread(): the body of every kernel thread. */
  private *kthread(tsk: TaskStruct, create: KthreadCreateInfo): KernelCall<number> {
    const self = new Kthread(tsk, create.data, create.creator, create.comm);
    tsk.kthread = self;
    // Tell the creator we exist, then sleep until woken or stopped.
    tsk.state = "D";
    create.result = tsk;
    complete(create.done);
    tsk.wchan = "kthread";
    tsk.blocked_on = self;
    yield SCHEDULE;

    let ret = -EINTR;
    if (!self.should_stop) {
      // 3.x: a thread parked before its first run parks here (smpboot);
      // one not asked to park (every 2.6.34 thread) passes straight through.
      if (self.should_park) yield* this.__kthread_parkme(self);
      else {
        self.is_parked = false;
        tsk.state = "R";
      }
      ret = yield* create.call_threadfn();
    }
    // do_exit() -> mm_release(): the stopper may go on; the executor does the rest of do_exit.
    const done = self.vfork_done;
    self.vfork_done = null;
    if (done) complete(done);
    return ret;
  }

  /**
   * kthread_create(): queue a request for kthreadd, wake it, and wait until
   * the new thread exists; it then sleeps in D until first woken. The new
   * thread is named from namefmt and reset to SCHED_NORMAL on every CPU, as
   * kthreadd's own priority and mask may have been changed.
   */
  *kthread_create<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct> {
    might_sleep("kthread_create");
    const kthreadd = this.kthreadd_task;
    if (kthreadd === null) BUG("kthread_create() before kthreadd was started (Kthreads.init)");
    const comm = format_comm(namefmt, args);
    const create: KthreadCreateInfo = {
      call_threadfn: () => threadfn(data),
      data,
      creator: current(),
      comm,
      result: null,
      done: new Completion(`kthread_create ${comm}`, (waiter) =>
        task_edge(waiter, kthreadd, `kthread_create(${comm}) waits for ${kthreadd.name} to create the thread`),
      ),
    };
    this.kthread_create_list.push(create);
    this.k.sched.wake_up_process(kthreadd);
    yield* wait_for_completion(create.done, "kthread_create");

    const p = create.result;
    if (p === null) BUG(`kthread_create(${comm}): kthreadd completed the request without a thread`);
    p.comm = comm;
    this.k.sched.sched_setscheduler(p, "NORMAL", 0);
    this.k.sched.set_cpus_allowed_ptr(p, (this.all_mask ??= cpu_all_mask(this.k.sched.nr_cpu_ids)));
    return p;
  }

  /** kthread_run(): kthread_create() and wake_up_process(). */
  *kthread_run<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct> {
    const p = yield* this.kthread_create(threadfn, data, namefmt, ...args);
    this.k.sched.wake_up_process(p);
    return p;
  }

  /**
   * kthread_bind() (kernel/kthread.c, the same in 2.6.34 and 2.6.35): only a
   * thread that has done its schedule() in kthread() and sleeps in D, off
   * every CPU and runqueue. It does not move the thread: it stays on the
   * CPU it slept on until its first wake-up.
   */
  kthread_bind(p: TaskStruct, cpu: number): void {
    this.__kthread_bind(p, cpu, "D");
  }

  /** __kthread_bind() of 3.x: the state the thread must be in is a parameter. */
  private __kthread_bind(p: TaskStruct, cpu: number, state: TaskState): void {
    if (!(cpu >= 0 && cpu < this.k.sched.nr_cpu_ids)) BUG(`kthread_bind(${p.name}, ${cpu}): no such CPU`);
    // wait_task_inactive(p, state): it must have done schedule() before we set_task_cpu.
    if (!this.k.sched.wait_task_inactive(p) || p.on_rq || p.state !== state) {
      WARN_ON(true, `kthread_bind(${p.name}, ${cpu}): the thread is not inactive (state ${p.state}${p.on_rq ? ", queued" : ""}${p.on_cpu ? ", running" : ""})`);
      return;
    }
    // kthread.c:161 sets cpus_allowed and rt.nr_cpus_allowed together, and
    // not task_cpu: the first wake-up finds task_cpu outside the mask and
    // select_task_rq() -> select_fallback_rq() places the thread.
    p.cpus_allowed = CpuMask.cpumask_of(cpu);
    p.rt.nr_cpus_allowed = 1;
    p.flags |= PF_THREAD_BOUND;
    if (p.kthread instanceof Kthread) {
      // 3.x remembers a per-CPU thread's CPU to rebind it on unpark.
      p.kthread.cpu = cpu;
      p.kthread.is_per_cpu = true;
    }
  }

  /**
   * kthread_stop(): set should_stop, wake the thread and wait in D, without
   * a timeout, until it exits; its exit code is returned. A thread that has
   * not run yet exits with -EINTR without calling threadfn. As in 3.x, a
   * parked thread is unparked first.
   */
  *kthread_stop(k: TaskStruct): KernelCall<number> {
    might_sleep("kthread_stop");
    const kthread = to_kthread(k);
    if (kthread.stop_called) {
      BUG(
        `double kthread_stop(${k.name}): ${k.freed ? "its task_struct was already freed (use after free)" : "it was already stopped"}`,
      );
    }
    kthread.stop_called = true;
    const trace = this.k.trace;
    if (trace.enabled) trace.emit("sched_kthread_stop", smp_processor_id(), { comm: k.comm, pid: k.pid });
    get_task_struct(k);
    if (kthread.vfork_done !== null) {
      kthread.should_stop = true;
      this.__kthread_unpark(k, kthread);
      this.k.sched.wake_up_process(k);
      yield* wait_for_completion(kthread.exited, "kthread_stop");
    }
    const ret = k.exit_code;
    put_task_struct(k);
    if (trace.enabled) trace.emit("sched_kthread_stop_ret", smp_processor_id(), { ret });
    return ret;
  }

  /** kthread_should_stop(): asked by the current thread in its loop. */
  kthread_should_stop(): boolean {
    return to_kthread(current()).should_stop;
  }

  // ---- parking, as 3.x has it --------------------------------------------

  /** kthread_should_park() (3.x). */
  kthread_should_park(): boolean {
    return to_kthread(current()).should_park;
  }

  /** kthread_parkme() (3.x): park here while asked to. */
  *kthread_parkme(): KernelCall {
    yield* this.__kthread_parkme(to_kthread(current()));
  }

  /** __kthread_parkme() (3.x): sleep in TASK_PARKED until unparked. */
  private *__kthread_parkme(self: Kthread): KernelCall {
    const tsk = current();
    tsk.state = "P";
    while (self.should_park) {
      if (!self.is_parked) {
        self.is_parked = true;
        complete(self.parked);
      }
      tsk.wchan = "kthread_parkme";
      yield* schedule();
      tsk.state = "P";
    }
    self.is_parked = false;
    tsk.state = "R";
  }

  /**
   * kthread_park() (3.x): ask the thread to park and wait until it has; 0,
   * or -ENOSYS for a thread that has exited.
   */
  *kthread_park(k: TaskStruct): KernelCall<number> {
    const kthread = to_live_kthread(k);
    if (kthread === null) return -ENOSYS;
    if (!kthread.is_parked) {
      kthread.should_park = true;
      if (k !== current()) {
        might_sleep("kthread_park");
        // Later kernels re-arm the completion for every park.
        init_completion(kthread.parked);
        this.k.sched.wake_up_process(k);
        yield* wait_for_completion(kthread.parked, "kthread_park");
      }
    }
    return 0;
  }

  /** kthread_unpark() (3.x): a per-CPU thread is bound to its CPU again, then woken. */
  kthread_unpark(k: TaskStruct): void {
    const kthread = to_live_kthread(k);
    if (kthread) this.__kthread_unpark(k, kthread);
  }

  private __kthread_unpark(k: TaskStruct, kthread: Kthread): void {
    kthread.should_park = false;
    // IS_PARKED is cleared here, not by the thread, so a new park at once sees it unparked.
    if (kthread.is_parked) {
      kthread.is_parked = false;
      if (kthread.is_per_cpu) this.__kthread_bind(k, kthread.cpu, "P");
      this.k.sched.wake_up_state(k, "P");
    }
  }
}
