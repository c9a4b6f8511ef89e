/**
 * kernel/softirq.c of Linux 2.6.34: the per-CPU ksoftirqd threads and their
 * CPU-hotplug callback (cpu_callback), the pending mask of each CPU,
 * raise_softirq_irqoff() and do_softirq(), and takeover_tasklets() at
 * CPU_DEAD. See README.md, "Model fidelity", for which softirqs ksim runs.
 */
import {
  BUG,
  BUG_ON,
  CPU_DEAD,
  CPU_DEAD_FROZEN,
  CPU_ONLINE,
  CPU_ONLINE_FROZEN,
  CPU_UP_CANCELED,
  CPU_UP_CANCELED_FROZEN,
  CPU_UP_PREPARE,
  CPU_UP_PREPARE_FROZEN,
  MAX_RT_PRIO,
  NOTIFY_BAD,
  NOTIFY_OK,
  SCHEDULE,
  current,
  define_service,
  in_interrupt,
  preempt_disable,
  preempt_enable,
  smp_processor_id,
  type Kernel,
  type KernelCall,
  type NotifierBlock,
  type TaskStruct,
} from "@ksim/core";

declare module "@ksim/core" {
  interface TraceEvents {
    softirq_entry: { vec: number; action: string };
    softirq_exit: { vec: number; action: string };
  }
}

/** The softirq numbers of include/linux/interrupt.h (2.6.34). */
export const HI_SOFTIRQ = 0;
export const TIMER_SOFTIRQ = 1;
export const NET_TX_SOFTIRQ = 2;
export const NET_RX_SOFTIRQ = 3;
export const BLOCK_SOFTIRQ = 4;
export const BLOCK_IOPOLL_SOFTIRQ = 5;
export const TASKLET_SOFTIRQ = 6;
export const SCHED_SOFTIRQ = 7;
export const HRTIMER_SOFTIRQ = 8;
export const RCU_SOFTIRQ = 9;
export const NR_SOFTIRQS = 10;

/** softirq_to_name[]: the names the softirq tracepoints print. */
export const SOFTIRQ_NAMES: readonly string[] = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "BLOCK_IOPOLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];

/** cpu_nfb sets no priority: 0. spawn_ksoftirqd, an early_initcall, registers it after timers_nb and hrtimers_nb. */
export const CPU_CALLBACK_PRIORITY = 0;

export interface SoftirqStats {
  /** Softirq actions run (__do_softirq's calls). */
  actions_run: number;
  /** ksoftirqd wake-ups by wakeup_softirqd(). */
  ksoftirqd_wakeups: number;
}

/** What the rest of a machine may ask of the softirq subsystem. */
export interface SoftirqOps {
  /** per_cpu(ksoftirqd, cpu): null before CPU_UP_PREPARE and after CPU_DEAD. */
  ksoftirqd(cpu: number): TaskStruct | null;
  /** open_softirq(): the action run for softirq `nr`. */
  open_softirq(nr: number, action: () => void): void;
  /** raise_softirq_irqoff(): mark `nr` pending on this CPU; outside interrupt context, wake its ksoftirqd. */
  raise_softirq_irqoff(nr: number): void;
  /** local_softirq_pending() of `cpu`. */
  softirq_pending(cpu: number): number;
  readonly stats: SoftirqStats;
}

/** A service core does not know: defined here, found by its name. */
export const SOFTIRQ = define_service<SoftirqOps>("softirq");

export interface SoftirqOptions {
  /** Priority of cpu_nfb (cpu_callback) on the cpu notifier chain (default 0). */
  priority?: number;
}

/**
 * tasklet_action() and tasklet_hi_action(): run the CPU's tasklet lists. No
 * code in ksim schedules a tasklet, so the lists are always empty.
 */
function tasklet_action(): void {}
function tasklet_hi_action(): void {}

