/**
 * Determinism: one scenario and seed give one report (wall time aside) and
 * one trace, byte for byte, whether run twice in this process, in two fresh
 * node processes through the CLI, or on worker threads.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { TraceRecord } from "@ksim/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run_scenario } from "../src/runner.js";
import type { RunResult } from "@ksim/report";
import { load_scenario } from "@ksim/scenario";
import { run_campaign } from "../src/campaigns.js";
import type { SeedResult } from "@ksim/campaign";
import { CLI, ensure_built } from "./reliability-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-determinism-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeAll(() => ensure_built(), 180_000);

const PATCH = "kernel.migration_thread_stop=CPU_POST_DEAD";

/** The scenarios sampled: every built-in, seed-stress as released and patched, short. */
const SAMPLE: { name: string; ref: string; sets: string[]; duration: string; seeds: number[] }[] = [
  { name: "seed-hang", ref: "seed-hang", sets: [], duration: "200s", seeds: [1, 7] },
  { name: "seed-fix-post-dead", ref: "seed-fix-post-dead", sets: [], duration: "60s", seeds: [1, 2] },
  { name: "seed-fix-hrtimer-priority", ref: "seed-fix-hrtimer-priority", sets: [], duration: "60s", seeds: [3] },
  { name: "seed-stress", ref: "seed-stress", sets: [], duration: "15m", seeds: [2, 6] },
  { name: "seed-stress patched", ref: "seed-stress", sets: [PATCH], duration: "15m", seeds: [1, 4] },
];

/** A report without its wall time, the one field allowed to differ. */
function stable(r: RunResult | Record<string, unknown>): Record<string, unknown> {
  const { wall_ms: _w, ...rest } = r as Record<string, unknown>;
  return rest;
}

/** sha256 of every trace record, in order, as JSON. */
function traced_run(ref: string, sets: string[], duration: string, seed: number): { report: RunResult; trace: string; records: number } {
  const spec = load_scenario(ref, { sets, duration, seed }).spec;
  const h = createHash("sha256");
  let records = 0;
  const report = run_scenario(spec, {
    trace: [
      {
        write(rec: TraceRecord) {
          h.update(JSON.stringify(rec));
          h.update("\n");
          records++;
        },
      },
    ],
  });
  return { report, trace: h.digest("hex"), records };
}

describe("determinism in one process", () => {
  for (const s of SAMPLE) {
    it(`${s.name}: the same seed twice gives the same report and trace${s.ref === "seed-stress" ? "; another seed another trace" : ""}`, () => {
      const seen = new Set<string>();
      for (const seed of s.seeds) {
        const a = traced_run(s.ref, s.sets, s.duration, seed);
        const b = traced_run(s.ref, s.sets, s.duration, seed);
        expect(a.records).toBeGreaterThan(90);
        expect(b.trace).toBe(a.trace);
        expect(stable(b.report)).toEqual(stable(a.report));
        // A report without tracing is the same report: the sinks only watch.
        const bare = run_scenario(load_scenario(s.ref, { sets: s.sets, duration: s.duration, seed }).spec);
        expect(stable(bare)).toEqual(stable(a.report));
        seen.add(a.trace);
      }
      // The seed matters where the scenario has randomness (stress, jitter).
      if (s.ref === "seed-stress") expect(seen.size).toBe(s.seeds.length);
    });
  }
});

