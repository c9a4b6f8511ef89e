/**
 * `ksim compare A.jsonl B.jsonl [--json] [--html FILE]` (CONTRACT.md §5): two
 * campaigns' `ksim stress --out` files, their time to hang as Kaplan–Meier
 * curves, medians, hang fractions and the log-rank test. Exit status: 0 when
 * the comparison was made (whatever it found), 2 for bad input (a file that
 * cannot be read, a line that is not a seed's result: one line naming the
 * file and the line), 70 for an internal error.
 */
import { writeFileSync } from "node:fs";
import type { Command } from "commander";
import type { CampaignResults } from "@ksim/campaign";
import { ExitCode, format_compare_text, render_compare_html } from "@ksim/report";
import { fail } from "../cli_common.js";
import type { CliIo } from "../cli_io.js";
import { VERSION } from "../version.js";


interface CompareFlags {
  json?: boolean;
  html?: string;
  debug?: boolean;
}

async function cmd_compare(io: CliIo, file_a: string, file_b: string, flags: CompareFlags): Promise<number> {
  // The campaign library (and its statistics) loads only for this command.
  const { compare_campaigns, read_results_file, ResultsFileError } = await import("@ksim/campaign");
  const read_side = (file: string): CampaignResults => ({
    file,
    results: read_results_file(file, (line) => io.stderr(`ksim: ${file}:${line}: skipped an unterminated last line (an interrupted write)\n`)),
  });
  try {
    const report = compare_campaigns(VERSION, read_side(file_a), read_side(file_b));
    if (flags.html !== undefined) {
      try {
        writeFileSync(flags.html, render_compare_html(report));
      } catch (e) {
        throw new ResultsFileError(`--html: cannot write ${flags.html}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    io.stdout(flags.json ? `${JSON.stringify(report)}\n` : format_compare_text(report));
    return ExitCode.OK;
  } catch (e) {
    return fail(io, e, flags.debug === true, { usage: [ResultsFileError] });
  }
}

/** Adds `ksim compare` to the program. */
export function register_compare_command(program: Command, io: CliIo, done: (code: number | Promise<number>) => void): void {
  program
    .command("compare")
    .description("compare two campaigns' time to hang: Kaplan–Meier curves, medians, hang fractions, log-rank test")
    .argument("<a.jsonl>", "the first campaign's results (ksim stress --out)")
    .argument("<b.jsonl>", "the second campaign's results")
    .option("--json", "print the comparison as one JSON document")
    .option("--html <file>", "write the two survival curves as a self-contained HTML page")
    .action((a: string, b: string, _flags: unknown, cmd: Command) => {
      done(cmd_compare(io, a, b, cmd.optsWithGlobals<CompareFlags>()));
    });
}