export class Softirqs implements SoftirqOps {
  readonly stats: SoftirqStats = { actions_run: 0, ksoftirqd_wakeups: 0 };
  /** cpu_nfb: cpu_callback on the cpu notifier chain. */
  readonly cpu_nfb: NotifierBlock;
  private readonly per_cpu_ksoftirqd: (TaskStruct | null)[] = [];
  private readonly pending: number[] = [];
  private readonly softirq_vec: ((() => void) | null)[] = new Array<(() => void) | null>(NR_SOFTIRQS).fill(null);

  constructor(
    private readonly k: Kernel,
    opts: SoftirqOptions = {},
  ) {
    this.cpu_nfb = {
      name: "cpu_callback",
      priority: opts.priority ?? CPU_CALLBACK_PRIORITY,
      notifier_call: (nb, action, hcpu) => this.cpu_callback(nb, action, hcpu),
    };
  }

  /** softirq_init() in start_kernel: the tasklet softirqs. */
  softirq_init(): void {
    for (let cpu = 0; cpu < this.k.sched.nr_cpu_ids; cpu++) {
      this.per_cpu_ksoftirqd.push(null);
      this.pending.push(0);
    }
    this.open_softirq(TASKLET_SOFTIRQ, tasklet_action);
    this.open_softirq(HI_SOFTIRQ, tasklet_hi_action);
  }

  /**
   * spawn_ksoftirqd(), an early_initcall: the boot CPU's thread by hand
   * (CPU_UP_PREPARE, CPU_ONLINE), then cpu_nfb on the chain for the others.
   */
  *spawn_ksoftirqd(): KernelCall {
    const cpu = smp_processor_id();
    const err = yield* this.cpu_callback(this.cpu_nfb, CPU_UP_PREPARE, cpu);
    BUG_ON(err === NOTIFY_BAD, "spawn_ksoftirqd: ksoftirqd for the boot CPU failed");
    yield* this.cpu_callback(this.cpu_nfb, CPU_ONLINE, cpu);
    this.k.hotplug.register_cpu_notifier(this.cpu_nfb);
  }

  ksoftirqd(cpu: number): TaskStruct | null {
    return this.per_cpu_ksoftirqd[cpu] ?? null;
  }

  open_softirq(nr: number, action: () => void): void {
    if (!(nr >= 0 && nr < NR_SOFTIRQS)) BUG(`open_softirq(${nr}): no such softirq`);
    this.softirq_vec[nr] = action;
  }

  raise_softirq_irqoff(nr: number): void {
    const cpu = smp_processor_id();
    this.pending[cpu]! |= 1 << nr;
    // In an interrupt, irq_exit() runs it; elsewhere only ksoftirqd will.
    if (!in_interrupt()) this.wakeup_softirqd(cpu);
  }

  softirq_pending(cpu: number): number {
    return this.pending[cpu] ?? 0;
  }

  /** wakeup_softirqd(): wake this CPU's ksoftirqd unless it is running. */
  private wakeup_softirqd(cpu: number): void {
    const tsk = this.per_cpu_ksoftirqd[cpu];
    if (tsk && tsk.state !== "R") {
      this.stats.ksoftirqd_wakeups++;
      this.k.sched.wake_up_process(tsk);
    }
  }

  /** do_softirq() → __do_softirq(): the pending mask is taken and cleared, each action runs once. */
  private do_softirq(): void {
    if (in_interrupt()) return;
    const cpu = smp_processor_id();
    let pending = this.pending[cpu]!;
    this.pending[cpu] = 0;
    const trace = this.k.trace;
    preempt_disable();
    try {
      for (let nr = 0; pending !== 0; nr++, pending >>>= 1) {
        if ((pending & 1) === 0) continue;
        const action = this.softirq_vec[nr];
        if (!action) continue;
        if (trace.enabled) trace.emit("softirq_entry", cpu, { vec: nr, action: SOFTIRQ_NAMES[nr]! });
        action();
        this.stats.actions_run++;
        if (trace.enabled) trace.emit("softirq_exit", cpu, { vec: nr, action: SOFTIRQ_NAMES[nr]! });
      }
    } finally {
      preempt_enable();
    }
  }

