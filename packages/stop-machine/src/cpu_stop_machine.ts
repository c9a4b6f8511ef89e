/**
 * stop_machine of 2.6.35 (kernel/stop_machine.c, CONFIG_STOP_MACHINE part):
 * __stop_machine() runs stop_machine_cpu_stop() on every online CPU's
 * stopper through stop_cpus(). The stoppers spin through a shared state
 * machine (PREPARE, DISABLE_IRQ, RUN, EXIT); the last CPU to ack a state
 * moves them all to the next, and fn runs in RUN on the active CPUs.
 */
import {
  BUG,
  can_sleep,
  CPU_STOP,
  current,
  RUN,
  smp_processor_id,
  type CpuMask,
  type Kernel,
  type KernelCall,
  type StopMachineOps,
  type TaskStruct,
} from "@ksim/core";
import { STOPMACHINE_DISABLE_IRQ, STOPMACHINE_EXIT, STOPMACHINE_NONE, STOPMACHINE_PREPARE, STOPMACHINE_RUN } from "./state.js";


/** struct stop_machine_data, plus what ksim needs to end the spins. */
export interface StopMachineData {
  readonly fn: () => number;
  /** Like num_online_cpus(), but hotplug uses us, so it is taken once. */
  readonly num_threads: number;
  /** null: fn runs on the first online CPU. */
  readonly active_cpus: CpuMask | null;
  state: number;
  thread_ack: number;
  /** CPUs that have disabled interrupts and not yet enabled them again. */
  irqs_off: number;
  /** Stoppers spinning in cpu_relax() until the state moves. */
  readonly spinners: TaskStruct[];
}

export class CpuStopMachine implements StopMachineOps {
  /** The stop_machine in progress, if any. */
  smdata: StopMachineData | null = null;
  /** stop_machine calls completed. */
  nr_calls = 0;

  constructor(private readonly k: Kernel) {}

  /** __stop_machine(): the caller holds the hotplug lock (cpu_down) or takes it (stop_machine). */
  *stop_machine(fn: () => number, cpus: CpuMask): KernelCall<number> {
    if (!can_sleep()) BUG("stop_machine called from atomic context");
    const k = this.k;
    const smdata: StopMachineData = {
      fn,
      num_threads: k.hotplug.num_online_cpus(),
      active_cpus: cpus.is_empty() ? null : cpus.clone(),
      state: STOPMACHINE_NONE,
      thread_ack: 0,
      irqs_off: 0,
      spinners: [],
    };
    // Set the initial state and stop all online cpus.
    this.set_state(smdata, STOPMACHINE_PREPARE);
    this.smdata = smdata;
    try {
      const online = k.hotplug.cpu_online_mask.clone();
      return yield* k.service(CPU_STOP).stop_cpus(online, (arg) => this.stop_machine_cpu_stop(arg as StopMachineData), smdata);
    } finally {
      this.smdata = null;
      this.nr_calls++;
    }
  }

  /** set_state(): reset the ack counter, move on, and end every spin so each stopper sees it. */
  private set_state(smdata: StopMachineData, newstate: number): void {
    smdata.thread_ack = smdata.num_threads;
    smdata.state = newstate;
    for (const p of smdata.spinners) {
      // The spin is an endless RUN; ending it is what re-reading the state costs.
      p.run_remaining = 0;
      if (p.on_cpu) this.k.sched.resched_cpu(p.cpu);
    }
    smdata.spinners.length = 0;
  }

  /** ack_state(): the last one to ack a state moves all to the next. */
  private ack_state(smdata: StopMachineData): void {
    if (--smdata.thread_ack === 0) this.set_state(smdata, smdata.state + 1);
  }

  /** stop_machine_cpu_stop(): the cpu_stop function every online CPU's stopper runs. */
  private *stop_machine_cpu_stop(smdata: StopMachineData): KernelCall<number> {
    const cpu = smp_processor_id();
    const is_active =
      smdata.active_cpus === null ? cpu === this.k.hotplug.cpu_online_mask.first() : smdata.active_cpus.test_cpu(cpu);
    let curstate = STOPMACHINE_NONE;
    let err = 0;
    let irqs_off = false;
    const sched = this.k.sched;
    do {
      // cpu_relax() until the state moves.
      while (smdata.state === curstate) yield* this.cpu_relax(smdata);
      curstate = smdata.state;
      if (curstate === STOPMACHINE_DISABLE_IRQ) {
        // local_irq_disable(); hard_irq_disable(): from here the spin gets no
        // tick, so no RT throttle, as in 2.6.34's stop_cpu.
        sched.local_irq_disable(cpu);
        irqs_off = true;
        smdata.irqs_off++;
      } else if (curstate === STOPMACHINE_RUN && is_active) {
        err = smdata.fn();
      }
      this.ack_state(smdata);
    } while (curstate !== STOPMACHINE_EXIT);
    // local_irq_enable(): the spin's RT time is charged now, in one piece.
    if (irqs_off) {
      smdata.irqs_off--;
      sched.local_irq_enable(cpu);
    }
    return err;
  }

  private *cpu_relax(smdata: StopMachineData): KernelCall {
    smdata.spinners.push(current());
    yield RUN(Number.POSITIVE_INFINITY);
  }
}
