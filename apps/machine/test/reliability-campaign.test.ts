/**
 * Campaign safety: `--out` grows one whole JSON line per finished seed; a
 * campaign killed with SIGKILL and resumed with `--resume` ends with exactly
 * the results of an uninterrupted one; a seed whose run throws is reported
 * as outcome "error" with its message and the campaign goes on.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { load_scenario } from "@ksim/scenario";
import { read_results } from "@ksim/campaign";
import { run_campaign } from "../src/campaigns.js";
import type { CampaignSummary, SeedResult } from "@ksim/campaign";
import { CLI, ensure_built } from "./reliability-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-campaign-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => ensure_built(), 180_000);

const PATCH = "kernel.migration_thread_stop=CPU_POST_DEAD";
const strip = (rs: readonly SeedResult[]) => rs.map(({ wall_ms: _w, ...r }) => r);

function lines_of(file: string): string[] {
  return existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l !== "") : [];
}

/** Resolves once `file` holds at least `n` lines (polling), or rejects after `ms`. */
async function wait_for_lines(file: string, n: number, ms: number): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    const have = lines_of(file).length;
    if (have >= n) return have;
    if (Date.now() - t0 > ms) throw new Error(`only ${have} lines in ${file} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a campaign killed with SIGKILL", () => {
  it("keeps every finished seed as a whole line, and --resume ends with exactly the uninterrupted results", async () => {
    const seeds = "1..10";
    const args = ["stress", "seed-stress", "--set", PATCH, "--duration", "20m", "--seeds", seeds, "--jobs", "1"];
    const whole_out = join(dir, "whole.jsonl");
    const whole = spawnSync(process.execPath, [CLI, ...args, "--out", whole_out, "--json"], { encoding: "utf8", timeout: 120_000 });
    expect(whole.status).toBe(0);
    const want = JSON.parse(whole.stdout) as CampaignSummary;
    expect(want.runs).toBe(10);

    const out = join(dir, "killed.jsonl");
    const child = spawn(process.execPath, [CLI, ...args, "--out", out, "--json"], { stdio: "ignore" });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    await wait_for_lines(out, 3, 60_000);
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const kept = lines_of(out);
    expect(kept.length).toBeGreaterThanOrEqual(3);
    expect(kept.length).toBeLessThan(10);
    // Every line is one whole result, and it is the result the uninterrupted run found.
    const by_seed = new Map(want.results.map((r) => [r.seed, r]));
    for (const line of kept) {
      const r = JSON.parse(line) as SeedResult;
      expect(strip([r])).toEqual(strip([by_seed.get(r.seed)!]));
    }

    const resumed = spawnSync(process.execPath, [CLI, ...args, "--out", out, "--resume", "--json"], { encoding: "utf8", timeout: 120_000 });
    expect(resumed.status).toBe(0);
    const got = JSON.parse(resumed.stdout) as CampaignSummary;
    expect(strip(got.results)).toEqual(strip(want.results));
    expect([got.runs, got.ok, got.hang, got.bug, got.error]).toEqual([want.runs, want.ok, want.hang, want.bug, want.error]);
    // The file now holds each seed once: what was kept, then the rest.
    expect(lines_of(out)).toHaveLength(10);
    expect(strip([...read_results(out).values()].sort((a, b) => a.seed - b.seed))).toEqual(strip(want.results));
  });
});

describe("a seed whose run throws", () => {
  const spec = load_scenario("seed-stress", { sets: [PATCH], duration: "5m" }).spec;
  const seeds = [1, 2, 3, 4, 5];

  async function with_throwing_seeds<T>(list: string, f: () => Promise<T>): Promise<T> {
    process.env["KSIM_TEST_THROW_SEED"] = list;
    try {
      return await f();
    } finally {
      delete process.env["KSIM_TEST_THROW_SEED"];
    }
  }

  it.each([0, 2])("with --jobs %i: is reported as outcome error with its message; the other seeds finish", async (jobs) => {
    const clean = await run_campaign({ spec, seeds, jobs: 0, expected: "ok" });
    const out = join(dir, `throw-${jobs}.jsonl`);
    const got = await with_throwing_seeds("3", () => run_campaign({ spec, seeds, jobs, expected: "ok", out }));
    expect(got.runs).toBe(5);
    expect([got.ok, got.error]).toEqual([4, 1]);
    const bad = got.results.find((r) => r.seed === 3)!;
    expect(bad).toMatchObject({ outcome: "error", error: "KSIM_TEST_THROW_SEED: test hook threw on seed 3", simulated_ns: 0, events: 0 });
    expect(strip(got.results.filter((r) => r.seed !== 3))).toEqual(strip(clean.results.filter((r) => r.seed !== 3)));
    // The error is in the campaign file too, so it is not lost either.
    expect(read_results(out).get(3)?.outcome).toBe("error");
  });

  it("ksim stress exits 1 and names the seed, its error, and the command that replays it", async () => {
    let stdout = "";
    const code = await with_throwing_seeds("2,4", async () =>
      main(["stress", "seed-stress", "--set", PATCH, "--duration", "5m", "--seeds", "1..4", "--jobs", "2"], {
        stdout: (s) => void (stdout += s),
        stderr: () => {},
        exit: () => {},
      }),
    );
    expect(code).toBe(1);
    expect(stdout).toMatch(/^seed-stress: 4 runs: 2 ok, 0 hang, 0 bug, 2 error \(expected: ok\)$/m);
    expect(stdout).toMatch(/seed +2 +error: KSIM_TEST_THROW_SEED: test hook threw on seed 2\n +ksim run seed-stress --seed 2 --duration 5m --set kernel\.migration_thread_stop=CPU_POST_DEAD/);
    expect(stdout).toMatch(/seed +4 +error: KSIM_TEST_THROW_SEED: test hook threw on seed 4/);
  });

  it("a job the worker pool cannot even take (it cannot be sent to a thread) is an error per seed, not a crash", async () => {
    // A function cannot cross to a worker thread: every pool.run() rejects.
    const bad_spec = { ...spec, name: "unsendable", poison: () => 0 } as unknown as typeof spec;
    const got = await run_campaign({ spec: bad_spec, seeds: [1, 2], jobs: 1, expected: "ok" });
    expect(got.results.map((r) => r.outcome)).toEqual(["error", "error"]);
    expect(got.results[0]!.error).toMatch(/could not be cloned/);
  });
});
