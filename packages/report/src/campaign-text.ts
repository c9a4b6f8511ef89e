/**
 * `ksim stress`'s text summary of a campaign (the HTML page is campaign-html.ts):
 * counts, time to hang, speed, and the seeds that did not end as expected.
 */
import type { CampaignSummary } from "./campaign-html.js";

const hours = (ns: number): string => `${(ns / 3.6e12).toFixed(2)} h`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The summary table of a campaign, with the command that replays each failure. */
export function format_campaign_text(s: CampaignSummary, replay: (seed: number) => string): string {
  const expected = s.expected ?? "ok";
  const lines: string[] = [];
  lines.push(`${s.scenario}: ${s.runs} runs: ${s.ok} ok, ${s.hang} hang, ${s.bug} bug${s.error ? `, ${s.error} error` : ""} (expected: ${expected})`);
  const hang_times = s.results.filter((r) => r.detected_at_ns !== null).map((r) => r.detected_at_ns!);
  if (hang_times.length > 0) {
    lines.push(
      `time to hang: min ${hours(Math.min(...hang_times))}, median ${hours(median(hang_times))}, max ${hours(Math.max(...hang_times))}`,
    );
  }
  const secs = s.wall_ms / 1000;
  lines.push(
    `simulated ${hours(s.simulated_ns)} in ${secs.toFixed(1)} s wall: ${(s.simulated_ns / 3.6e12 / Math.max(secs, 1e-3)).toFixed(1)} simulated hours per second, ${((s.events / Math.max(secs, 1e-3)) / 1e6).toFixed(2)} M events/s`,
  );
  const bad = s.results.filter((r) => r.outcome !== expected);
  if (bad.length > 0) {
    lines.push("");
    lines.push(`seeds that did not end ${expected} (replay any of them exactly):`);
    for (const r of bad) {
      const what =
        r.outcome === "hang"
          ? `hang at ${hours(r.detected_at_ns ?? r.simulated_ns)}${r.cycle ? `: ${r.cycle.join(" -> ")}` : ""}`
          : r.outcome === "bug"
            ? `bug at ${hours(r.simulated_ns)}: ${r.bug ?? ""}`
            : r.outcome === "error"
              ? `error: ${r.error ?? ""}`
              : `${r.outcome} after ${hours(r.simulated_ns)}`;
      lines.push(`  seed ${String(r.seed).padStart(4)}  ${what}`);
      lines.push(`             ${replay(r.seed)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