  /**
   * run_ksoftirqd(): sleep until a softirq is pending on this CPU, run it,
   * until kthread_stop. Found on another CPU than its own, which is offline,
   * it runs nothing and waits to be stopped (wait_to_die).
   */
  private *run_ksoftirqd(bind_cpu: number): KernelCall<number> {
    const k = this.k;
    const p = current();
    p.state = "S";
    while (!k.kthread.kthread_should_stop()) {
      if (this.softirq_pending(smp_processor_id()) === 0) {
        p.wchan = "run_ksoftirqd";
        yield SCHEDULE;
      }
      p.state = "R";
      while (this.softirq_pending(smp_processor_id()) !== 0) {
        if (!k.hotplug.cpu_online(bind_cpu)) return yield* this.wait_to_die(p);
        this.do_softirq();
      }
      p.state = "S";
    }
    p.state = "R";
    return 0;
  }

  private *wait_to_die(p: TaskStruct): KernelCall<number> {
    p.state = "S";
    while (!this.k.kthread.kthread_should_stop()) {
      p.wchan = "run_ksoftirqd";
      yield SCHEDULE;
      p.state = "S";
    }
    p.state = "R";
    return 0;
  }

  /** cpu_callback(): runs in the caller's context; CPU_UP_PREPARE and CPU_DEAD block. */
  private *cpu_callback(_nfb: NotifierBlock, action: number, hotcpu: number): KernelCall<number> {
    const k = this.k;
    switch (action) {
      case CPU_UP_PREPARE:
      case CPU_UP_PREPARE_FROZEN: {
        const p = yield* k.kthread.kthread_create((cpu: number) => this.run_ksoftirqd(cpu), hotcpu, "ksoftirqd/%d", hotcpu);
        k.kthread.kthread_bind(p, hotcpu);
        this.per_cpu_ksoftirqd[hotcpu] = p;
        break;
      }
      case CPU_ONLINE:
      case CPU_ONLINE_FROZEN:
        k.sched.wake_up_process(this.per_cpu_ksoftirqd[hotcpu]!);
        break;
      case CPU_UP_CANCELED:
      case CPU_UP_CANCELED_FROZEN: {
        const p = this.per_cpu_ksoftirqd[hotcpu];
        if (!p) break;
        // Unbind so it can run, then as CPU_DEAD.
        k.kthread.kthread_bind(p, k.hotplug.cpu_online_mask.first());
        yield* this.stop_ksoftirqd(hotcpu);
        break;
      }
      case CPU_DEAD:
      case CPU_DEAD_FROZEN:
        yield* this.stop_ksoftirqd(hotcpu);
        break;
      default:
        break;
    }
    return NOTIFY_OK;
  }

  /**
   * CPU_DEAD: the dead CPU's thread becomes SCHED_FIFO MAX_RT_PRIO-1 so that
   * it runs at once wherever it is, and is stopped; then this CPU takes over
   * the dead one's tasklets.
   */
  private *stop_ksoftirqd(hotcpu: number): KernelCall {
    const k = this.k;
    const p = this.per_cpu_ksoftirqd[hotcpu];
    if (!p) BUG(`cpu_callback(CPU_DEAD, ${hotcpu}): no ksoftirqd/${hotcpu}`);
    this.per_cpu_ksoftirqd[hotcpu] = null;
    k.sched.sched_setscheduler(p, "FIFO", MAX_RT_PRIO - 1);
    yield* k.kthread.kthread_stop(p);
    this.takeover_tasklets(hotcpu);
  }

  /**
   * takeover_tasklets(): the dead CPU's tasklet lists (empty in ksim) join
   * this CPU's, and TASKLET_SOFTIRQ and HI_SOFTIRQ are raised here, from
   * process context: that wakes this CPU's ksoftirqd.
   */
  private takeover_tasklets(_cpu: number): void {
    this.raise_softirq_irqoff(TASKLET_SOFTIRQ);
    this.raise_softirq_irqoff(HI_SOFTIRQ);
  }
}
