/**
 * What every `ksim` command reports the same way: a failure as one line and
 * an exit status, and the command that replays one seed. One copy, shared by
 * the commands loaded at start-up and those loaded on demand.
 */
import type { ReplayInfo } from "@ksim/campaign";
import { ExitCode } from "@ksim/report";
import { one_line, ScenarioError, type ScenarioSpec } from "@ksim/scenario";
import type { CliIo } from "./cli_io.js";

/** An error class whose instances are bad input (exit 2), not an internal error. */
export type UsageErrorClass = abstract new (...args: never[]) => Error;

export interface FailOptions {
  /** Hides a password (a queue URL's) in every line written. */
  mask?: (text: string) => string;
  /** Further classes of bad input besides ScenarioError and RangeError (the queue's, the space's). */
  usage?: readonly UsageErrorClass[];
}

/** Reports an exception as one line (the stack only with --debug); returns the exit status. */
export function fail(io: CliIo, e: unknown, debug: boolean, opts: FailOptions = {}): number {
  const mask = opts.mask ?? ((s: string) => s);
  if (e instanceof ScenarioError) {
    io.stderr(`ksim: ${mask(e.message)}\n`);
    if (debug && e.stack) io.stderr(`${mask(e.stack)}\n`);
    return ExitCode.USAGE;
  }
  if (e instanceof Error && (opts.usage ?? []).some((c) => e instanceof c)) {
    io.stderr(`ksim: ${one_line(mask(e.message))}\n`);
    return ExitCode.USAGE;
  }
  const message = e instanceof Error ? e.message : String(e);
  io.stderr(`ksim: internal error: ${one_line(mask(message))}\n`);
  if (debug) io.stderr(`${mask(e instanceof Error && e.stack ? e.stack : String(e))}\n`);
  else io.stderr("ksim: (run again with --debug for the stack trace)\n");
  return ExitCode.INTERNAL;
}

/**
 * One warning line per rt-app key the scenario's rt-app files have that
 * rt-app does not read: rt-app passes over them in silence (a misspelt
 * key too), and ksim runs the file as rt-app would, but says so.
 */
export function warn_ignored(io: CliIo, spec: ScenarioSpec): void {
  for (const f of spec.rt_app ?? []) {
    for (const k of f.workload.ignored) io.stderr(`ksim: warning: ${f.workload.source}: ${k.path}: ignored, as rt-app ignores it (${k.why})\n`);
  }
}

/** A shell word: as is when it needs no quoting, else in single quotes. */
export function shell_quote(x: string): string {
  return /^[\w./:=,-]+$/.test(x) ? x : `'${x.replace(/'/g, "'\\''")}'`;
}

/** The command that replays one seed exactly (as `ksim stress` prints it). */
export function replay_command(r: ReplayInfo, seed: number): string {
  const parts = ["ksim run", shell_quote(r.ref), `--seed ${seed}`];
  if (r.duration) parts.push(`--duration ${shell_quote(r.duration)}`);
  for (const s of r.sets) parts.push(`--set ${shell_quote(s)}`);
  return parts.join(" ");
}

/** RunOptions from --max-events / --max-wall. */
export function run_limits(flags: { maxEvents?: number; maxWall?: number }): { max_events?: number; max_wall_ms?: number } {
  return {
    ...(flags.maxEvents !== undefined ? { max_events: flags.maxEvents } : {}),
    ...(flags.maxWall !== undefined ? { max_wall_ms: flags.maxWall } : {}),
  };
}
