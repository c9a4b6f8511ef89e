export { KstopMachine, kstop_subsystem } from "./kstop.js";
export { CpuStoppers, CPU_STOP_CPU_NOTIFY_PRIORITY, type CpuStopper } from "./cpu_stop.js";
export { CpuStopMachine, type StopMachineData } from "./cpu_stop_machine.js";
export { cpu_stop_machine_subsystem, cpu_stop_subsystem } from "./subsystem.js";
export {
  STOPMACHINE_DISABLE_IRQ,
  STOPMACHINE_EXIT,
  STOPMACHINE_NONE,
  STOPMACHINE_PREPARE,
  STOPMACHINE_RUN,
} from "./state.js";
