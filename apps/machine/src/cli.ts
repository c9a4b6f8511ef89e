#!/usr/bin/env node
/**
 * The `ksim` command (CONTRACT.md §2). `main(argv, io)` does everything and is
 * what tests call; run as a program, this file only hands it the process.
 *
 * Exit status: 0 when the run's outcome is the expected one, 1 when it is not,
 * 2 for usage errors and bad scenario input, 70 (EX_SOFTWARE) for an internal
 * error.
 */
import { mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command, CommanderError, InvalidArgumentError } from "commander";
import { NSEC_PER_MSEC, parse_duration } from "@ksim/core";
import { format_json_report, format_text_report, open_outputs, OutputError, ExitCode, run_exit_code, type Outputs } from "@ksim/report";
import { builtin_scenarios, load_scenario, one_line, scenario_json_schema, type Outcome } from "@ksim/scenario";
import type * as CampaignCliModule from "./campaign_cli.js";
import type { ExploreFlags, ShrinkFlags, StressFlags } from "./campaign_cli.js";
import { fail, run_limits, warn_ignored } from "./cli_common.js";
import type { CliIo } from "./cli_io.js";
import { build_machine, type Machine } from "./machine.js";
import { register_compare_command } from "./compare/cli.js";
import { parse_block, register_queue_commands } from "./queue/cli.js";
import { VERSION } from "./version.js";

export type { CliIo } from "./cli_io.js";

interface RunFlags {
  seed?: number;
  duration?: string;
  set?: string[];
  json?: boolean;
  trace?: string;
  ftrace?: string;
  html?: string;
  maxEvents?: number;
  maxWall?: number;
  rtAppLogs?: string;
  debug?: boolean;
}

function parse_seed(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new InvalidArgumentError(`expected a whole number 0..${Number.MAX_SAFE_INTEGER}`);
  }
  return Number(value);
}

/** --max-events: a whole number of engine events, at least 1. */
function parse_max_events(value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1) {
    throw new InvalidArgumentError(`expected a number of events 1..${Number.MAX_SAFE_INTEGER}`);
  }
  return Number(value);
}

/** --max-wall: a wall-clock duration ("90s", "10m"), to milliseconds. */
function parse_max_wall(value: string): number {
  let ns: number;
  try {
    ns = parse_duration(value);
  } catch {
    ns = Number.NaN;
  }
  if (!(ns >= NSEC_PER_MSEC)) throw new InvalidArgumentError('expected a wall-clock duration of at least 1ms, such as "90s" or "10m"');
  return ns / NSEC_PER_MSEC;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** --rt-app-logs DIR: one file per rt-app thread, named and laid out as rt-app writes them. */
function write_rt_app_logs(dir: string, machine: Machine): void {
  mkdirSync(dir, { recursive: true });
  for (const log of machine.rt_app_logs()) writeFileSync(join(dir, log.name), log.text);
}

function cmd_run(io: CliIo, ref: string, flags: RunFlags): number {
  const debug = flags.debug === true;
  let loaded;
  try {
    const opts: { sets: string[]; seed?: number; duration?: string } = { sets: flags.set ?? [] };
    if (flags.seed !== undefined) opts.seed = flags.seed;
    if (flags.duration !== undefined) opts.duration = flags.duration;
    loaded = load_scenario(ref, opts);
  } catch (e) {
    return fail(io, e, debug);
  }
  warn_ignored(io, loaded.spec);
  let outs: Outputs;
  try {
    outs = open_outputs({ trace: flags.trace, ftrace: flags.ftrace, html: flags.html });
  } catch (e) {
    if (!(e instanceof OutputError)) return fail(io, e, debug);
    io.stderr(`ksim: ${one_line(e.message)}\n`);
    return ExitCode.USAGE;
  }
  let out: string;
  let code: number;
  try {
    const machine = build_machine(loaded.spec, { trace: outs.sinks });
    const result = machine.run(run_limits(flags));
    outs.finish(result);
    if (flags.rtAppLogs !== undefined) write_rt_app_logs(flags.rtAppLogs, machine);
    // A bounded run keeps the outcome it found; say that it stopped short.
    if (result.stopped_early !== null) io.stderr(`ksim: run stopped early: ${result.stopped_early} at ${result.simulated_ns} ns simulated\n`);
    const expected = loaded.spec.expect?.outcome ?? null;
    out = flags.json ? format_json_report(result) : format_text_report(result, { expected });
    code = run_exit_code(result, expected);
  } catch (e) {
    outs.close();
    return fail(io, e, debug);
  }
  io.stdout(out);
  return code;
}

function parse_jobs(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 256) throw new InvalidArgumentError("expected a number of worker threads 0..256");
  return Number(value);
}

function parse_outcome(value: string): Outcome {
  if (value !== "ok" && value !== "hang" && value !== "bug") throw new InvalidArgumentError("expected ok, hang or bug");
  return value;
}