describe("determinism across processes (node dist/cli.js)", () => {
  function cli_run(ref: string, sets: string[], duration: string, seed: number, tag: string) {
    const ftrace = join(dir, `${tag}.txt`);
    const perfetto = join(dir, `${tag}.json`);
    const args = [CLI, "run", ref, "--seed", String(seed), "--duration", duration, "--json"];
    for (const set of sets) args.push("--set", set);
    args.push("--ftrace", ftrace, "--trace", perfetto);
    const r = spawnSync(process.execPath, args, { encoding: "utf8", cwd: dir, timeout: 60_000 });
    expect(r.stderr).toBe("");
    expect([0, 1]).toContain(r.status);
    return { report: JSON.parse(r.stdout) as Record<string, unknown>, ftrace: readFileSync(ftrace), perfetto: readFileSync(perfetto) };
  }

  it.each([
    ["seed-hang", [] as string[], "200s", 1],
    ["seed-stress", [PATCH], "10m", 4],
    ["seed-stress", [] as string[], "10m", 6],
  ])("%s %j for %s, seed %i: two processes write the same report and the same ftrace and Perfetto files, byte for byte", (ref, sets, duration, seed) => {
    const a = cli_run(ref, sets, duration, seed, `${ref}-${seed}-a`);
    const b = cli_run(ref, sets, duration, seed, `${ref}-${seed}-b`);
    expect(stable(b.report)).toEqual(stable(a.report));
    expect(a.ftrace.length).toBeGreaterThan(10_000);
    expect(b.ftrace.equals(a.ftrace)).toBe(true);
    expect(b.perfetto.equals(a.perfetto)).toBe(true);
    // And the same as this process (sources through vitest, not dist).
    const here = traced_run(ref, sets, duration, seed);
    expect(stable(here.report)).toEqual(stable(a.report));
  });
});

describe("determinism in worker threads", () => {
  const strip = (rs: SeedResult[]) => rs.map(({ wall_ms: _w, ...r }) => r);

  it.each([
    ["seed-fix-post-dead", [] as string[], "60s", [1, 2, 3, 4]],
    ["seed-stress", [PATCH], "10m", [1, 2, 3, 4, 5]],
  ])("ksim stress %s %j: jobs 2 and jobs 0 give the same result for every seed", async (ref, sets, duration, seeds) => {
    const spec = load_scenario(ref, { sets, duration }).spec;
    const here = await run_campaign({ spec, seeds, jobs: 0, expected: "ok" });
    const pool = await run_campaign({ spec, seeds, jobs: 2, expected: "ok" });
    expect(strip(pool.results)).toEqual(strip(here.results));
    expect(here.results.map((r) => r.outcome)).toEqual(seeds.map(() => "ok"));
    expect(new Set(here.results.map((r) => r.events)).size).toBe(ref === "seed-stress" ? seeds.length : 1);
  });

  it("a worker thread running the built machine gives the same trace hash and report as this thread", async () => {
    const url = (p: string) => new URL(`../dist/${p}`, import.meta.url).href;
    expect(existsSync(fileURLToPath(url("machine.js")))).toBe(true);
    // CommonJS eval worker that imports the ESM build and hashes every record.
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const { createHash } = require("node:crypto");
      (async () => {
        const { load_scenario } = await import(workerData.load);
        const { run_scenario } = await import(workerData.machine);
        const spec = load_scenario(workerData.ref, { sets: workerData.sets, duration: workerData.duration, seed: workerData.seed }).spec;
        const h = createHash("sha256");
        let records = 0;
        const report = run_scenario(spec, { trace: [{ write(rec) { h.update(JSON.stringify(rec)); h.update("\\n"); records++; } }] });
        parentPort.postMessage({ report, trace: h.digest("hex"), records });
      })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const job = { ref: "seed-stress", sets: [PATCH], duration: "10m", seed: 5 };
    const from_worker = await new Promise<{ report: RunResult; trace: string; records: number; error?: string }>((resolve, reject) => {
      const w = new Worker(code, {
        eval: true,
        // Not the test runner's "source" condition: the worker runs dist.
        execArgv: [],
        workerData: { ...job, load: url("index.js"), machine: url("index.js") },
      });
      w.once("message", (m: { report: RunResult; trace: string; records: number }) => {
        resolve(m);
        void w.terminate();
      });
      w.once("error", reject);
    });
    expect(from_worker.error).toBeUndefined();
    const here = traced_run(job.ref, job.sets, job.duration, job.seed);
    expect(from_worker.records).toBe(here.records);
    expect(from_worker.trace).toBe(here.trace);
    expect(stable(from_worker.report)).toEqual(stable(here.report));
  });
});
