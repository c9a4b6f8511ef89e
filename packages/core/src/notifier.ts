/** include/linux/notifier.h */
import type { KernelCall } from "./effects.js";
import { errno_name } from "./errno.js";

export const NOTIFY_DONE = 0x0000;
export const NOTIFY_OK = 0x0001;
export const NOTIFY_STOP_MASK = 0x8000;
export const NOTIFY_BAD = NOTIFY_STOP_MASK | 0x0002;
export const NOTIFY_STOP = NOTIFY_OK | NOTIFY_STOP_MASK;

export function notifier_from_errno(err: number): number {
  return err ? NOTIFY_STOP_MASK | (NOTIFY_OK - err) : NOTIFY_OK;
}

export function notifier_to_errno(ret: number): number {
  ret &= ~NOTIFY_STOP_MASK;
  return ret > NOTIFY_OK ? NOTIFY_OK - ret : 0;
}

export function notify_name(ret: number): string {
  switch (ret) {
    case NOTIFY_DONE:
      return "NOTIFY_DONE";
    case NOTIFY_OK:
      return "NOTIFY_OK";
    case NOTIFY_BAD:
      return "NOTIFY_BAD";
    case NOTIFY_STOP:
      return "NOTIFY_STOP";
    default:
      return ret & NOTIFY_STOP_MASK ? `notifier_from_errno(-${errno_name(notifier_to_errno(ret))})` : `0x${ret.toString(16)}`;
  }
}

/** A notifier_block. The callback runs in the caller's process context. */
export interface NotifierBlock {
  readonly name: string;
  priority: number;
  notifier_call(nb: NotifierBlock, action: number, hcpu: number): KernelCall<number>;
  /**
   * Optional: the callback as a plain function for the actions at which it
   * never sleeps. It does what notifier_call would and returns its value, or
   * returns null, having done nothing, for an action at which it may sleep;
   * the chain then calls notifier_call. A hotplug operation calls a dozen
   * callbacks per event, nearly all of which return at once, and calling
   * them as generators was most of the walk's cost.
   */
  readonly notifier_call_nosleep?: NotifierCallNoSleep | undefined;
}

/** What notifier_call does at an action where it never sleeps, and its value; null, having done nothing, where it may sleep. */
export type NotifierCallNoSleep = (nb: NotifierBlock, action: number, hcpu: number) => number | null;