/**
 * The commands that run many scenarios, loaded when one runs: the campaign
 * library, its worker pool and the queue client are most of what ksim could
 * load, and `ksim run` needs none of them.
 */
type CampaignCli = typeof CampaignCliModule;

function campaign_cli(): Promise<CampaignCli> {
  return import("./campaign_cli.js");
}

function cmd_list(io: CliIo): number {
  const all = builtin_scenarios();
  const w = Math.max(0, ...all.map((s) => s.name.length));
  io.stdout(all.map((s) => `${s.name.padEnd(w)}  ${s.kernel_version}  ${s.description}\n`).join(""));
  return ExitCode.OK;
}

function cmd_schema(io: CliIo): number {
  io.stdout(`${JSON.stringify(scenario_json_schema(), null, 2)}\n`);
  return ExitCode.OK;
}

function build_program(io: CliIo, done: (code: number | Promise<number>) => void): Command {
  const program = new Command("ksim");
  program
    .description("A deterministic model of a multi-CPU Linux 2.6.34 machine: reproduce and explain CPU-hotplug hangs.")
    .version(VERSION, "-V, --version", "print the ksim version")
    .helpOption("-h, --help", "show help")
    .option("--debug", "show stack traces of errors")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout(s),
      writeErr: (s) => io.stderr(s),
      outputError: (s, write) => write(`ksim: ${one_line(s.replace(/^error: /, ""))}\n`),
    })
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      "after",
      [
        "",
        "Exit status of run: 0 when the outcome is the expected one (the scenario's",
        "expect.outcome, else ok), 1 when not; 2 for a usage error or a bad scenario;",
        "70 for an internal error.",
        "",
        "Examples:",
        "  ksim list",
        "  ksim run seed-hang",
        "  ksim run seed-hang --set kernel.migration_thread_stop=CPU_POST_DEAD --json",
        "  ksim stress seed-stress --seeds 1..20 --duration 12h --out runs.jsonl",
        "  ksim shrink seed-stress --seed 6 -o seed6.yaml",
        "  ksim compare released.jsonl patched.jsonl --html compare.html",
        "  ksim explore seed-hang --sweep kernel.notifier_priority.hrtimer_cpu_notify=-5..20/1 --ties",
        "",
      ].join("\n"),
    );

  program
    .command("run")
    .description("run a scenario (a file or a built-in name) and report its outcome")
    .argument("<scenario>", "a scenario file (.yaml, .yml, .json) or a built-in name (see `ksim list`)")
    .option("--seed <n>", "replace the scenario's seed", parse_seed)
    .option("--duration <d>", 'replace the scenario\'s simulated duration ("30s", "48h")')
    .option("--set <path=value>", "override a field by its dotted path (repeatable): kernel.cpus=4, tasks[0].priority=60", collect)
    .option("--json", "print the JSON report (one document) instead of the text report")
    .option("--trace <file>", "write a Chrome/Perfetto trace-event JSON (open it in ui.perfetto.dev)")
    .option("--ftrace <file>", "write the trace as kernel trace text (/sys/kernel/debug/tracing/trace)")
    .option("--html <file>", "write a self-contained HTML report: timeline, wait-for graph, hotplug log")
    .option("--max-events <n>", "stop the run after this many events (the outcome stays as found)", parse_max_events)
    .option("--max-wall <d>", 'stop the run after this much wall-clock time ("90s"; the outcome stays as found)', parse_max_wall)
    .option("--rt-app-logs <dir>", "write rt-app's per-thread logs (<log_basename>-<thread>-<n>.log) of the scenario's rt-app workloads here")
    .action((ref: string, _flags: unknown, cmd: Command) => {
      done(cmd_run(io, ref, cmd.optsWithGlobals<RunFlags>()));
    });

  program
    .command("stress")
    .description("run a scenario once per seed on worker threads, each until its duration or first hang or bug")
    .argument("<scenario>", "a scenario file or a built-in name")
    .requiredOption("--seeds <A..B>", "the seeds to run: A..B, N, or a comma list")
    .option("--duration <d>", "replace the scenario's simulated duration")
    .option("--jobs <n>", "worker threads (default: the number of cores; 0: run in this thread)", parse_jobs)
    .option("--set <path=value>", "override a field by its dotted path (repeatable)", collect)
    .option("--json", "print the campaign summary as one JSON document")
    .option("--out <file.jsonl>", "append one result line per seed as it finishes")
    .option("--resume", "skip the seeds already in --out and count their results")
    .option("--expect <outcome>", "the outcome every seed should have (default: the scenario's expect, else ok)", parse_outcome)
    .option("--html <file>", "write the campaign as a self-contained HTML page: time to hang per seed, its distribution")
    .option("--max-events <n>", "stop each seed's run after this many events", parse_max_events)
    .option("--max-wall <d>", 'stop each seed\'s run after this much wall-clock time ("90s")', parse_max_wall)
    .option("--queue <redis-url>", "run the seeds on `ksim worker` processes through Redis: redis://[:password@]HOST:PORT/DB")
    .option("--block <n>", "with --queue: seeds per job (default 1)", parse_block)
    .action((ref: string, _flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<StressFlags>();
      done(campaign_cli().then((c) => c.cmd_stress(io, ref, flags)));
    });

  program
    .command("explore")
    .description("run every combination of the choices a scenario leaves open, and every order of simultaneous events")
    .argument("<scenario>", "a scenario file or a built-in name")
    .option("--vary <path=v1,v2,...>", "a dimension: any --set path and the values it takes (repeatable)", collect)
    .option("--sweep <path=from..to/step>", "a dimension: a number or duration path over a range (repeatable): script[0].at=2.5s..3.49s/10ms", collect)
    .option("--ties", "every order of the events due at the same instant (pruned by state hashing and commutation)")
    .option("--set <path=value>", "override a field by its dotted path (repeatable)", collect)
    .option("--duration <d>", "replace the scenario's simulated duration")
    .option("--jobs <n>", "worker threads (default: the number of cores; 0: run in this thread)", parse_jobs)
    .option("--max-runs <n>", "stop after this many runs in all; the report then says complete: false", parse_max_events)
    .option("--expect <outcome>", "the outcome every run should have (default ok)", parse_outcome)
    .option("--json", "print the exploration report as one JSON document")
    .option("--html <file>", "write the space as a grid of two dimensions, outcome per cell, witnesses linked")
    .option("--grid <x,y>", "the two dimensions of the --html grid, by path or index (default: the last two)")
    .option("--witnesses <dir>", "write each outcome class's smallest witness as a scenario file that `ksim run` replays")
    .option("--out <file.jsonl>", "append one result line per combination as it finishes")
    .option("--resume", "skip the combinations already in --out and count their results")
    .option("--max-events <n>", "stop each run after this many events", parse_max_events)
    .option("--max-wall <d>", 'stop each run after this much wall-clock time ("90s")', parse_max_wall)
    .option("--queue <redis-url>", "run the combinations on `ksim worker` processes through Redis: redis://[:password@]HOST:PORT/DB")
    .option("--block <n>", "with --queue: combinations per job (default 1)", parse_block)
    .action((ref: string, _flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ExploreFlags & { debug?: boolean }>();
      done(campaign_cli().then((c) => c.cmd_explore(io, ref, flags)));
    });

  register_queue_commands(program, io, done);
  register_compare_command(program, io, done);

  program
    .command("shrink")
    .description("turn a failing seed into a small scripted scenario that fails the same way")
    .argument("<scenario>", "a scenario file or a built-in name")
    .requiredOption("--seed <n>", "the failing seed", parse_seed)
    .option("-o, --output <file>", "write the scenario here (default: stdout)")
    .option("--duration <d>", "replace the scenario's simulated duration")
    .option("--set <path=value>", "override a field by its dotted path (repeatable)", collect)
    .option("--max-runs <n>", "give up making it smaller after this many trial runs (default 1000)", parse_seed)
    .action((ref: string, _flags: unknown, cmd: Command) => {
      const flags = cmd.optsWithGlobals<ShrinkFlags>();
      done(campaign_cli().then((c) => c.cmd_shrink(io, ref, flags)));
    });

  program
    .command("list")
    .description("list the built-in scenarios, one line each")
    .action(() => done(cmd_list(io)));

  program
    .command("schema")
    .description("print the JSON Schema of scenario files")
    .action(() => done(cmd_schema(io)));

  return program;
}

/**
 * Runs the ksim command line; calls io.exit once with the status and returns
 * it (a promise for commands that run on worker threads, such as stress).
 */
export function main(argv: readonly string[], io: CliIo): number | Promise<number> {
  const box: { code: number | Promise<number> | null } = { code: null };
  const debug = argv.includes("--debug");
  try {
    build_program(io, (c) => {
      box.code = c;
    }).parse([...argv], { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) box.code = e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    else box.code = fail(io, e, debug);
  }
  const code = box.code ?? ExitCode.OK;
  if (typeof code === "number") {
    io.exit(code);
    return code;
  }
  return code.then(
    (c: number) => {
      io.exit(c);
      return c;
    },
    (e: unknown) => {
      const c = fail(io, e, debug);
      io.exit(c);
      return c;
    },
  );
}

function invoked_directly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs `ksim` on this process's arguments and streams (the bin's entry). */
export function run_cli(): void {
  // `ksim list | head -1` closes the pipe early; that is not an error.
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(ExitCode.OK);
    throw e;
  });
  void main(process.argv.slice(2), {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    // exitCode, not exit(): a large report on a pipe must drain first.
    exit: (code) => {
      process.exitCode = code;
    },
  });
}

if (invoked_directly()) run_cli();
