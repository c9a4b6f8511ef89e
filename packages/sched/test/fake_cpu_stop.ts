/**
 * A small cpu_stop for testing the 2.6.35 scheduler alone: one stopper task
 * per CPU, migration/N, SCHED_FIFO 99 and bound to N, running queued works
 * in order. It is enabled while its CPU is online.
 */
import {
  Completion,
  CpuMask,
  ENOENT,
  SCHEDULE,
  complete,
  current,
  wait_for_completion,
  type CpuStopFn,
  type CpuStopOps,
  type CpuStopWork,
  type Kernel,
  type KernelCall,
  type TaskStruct,
} from "@ksim/core";

interface Queued {
  work: CpuStopWork;
  done: ((ret: number) => void) | null;
}

export class FakeCpuStop implements CpuStopOps {
  readonly stoppers: TaskStruct[] = [];
  private readonly queues: Queued[][] = [];
  /** Every work run: [cpu, time]. */
  readonly ran: [number, number][] = [];

  constructor(private readonly k: Kernel) {
    for (let cpu = 0; cpu < k.sched.nr_cpu_ids; cpu++) {
      this.queues.push([]);
      const p = k.sched.create_task({
        comm: `migration/${cpu}`,
        policy: "FIFO",
        rt_priority: 99,
        cpu,
        cpus_allowed: CpuMask.cpumask_of(cpu),
        threadfn: () => this.cpu_stopper_thread(cpu),
      });
      this.stoppers.push(p);
    }
  }

  private *cpu_stopper_thread(cpu: number): KernelCall<number> {
    const q = this.queues[cpu]!;
    for (;;) {
      const w = q.shift();
      if (w) {
        const r = w.work.fn!(w.work.arg);
        // A work may be a blocking call (cpu_stop's own spin); run it to its end.
        const ret = typeof r === "number" ? r : yield* r;
        this.ran.push([cpu, this.k.engine.now]);
        w.done?.(ret);
        continue;
      }
      current().state = "S";
      yield SCHEDULE;
    }
  }

  private queue(cpu: number, w: Queued): boolean {
    if (!this.k.hotplug.cpu_online(cpu)) return false;
    this.queues[cpu]!.push(w);
    this.k.sched.wake_up_process(this.stoppers[cpu]!);
    return true;
  }

  *stop_one_cpu(cpu: number, fn: CpuStopFn, arg: unknown): KernelCall<number> {
    const done = new Completion(`stop_one_cpu ${cpu}`);
    let ret = -ENOENT;
    const queued = this.queue(cpu, {
      work: { fn, arg },
      done: (r) => {
        ret = r;
        complete(done);
      },
    });
    if (!queued) return -ENOENT;
    yield* wait_for_completion(done, "stop_one_cpu");
    return ret;
  }

  stop_one_cpu_nowait(cpu: number, fn: CpuStopFn, arg: unknown, work: CpuStopWork): void {
    work.fn = fn;
    work.arg = arg;
    this.queue(cpu, { work, done: null });
  }

  *stop_cpus(cpus: CpuMask, fn: CpuStopFn, arg: unknown): KernelCall<number> {
    let ret = 0;
    for (let c = cpus.first(); c >= 0; c = cpus.next(c + 1)) {
      const r = yield* this.stop_one_cpu(c, fn, arg);
      if (r) ret = r;
    }
    return ret;
  }
}
