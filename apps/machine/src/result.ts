/**
 * machine.ts builds the RunResult of @ksim/report without two of its fields
 * (who detected a hang, why a run stopped early): they are in the kernel log
 * it writes. complete_result derives them from there, in this one place,
 * until the machine fills them itself; then it passes them through.
 */
import type { HangDetector, RunResult } from "@ksim/report";

/** RunResult as the machine builds it: `detected_by` and `stopped_early` may be missing. */
export type MachineReport = Omit<RunResult, "hang" | "stopped_early"> & {
  hang?: Omit<NonNullable<RunResult["hang"]>, "detected_by"> & { detected_by?: HangDetector };
  stopped_early?: string | null;
};

/** The line Machine.run() prints when a limit ends the run (see its `limited`). */
const STOPPED_EARLY = "ksim: run stopped early: ";
/** The line ksim's watchdog prints when khungtaskd could not report a hang (Machine.watchdog()). */
const WATCHDOG = "ksim watchdog:";

/** The RunResult of @ksim/report, every field filled. */
export function complete_result(r: MachineReport): RunResult {
  const { hang, stopped_early, ...rest } = r;
  const early_line = r.dmesg.find((l) => l.includes(STOPPED_EARLY));
  const out: RunResult = {
    ...rest,
    stopped_early: stopped_early !== undefined ? stopped_early : early_line ? early_line.slice(early_line.indexOf(STOPPED_EARLY) + STOPPED_EARLY.length) : null,
  };
  if (hang) {
    const detected_by = hang.detected_by ?? (r.dmesg.some((l) => l.includes(WATCHDOG)) ? "watchdog" : "khungtaskd");
    out.hang = { ...hang, detected_by };
  }
  return out;
}
