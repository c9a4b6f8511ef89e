/**
 * What `ksim stress`, `ksim explore` and `ksim shrink` do: the commands that run
 * many scenarios, on worker threads or a queue. The command line imports this
 * file only when one of them runs, so `ksim run` loads neither the campaign
 * library nor its worker pool.
 */
import { existsSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { stringify as yaml_stringify } from "yaml";
import { campaign_passed, NothingToShrink, parse_seed_range, QueueUnreachable, QueueUsageError, SpaceError } from "@ksim/campaign";
import { ExitCode, format_campaign_text, render_campaign_html } from "@ksim/report";
import { load_scenario, one_line, ScenarioError, type Outcome } from "@ksim/scenario";
import { run_campaign, shrink } from "./campaigns.js";
import { fail, replay_command, run_limits, warn_ignored } from "./cli_common.js";
import type { CliIo } from "./cli_io.js";
import { explore_command, prepare_explore, type ExploreFlags } from "./explore_cli.js";
import { run_queued_stress } from "./queue/commands.js";

export type { ExploreFlags } from "./explore_cli.js";

export interface StressFlags {
  seeds: string;
  queue?: string;
  block?: number;
  html?: string;
  duration?: string;
  jobs?: number;
  set?: string[];
  json?: boolean;
  out?: string;
  resume?: boolean;
  expect?: Outcome;
  maxEvents?: number;
  maxWall?: number;
  debug?: boolean;
}

export async function cmd_stress(io: CliIo, ref: string, flags: StressFlags): Promise<number> {
  const debug = flags.debug === true;
  let spec;
  let seeds: number[];
  try {
    seeds = parse_seed_range(flags.seeds);
    const opts: { sets: string[]; duration?: string } = { sets: flags.set ?? [] };
    if (flags.duration !== undefined) opts.duration = flags.duration;
    spec = load_scenario(ref, opts).spec;
    warn_ignored(io, spec);
    if (flags.resume && !flags.out) throw new ScenarioError("--resume", "", "needs --out FILE.jsonl to resume from");
    if (flags.html) {
      try {
        writeFileSync(flags.html, "");
      } catch (e) {
        throw new ScenarioError("--html", "", `cannot write ${flags.html}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (flags.out && existsSync(flags.out) && !flags.resume) {
      throw new ScenarioError(flags.out, "", "already exists: add --resume to continue that campaign, or choose another --out");
    }
  } catch (e) {
    if (e instanceof RangeError) {
      io.stderr(`ksim: --seeds: ${e.message}\n`);
      return ExitCode.USAGE;
    }
    return fail(io, e, debug);
  }
  if (flags.queue !== undefined) return run_queued_stress(io, ref, spec, seeds, flags.queue, flags);
  const controller = new AbortController();
  const on_sigint = (): void => {
    io.stderr("\nksim: interrupted; finished seeds are kept\n");
    controller.abort();
  };
  process.once("SIGINT", on_sigint);
  try {
    const summary = await run_campaign({
      spec,
      seeds,
      jobs: flags.jobs ?? availableParallelism(),
      expected: flags.expect ?? spec.expect?.outcome ?? "ok",
      ...(flags.out ? { out: flags.out } : {}),
      ...(flags.resume ? { resume: true } : {}),
      ...(process.stderr.isTTY ? { progress: process.stderr } : {}),
      signal: controller.signal,
      ...run_limits(flags),
    });
    if (flags.html) writeFileSync(flags.html, render_campaign_html(summary));
    if (flags.json) io.stdout(`${JSON.stringify(summary)}\n`);
    else io.stdout(format_campaign_text(summary, (seed) => replay_command({ ref, sets: flags.set ?? [], ...(flags.duration !== undefined ? { duration: flags.duration } : {}) }, seed)));
    if (controller.signal.aborted) return 130;
    return campaign_passed(summary) && summary.runs === seeds.length ? ExitCode.OK : ExitCode.UNEXPECTED;
  } catch (e) {
    return fail(io, e, debug);
  } finally {
    process.removeListener("SIGINT", on_sigint);
  }
}

export async function cmd_explore(io: CliIo, ref: string, flags: ExploreFlags & { debug?: boolean }): Promise<number> {
  const debug = flags.debug === true;
  let prepared;
  try {
    prepared = prepare_explore(ref, flags);
    warn_ignored(io, prepared.loaded.spec);
    if (flags.html) writeFileSync(flags.html, "");
  } catch (e) {
    if (e instanceof SpaceError || e instanceof QueueUsageError) {
      io.stderr(`ksim: ${one_line(e.message)}\n`);
      return ExitCode.USAGE;
    }
    if (e instanceof Error && "code" in e && !(e instanceof ScenarioError)) {
      io.stderr(`ksim: --html: cannot write ${flags.html}: ${e.message}\n`);
      return ExitCode.USAGE;
    }
    return fail(io, e, debug);
  }
  const controller = new AbortController();
  const on_sigint = (): void => {
    io.stderr("\nksim: interrupted; finished combinations are kept\n");
    controller.abort();
  };
  process.once("SIGINT", on_sigint);
  try {
    return await explore_command(io, ref, prepared, flags, controller.signal);
  } catch (e) {
    if (e instanceof QueueUnreachable) {
      io.stderr(`ksim: ${one_line(e.message)}\n`);
      return ExitCode.USAGE;
    }
    return fail(io, e, debug);
  } finally {
    process.removeListener("SIGINT", on_sigint);
  }
}

export interface ShrinkFlags {
  seed: number;
  output?: string;
  duration?: string;
  set?: string[];
  maxRuns?: number;
  debug?: boolean;
}

export function cmd_shrink(io: CliIo, ref: string, flags: ShrinkFlags): number {
  const debug = flags.debug === true;
  let spec;
  try {
    const opts: { sets: string[]; duration?: string } = { sets: flags.set ?? [] };
    if (flags.duration !== undefined) opts.duration = flags.duration;
    spec = load_scenario(ref, opts).spec;
  } catch (e) {
    return fail(io, e, debug);
  }
  warn_ignored(io, spec);
  try {
    const r = shrink(spec, flags.seed, {
      ...(flags.maxRuns !== undefined ? { max_runs: flags.maxRuns } : {}),
      log: (line) => io.stderr(`ksim shrink: ${line}\n`),
    });
    const header = [
      `# ${r.signature}`,
      `# Shrunk by \`ksim shrink ${ref} --seed ${flags.seed}\` in ${r.runs} runs: ` +
        `${r.before.ops} -> ${r.after.ops} operations, ${r.before.tasks} -> ${r.after.tasks} tasks, ${r.before.cpus} -> ${r.after.cpus} CPUs.`,
      "",
    ].join("\n");
    const text = `${header}${yaml_stringify(r.scenario, { lineWidth: 0, flowCollectionPadding: false })}`;
    if (flags.output) {
      writeFileSync(flags.output, text);
      io.stderr(`ksim shrink: wrote ${flags.output}; run it with: ksim run ${flags.output}\n`);
    } else io.stdout(text);
    return ExitCode.OK;
  } catch (e) {
    if (e instanceof NothingToShrink) {
      io.stderr(`ksim: ${e.message}\n`);
      return ExitCode.UNEXPECTED;
    }
    return fail(io, e, debug);
  }
}
