import { BUG } from "@ksim/core";

/** TASK_COMM_LEN of include/linux/sched.h: comm holds 15 characters and a NUL. */
export const TASK_COMM_LEN = 16;

/**
 * The vsnprintf(comm, TASK_COMM_LEN, namefmt, args) of kthread_create(),
 * for the conversions kernel thread names use: %d %i %u %s %% (an `l` or
 * `ll` length modifier is accepted and ignored). A missing or surplus
 * argument is a bug in the caller, as a compiler's format check would say.
 */
export function format_comm(namefmt: string, args: readonly (string | number)[]): string {
  // Per-CPU threads ("kstop/%d", "migration/%d") are made at every hotplug
  // operation, from a handful of formats and CPU numbers.
  const a = args[0];
  if (args.length === 1 && typeof a === "number" && Number.isInteger(a) && a >= 0 && a < FORMAT_MEMO_MAX_ARG) {
    let by_arg = format_memo.get(namefmt);
    if (by_arg === undefined) {
      if (format_memo.size >= FORMAT_MEMO_MAX_FMTS) format_memo.clear();
      format_memo.set(namefmt, (by_arg = []));
    }
    return (by_arg[a] ??= vsnprintf_comm(namefmt, args));
  }
  return vsnprintf_comm(namefmt, args);
}

/** format_comm's results for one small non-negative integer argument, by format and argument. */
const format_memo = new Map<string, string[]>();
const FORMAT_MEMO_MAX_FMTS = 64;
const FORMAT_MEMO_MAX_ARG = 4096;

function vsnprintf_comm(namefmt: string, args: readonly (string | number)[]): string {
  let out = "";
  let next = 0;
  const take = (conv: string): string | number => {
    if (next >= args.length) BUG(`kthread_create("${namefmt}"): no argument for %${conv}`);
    return args[next++]!;
  };
  for (let i = 0; i < namefmt.length; i++) {
    const c = namefmt[i]!;
    if (c !== "%") {
      out += c;
      continue;
    }
    let j = i + 1;
    while (namefmt[j] === "l") j++;
    const conv = namefmt[j] ?? "";
    switch (conv) {
      case "%":
        out += "%";
        break;
      case "d":
      case "i":
        out += String(Math.trunc(Number(take(conv))));
        break;
      case "u":
        out += String(Math.trunc(Number(take(conv))) >>> 0);
        break;
      case "s":
        out += String(take(conv));
        break;
      default:
        BUG(`kthread_create("${namefmt}"): unsupported conversion %${conv}`);
    }
    i = j;
  }
  if (next !== args.length) BUG(`kthread_create("${namefmt}"): ${args.length - next} argument(s) left over`);
  // vsnprintf truncates to the buffer, keeping room for the NUL.
  return out.slice(0, TASK_COMM_LEN - 1);
}
