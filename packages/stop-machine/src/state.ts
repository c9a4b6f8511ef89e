/** enum stopmachine_state of kernel/stop_machine.c (2.6.34 and 2.6.35 alike). */
/** Dummy starting state for thread. */
export const STOPMACHINE_NONE = 0;
/** Awaiting everyone to be scheduled. */
export const STOPMACHINE_PREPARE = 1;
/** Disable interrupts. */
export const STOPMACHINE_DISABLE_IRQ = 2;
/** Run the function. */
export const STOPMACHINE_RUN = 3;
/** Exit. */
export const STOPMACHINE_EXIT = 4;
