/**
 * Timing child processes for `pnpm bench`: the wall time of a whole process
 * (start-up included), and the CPU time it spent, read from this process's
 * reaped-children counters (/proc/self/stat; null where there is none).
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** CPU seconds of every child this process has waited for, or null off Linux. */
function children_cpu_s() {
  try {
    // After the command name: cutime and cstime, the 16th and 17th fields, in
    // clock ticks, which /proc always counts at USER_HZ = 100 a second.
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/** Runs a command to its end; its wall time in ms, CPU seconds and stdout. Throws if it fails. */
export function timed_child(cmd, args) {
  const cpu0 = children_cpu_s();
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 256 << 20 });
  const wall_ms = performance.now() - t0;
  const cpu1 = children_cpu_s();
  if (r.error) throw r.error;
  // `ksim run` exits 0 when the outcome is the expected one (seed-hang expects its hang).
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { wall_ms, cpu_s: cpu0 === null || cpu1 === null ? null : +(cpu1 - cpu0).toFixed(2), stdout: r.stdout };
}

/** Runs a child that prints one JSON document; returns it. */
export function child_json(cmd, args) {
  return JSON.parse(timed_child(cmd, args).stdout);
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
