/**
 * Small stand-ins for the hrtimer and kthread subsystems, for testing a
 * subsystem that needs timers or threads without depending on the real
 * packages. They keep the interfaces' contracts that matter to a caller
 * and leave out the rest (see each class).
 */
import { BUG } from "../bug.js";
import { current, smp_processor_id } from "../context.js";
import { CpuMask } from "../cpumask.js";
import type { KernelCall } from "../effects.js";
import { SimEvent } from "../heap.js";
import {
  HRTIMER_RESTART,
  HRTIMER_STATE_CALLBACK,
  HRTIMER_STATE_ENQUEUED,
  HRTIMER_STATE_INACTIVE,
  type ClockId,
  type HrTimer,
  type HrtimerMode,
  type HrtimerOps,
} from "../hrtimer.js";
import type { Kernel } from "../kernel.js";
import type { KthreadOps, ThreadFn } from "../kthread.js";
import { get_task_struct, PF_KTHREAD, PF_THREAD_BOUND, put_task_struct, type TaskStruct } from "../task.js";
import { Completion, complete, wait_for_completion } from "../wait.js";

/**
 * One engine event per timer, fired in interrupt context on the CPU that
 * started it. A timer on an offline CPU does not fire until migrate() moves
 * it (what hrtimer_cpu_notify(CPU_DEAD) does in the real one).
 */
export class SimpleHrtimers implements HrtimerOps {
  readonly stats = { fired: 0, migrated: 0 };
  /** (timer name, CPU) of every start. */
  readonly starts: [string, number][] = [];
  constructor(private readonly k: Kernel) {}
  private ev(t: HrTimer): SimEvent {
    if (!t.node) t.node = new SimEvent(`hrtimer ${t.name}`, () => this.fire(t));
    return t.node as SimEvent;
  }
  private fire(t: HrTimer): void {
    if (!this.k.hotplug.cpu_online(t.cpu)) return;
    t.state = HRTIMER_STATE_CALLBACK;
    this.stats.fired++;
    this.k.sched.irq_enter(t.cpu);
    try {
      const r = t.function!(t);
      t.state &= ~HRTIMER_STATE_CALLBACK;
      if (r === HRTIMER_RESTART) this.enqueue(t, t.cpu);
    } finally {
      this.k.sched.irq_exit(t.cpu);
    }
  }
  private enqueue(t: HrTimer, cpu: number): void {
    t.cpu = cpu;
    t.state |= HRTIMER_STATE_ENQUEUED;
    this.k.engine.schedule(this.ev(t), Math.max(t.expires, this.k.engine.now));
  }
  hrtimer_init(t: HrTimer, clock: ClockId): void {
    t.clock = clock;
    t.state = HRTIMER_STATE_INACTIVE;
  }
  hrtimer_start(t: HrTimer, tim: number, mode: HrtimerMode): number {
    const cpu = smp_processor_id();
    const was = this.hrtimer_is_queued(t) ? 1 : 0;
    this.hrtimer_try_to_cancel(t);
    t.expires = mode.startsWith("REL") ? this.k.engine.now + tim : tim;
    this.starts.push([t.name, cpu]);
    this.enqueue(t, cpu);
    return was;
  }
  hrtimer_try_to_cancel(t: HrTimer): number {
    if (t.state & HRTIMER_STATE_CALLBACK) return -1;
    if (!(t.state & HRTIMER_STATE_ENQUEUED)) return 0;
    this.k.engine.cancel(this.ev(t));
    t.state = HRTIMER_STATE_INACTIVE;
    return 1;
  }
  hrtimer_cancel(t: HrTimer): number {
    return Math.max(0, this.hrtimer_try_to_cancel(t));
  }
  hrtimer_forward(t: HrTimer, now: number, interval: number): number {
    if (now < t.expires) return 0;
    const n = Math.floor((now - t.expires) / interval) + 1;
    t.expires += n * interval;
    return n;
  }
  hrtimer_active(t: HrTimer): boolean {
    return t.state !== HRTIMER_STATE_INACTIVE;
  }
  hrtimer_is_queued(t: HrTimer): boolean {
    return (t.state & HRTIMER_STATE_ENQUEUED) !== 0;
  }
  hrtimer_callback_running(t: HrTimer): boolean {
    return (t.state & HRTIMER_STATE_CALLBACK) !== 0;
  }
  hrtimer_cb_get_time(): number {
    return this.k.engine.now;
  }
  /** Move `t` to `to` and fire it if it is due. */
  migrate(t: HrTimer, to: number): void {
    this.stats.migrated++;
    this.enqueue(t, to);
  }
}

interface SimpleKthread {
  should_stop: boolean;
  exited: Completion;
}

/**
 * kthread_create without kthreadd: the thread exists at once, asleep, and
 * kthread_stop waits for it to exit. No parking.
 */
export class SimpleKthreads implements KthreadOps {
  readonly kthreadd_task = null;
  constructor(private readonly k: Kernel) {}
  *kthread_create<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct> {
    let i = 0;
    const comm = namefmt.replace(/%[dsu]/g, () => String(args[i++]));
    const self: SimpleKthread = {
      should_stop: false,
      exited: new Completion(`${comm} exited`, (w) => ({
        from: { kind: "task", task: w },
        to: { kind: "task", task: p },
        because: `kthread_stop(${p.comm}/${p.pid}) waits for the thread to exit`,
      })),
    };
    const p: TaskStruct = this.k.sched.create_task({
      comm,
      flags: PF_KTHREAD,
      *threadfn() {
        const ret = self.should_stop ? -4 : yield* threadfn(data);
        complete(self.exited);
        return ret;
      },
    });
    p.kthread = self;
    return p;
  }
  *kthread_run<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct> {
    const p = yield* this.kthread_create(threadfn, data, namefmt, ...args);
    this.k.sched.wake_up_process(p);
    return p;
  }
  kthread_bind(p: TaskStruct, cpu: number): void {
    p.cpus_allowed = CpuMask.cpumask_of(cpu);
    p.rt.nr_cpus_allowed = 1;
    p.flags |= PF_THREAD_BOUND;
  }
  *kthread_stop(p: TaskStruct): KernelCall<number> {
    get_task_struct(p);
    const self = p.kthread as SimpleKthread;
    if (p.state !== "X") {
      self.should_stop = true;
      this.k.sched.wake_up_process(p);
      yield* wait_for_completion(self.exited, "kthread_stop");
    }
    const ret = p.exit_code;
    put_task_struct(p);
    return ret;
  }
  kthread_should_stop(): boolean {
    return (current().kthread as SimpleKthread).should_stop;
  }
  *kthread_park(): KernelCall<number> {
    return BUG("SimpleKthreads has no parking");
  }
  kthread_unpark(): void {
    BUG("SimpleKthreads has no parking");
  }
  kthread_should_park(): boolean {
    return false;
  }
  *kthread_parkme(): KernelCall {}
}
