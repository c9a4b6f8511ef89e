/**
 * Small fakes of the hrtimer and kthread interfaces, so the scheduler is
 * tested alone (the real ones live in sibling packages).
 */
import {
  Completion,
  complete,
  CpuMask,
  ctx,
  current,
  get_task_struct,
  HRTIMER_RESTART,
  HRTIMER_STATE_CALLBACK,
  HRTIMER_STATE_ENQUEUED,
  HRTIMER_STATE_INACTIVE,
  PF_KTHREAD,
  PF_THREAD_BOUND,
  put_task_struct,
  SimEvent,
  wait_for_completion,
  type ClockId,
  type HrTimer,
  type HrtimerMode,
  type HrtimerOps,
  type Kernel,
  type KernelCall,
  type KthreadOps,
  type TaskStruct,
  type ThreadFn,
} from "@ksim/core";
import type { FakeHotplug} from "@ksim/core/testing";
import { make_test_kernel, type TestKernel } from "@ksim/core/testing";
import { Scheduler, type SchedParams } from "../src/index.js";

/** Per-CPU timers on engine events; a timer on an offline CPU does not fire until migrate(). */
export class FakeHrtimers implements HrtimerOps {
  k!: Kernel;
  readonly stats = { fired: 0, migrated: 0 };
  /** (timer name, cpu) of every start, for assertions. */
  readonly starts: [string, number][] = [];
  private ev(t: HrTimer): SimEvent {
    if (!t.node) t.node = new SimEvent(`hrtimer ${t.name}`, () => this.fire(t));
    return t.node as SimEvent;
  }
  private fire(t: HrTimer): void {
    if (!this.k.hotplug.cpu_online(t.cpu)) return; // stranded on a dead CPU
    this.k.sched.irq_enter(t.cpu);
    try {
      t.state = HRTIMER_STATE_CALLBACK;
      this.stats.fired++;
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
    const was = this.hrtimer_active(t) ? 1 : 0;
    this.hrtimer_try_to_cancel(t);
    t.expires = mode.startsWith("REL") ? this.k.engine.now + tim : tim;
    this.starts.push([t.name, ctx.cpu]);
    this.enqueue(t, ctx.cpu);
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
  /** What hrtimer_cpu_notify(CPU_DEAD) does: move `t` to this CPU and fire it if due. */
  migrate(t: HrTimer, to: number): void {
    this.stats.migrated++;
    this.enqueue(t, to);
  }
}

interface FakeKthread {
  should_stop: boolean;
  exited: Completion;
}

/** kthread_create without kthreadd: the thread exists at once, asleep. */
export class FakeKthreads implements KthreadOps {
  k!: Kernel;
  readonly kthreadd_task = null;
  *kthread_create<D>(threadfn: ThreadFn<D>, data: D, namefmt: string, ...args: (string | number)[]): KernelCall<TaskStruct> {
    let i = 0;
    const comm = namefmt.replace(/%[dsu]/g, () => String(args[i++]));
    const self: FakeKthread = {
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
    p.cpu = cpu;
    p.cpus_allowed = CpuMask.cpumask_of(cpu);
    p.flags |= PF_THREAD_BOUND;
  }
  *kthread_stop(p: TaskStruct): KernelCall<number> {
    get_task_struct(p);
    const self = p.kthread as FakeKthread;
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
    return (current().kthread as FakeKthread).should_stop;
  }
  *kthread_park(): KernelCall<number> {
    return 0;
  }
  kthread_unpark(): void {}
  kthread_should_park(): boolean {
    return false;
  }
  *kthread_parkme(): KernelCall {}
}

export interface SchedTestKernel extends TestKernel {
  sched: Scheduler;
  hrtimer: FakeHrtimers;
  hotplug: FakeHotplug;
}

/** A kernel with the real scheduler over fakes, every CPU online with its rq online. */
export function make_sched_kernel(params: Omit<SchedParams, "nr_cpus"> & { cpus?: number; hz?: number } = {}): SchedTestKernel {
  const cpus = params.cpus ?? 2;
  const hr = new FakeHrtimers();
  const kt = new FakeKthreads();
  const k = make_test_kernel({
    cpus,
    hz: params.hz ?? 1000,
    hrtimer: hr,
    kthread: kt,
    sched: (k) => new Scheduler(k, { ...params, nr_cpus: cpus }),
  }) as SchedTestKernel;
  hr.k = k;
  kt.k = k;
  k.sched.init();
  for (let c = 0; c < cpus; c++) k.sched.set_rq_online(c);
  return k;
}

/** Create a task and wake it from `cpu`'s context, as a timer interrupt there would. */
export function spawn_on(k: Kernel, cpu: number, spec: Parameters<Kernel["sched"]["create_task"]>[0]): TaskStruct {
  const p = k.sched.create_task({ cpu, ...spec });
  k.sched.irq_enter(cpu);
  try {
    k.sched.wake_up_new_task(p);
  } finally {
    k.sched.irq_exit(cpu);
  }
  return p;
}
