/**
 * include/linux/clockchips.h, the part CPU hotplug touches: each CPU's local
 * timer interrupt (x86: the local APIC timer), which drives that CPU's
 * clock event device. x86's native_cpu_disable() masks it with
 * clear_local_APIC() inside __cpu_disable(), before the CPU_DYING chain;
 * start_secondary() unmasks it (setup_local_APIC) when the CPU boots again.
 */
import { BUG } from "./bug.js";

/** A per-CPU clock event device: it stops arming a CPU whose interrupt is masked. */
export interface LocalTimerDevice {
  readonly name: string;
  /** `cpu`'s local timer interrupt was just masked (true) or unmasked (false). */
  local_timer_masked(cpu: number, masked: boolean): void;
}

/** The per-CPU "local timer interrupt masked" state, kept by the hotplug subsystem. */
export class LocalTimerIrqs {
  private readonly masked: boolean[] = [];
  private readonly devices: LocalTimerDevice[] = [];

  /** `unmasked(cpu)`: whether the CPU runs with its timer on at the start (the boot CPU). */
  constructor(nr_cpus: number, unmasked: (cpu: number) => boolean) {
    for (let cpu = 0; cpu < nr_cpus; cpu++) this.masked.push(!unmasked(cpu));
  }

  is_masked(cpu: number): boolean {
    const m = this.masked[cpu];
    if (m === undefined) BUG(`local timer of CPU ${cpu}: no such CPU`);
    return m === true;
  }

  register(dev: LocalTimerDevice): void {
    this.devices.push(dev);
  }

  /** clear_local_APIC() (true) or setup_local_APIC() (false) on `cpu`; every device hears it. */
  set_masked(cpu: number, masked: boolean): void {
    if (this.is_masked(cpu) === masked) return;
    this.masked[cpu] = masked;
    for (const dev of this.devices) dev.local_timer_masked(cpu, masked);
  }
}
