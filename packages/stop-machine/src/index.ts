export {
  KstopMachine,
  kstop_subsystem,
  STOPMACHINE_EXIT,
  STOPMACHINE_NONE,
  STOPMACHINE_PREPARE,
  STOPMACHINE_RUN,
} from "./kstop.js";
