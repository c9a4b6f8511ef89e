/**
 * Distributed campaigns on a real redis-server (started here on a loopback
 * port, installed with apt-get when missing) with `ksim worker` processes
 * spawned from the built CLI. Run `pnpm --filter @ksim/machine build` first
 * (turbo's test task does).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Job, Queue } from "bullmq";
import { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../src/cli.js";
import { open_link, parse_seed_range, parse_vary, queue_name, read_results } from "@ksim/campaign";
import { run_campaign, run_explore, run_queued_campaign } from "../src/campaigns.js";
import { VERSION } from "../src/version.js";
import { register_queue_commands, run_queued_stress } from "../src/queue/cli.js";
import { load_scenario, vary_scenario } from "@ksim/scenario";
import type { SeedResult } from "@ksim/campaign";

const CLI = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const PASSWORD = "s3cret-Pa55";
/** Everything but wall time, which is the one thing allowed to differ. */
const strip = (rs: readonly SeedResult[]) => [...rs].sort((a, b) => a.seed - b.seed).map(({ wall_ms: _w, ...r }) => r);

function free_port(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? resolve(a.port) : reject(new Error("no port"))));
    });
  });
}

/** Debian's redis-server; installed here when missing (CI machines get only the repo's own install steps). */
function ensure_redis_server(): void {
  if (spawnSync("sh", ["-c", "command -v redis-server"]).status === 0) return;
  const root = process.getuid?.() === 0;
  if (root && spawnSync("sh", ["-c", "command -v apt-get"]).status === 0) {
    const r = spawnSync("sh", ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server"], {
      stdio: "inherit",
      timeout: 300_000,
    });
    if (r.status === 0) return;
  }
  throw new Error("redis-server is not installed and could not be installed: apt-get install -y redis-server");
}

interface Redis {
  url: string;
  port: number;
  stop(): Promise<void>;
}

async function start_redis(dir: string, password: string): Promise<Redis> {
  const port = await free_port();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, "--requirepass", password];
  const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${log}`)), 20_000);
    proc.stdout.on("data", (d: Buffer) => {
      log += d.toString();
      if (log.includes("Ready to accept connections")) {
        clearTimeout(timer);
        resolve();
      }
    });
    proc.once("exit", (c) => reject(new Error(`redis-server exited (${c}):\n${log}`)));
  });
  return {
    port,
    url: `redis://:${encodeURIComponent(password)}@127.0.0.1:${port}/0`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

interface WorkerProc {
  name: string;
  proc: ChildProcess;
  log: () => string;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawn_worker(url: string, name: string, extra: string[] = []): WorkerProc {
  // The URL (and its password) goes by environment, as in the deploy/ examples.
  const proc = spawn(process.execPath, [CLI, "worker", "--jobs", "1", "--name", name, "--lock-duration", "2000", "--stalled-interval", "1000", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KSIM_QUEUE: url },
  });
  let text = "";
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker ${name} did not start:\n${text}`)), 30_000);
    proc.stderr.on("data", (d: Buffer) => {
      text += d.toString();
      if (text.includes("taking jobs")) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  proc.stdout.on("data", (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once("exit", (code, signal) => resolve({ code, signal })));
  return { name, proc, log: () => text, ready, exited };
}

/** The ids of the active jobs `worker` holds. */
async function held_by(queue: Queue, worker: string): Promise<string[]> {
  return (await queue.getActive()).filter((j) => j.processedBy === worker && j.id !== undefined).map((j) => j.id!);
}

/**
 * Freezes `w` (SIGSTOP) while it holds a job and returns that job's id, so that
 * a kill after it lands mid-job however fast jobs run: a stopped worker can
 * neither finish the job nor renew its lock. Stopped between jobs, it goes on.
 */
async function freeze_holding(queue: Queue, w: WorkerProc): Promise<string> {
  for (;;) {
    if ((await held_by(queue, w.name)).length > 0) {
      w.proc.kill("SIGSTOP");
      // Let a completion already on its way to Redis land before looking again.
      const before = await held_by(queue, w.name);
      await new Promise((r) => setTimeout(r, 100));
      const after = await held_by(queue, w.name);
      const id = after.find((j) => before.includes(j));
      if (id !== undefined) return id;
      w.proc.kill("SIGCONT");
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function make_io() {
  const io = { out: "", err: "", code: -1 };
  const cli: CliIo = {
    stdout: (s) => void (io.out += s),
    stderr: (s) => void (io.err += s),
    exit: (c) => void (io.code = c),
  };
  return { io, cli };
}

/** `ksim <args>` for the queue commands, through a small commander program as cli.ts builds it. */
async function ksim(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { io, cli } = make_io();
  const program = new Command("ksim").exitOverride().option("--debug");
  const box: { result: number | Promise<number> } = { result: -1 };
  register_queue_commands(program, cli, (c) => {
    box.result = c;
  });
  program.parse(args, { from: "user" });
  const code = await box.result;
  return { code, out: io.out, err: io.err };
}

describe("Redis unreachable", () => {
  it("gives one line naming the server (password masked) and exit status 2, after a few attempts", async () => {
    const port = await free_port();
    const url = `redis://:${PASSWORD}@127.0.0.1:${port}/0`;
    const status = await ksim(["campaign", "status", "abc123", "--queue", url]);
    expect(status.code).toBe(2);
    expect(status.err).toBe(`ksim: cannot reach Redis at redis://:***@127.0.0.1:${port}/0: connect ECONNREFUSED 127.0.0.1:${port} (gave up after 3 attempts)\n`);
    const worker = await ksim(["worker", "--queue", url, "--jobs", "1"]);
    expect([worker.code, worker.err.split("\n").length, worker.err.includes("***")]).toEqual([2, 2, true]);
    const { io, cli } = make_io();
    const spec = load_scenario("seed-hang", {}).spec;
    const code = await run_queued_stress(cli, "seed-hang", spec, [1, 2], url, {});
    expect([code, io.out]).toEqual([2, ""]);
    expect(io.err).toMatch(/^ksim: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0: .*\n$/);
    for (const text of [status.err, worker.err, io.err]) expect(text).not.toContain(PASSWORD);
  });
});

describe("distributed campaigns on redis-server", () => {
  let dir = "";
  let redis: Redis | null = null;
  const workers: WorkerProc[] = [];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm --filter @ksim/machine build first`);
    ensure_redis_server();
    dir = mkdtempSync(join(tmpdir(), "ksim-queue-"));
    redis = await start_redis(dir, PASSWORD);
  }, 320_000);

  afterAll(async () => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill("SIGKILL");
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("40 seeds on 3 worker processes, one killed halfway, give exactly the local results", async () => {
    const url = redis!.url;
    const spec = load_scenario("seed-stress", { duration: "10m" }).spec;
    const seeds = parse_seed_range("1..40");
    const started = ["w1", "w2", "w3"].map((n) => spawn_worker(url, n));
    workers.push(...started);
    await Promise.all(started.map((w) => w.ready));

    const link = open_link(url);
    const queue = new Queue(queue_name(VERSION), { connection: link.connection });
    const out = join(dir, "runs.jsonl");
    let collected = 0;
    let killed: Promise<string> | null = null;
    const [local, remote] = await Promise.all([
      run_campaign({ spec, seeds, jobs: 1, expected: "ok" }),
      run_queued_campaign({
        url,
        spec,
        seeds,
        expected: "ok",
        replay: { ref: "seed-stress", sets: [], duration: "10m" },
        out,
        on_result: () => {
          if (++collected === 20) {
            killed = freeze_holding(queue, started[1]!).then((id) => {
              started[1]!.proc.kill("SIGKILL");
              return id;
            });
          }
        },
      }),
    ]);
    expect(killed).not.toBeNull();
    const killed_job = await killed!;
    expect(await started[1]!.exited).toEqual({ code: null, signal: "SIGKILL" });

    // The same results as a local run: each seed once, nothing lost.
    expect(remote.complete).toBe(true);
    expect(strip(remote.summary.results)).toEqual(strip(local.results));
    expect([remote.summary.runs, remote.summary.ok, remote.summary.hang, remote.summary.bug, remote.summary.error]).toEqual([
      40,
      local.ok,
      local.hang,
      local.bug,
      0,
    ]);
    expect(local.hang).toBeGreaterThan(0);
    expect(local.ok).toBeGreaterThan(0);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines).toHaveLength(40);
    expect(strip([...read_results(out).values()])).toEqual(strip(local.results));

    // The killed worker's job went back on the queue and another worker finished it.
    const job = await Job.fromId(queue, killed_job);
    expect(job?.stalledCounter).toBeGreaterThanOrEqual(1);
    expect(["w1", "w3"]).toContain(job?.processedBy);
    expect(job?.finishedOn).toBeGreaterThan(0);

    // Later, from anywhere, by the campaign's id.
    const id = remote.campaign!;
    const status = await ksim(["campaign", "status", id, "--queue", url, "--json"]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.out)).toMatchObject({ campaign: id, scenario: "seed-stress", runs: 40, done: 40, complete: true, running_jobs: 0, waiting_jobs: 0, workers: 2 });
    const collect = await ksim(["campaign", "collect", id, "--queue", url, "--json", "--out", join(dir, "again.jsonl")]);
    expect(collect.code).toBe(1); // some seeds hang: not the expected "ok"
    const again = JSON.parse(collect.out) as { campaign: string; runs: number; results: SeedResult[] };
    expect([again.campaign, again.runs]).toEqual([id, 40]);
    expect(strip(again.results)).toEqual(strip(local.results));
    expect(read_results(join(dir, "again.jsonl")).size).toBe(40);
    const text = await ksim(["campaign", "status", id, "--queue", url]);
    expect(text.out).toContain(`done 40/40: ${local.ok} ok, ${local.hang} hang, 0 bug, 0 error`);
    expect(text.out).toContain("redis://:***@127.0.0.1");
    for (const t of [status, collect, text]) expect(t.out + t.err).not.toContain(PASSWORD);
    for (const w of started) expect(w.log()).not.toContain(PASSWORD);

    // SIGTERM: a worker finishes what it runs and exits 0.
    started[0]!.proc.kill("SIGTERM");
    started[2]!.proc.kill("SIGTERM");
    expect((await started[0]!.exited).code).toBe(0);
    expect((await started[2]!.exited).code).toBe(0);
    await queue.close();
  });

  it("a job that fails reports its error as each of its seeds' outcome error", async () => {
    const url = redis!.url;
    const spec = load_scenario("seed-stress", { duration: "10m" }).spec;
    const a = spawn_worker(url, "wa");
    workers.push(a);
    await a.ready;
    const link = open_link(url);
    const queue = new Queue(queue_name(VERSION), { connection: link.connection });
    const { io, cli } = make_io();
    // Two seeds per job: wa is killed holding a job (the first, unless it has
    // already finished it); wb, which lets no job survive a dead worker, fails
    // that job and runs the other.
    const stress = run_queued_stress(cli, "seed-stress", spec, [1, 2, 3, 4], url, { block: 2, duration: "10m" });
    const id = await freeze_holding(queue, a);
    a.proc.kill("SIGKILL");
    const b = spawn_worker(url, "wb", ["--max-stalled", "0"]);
    workers.push(b);
    const code = await stress;
    expect(code).toBe(1);
    expect(id).toMatch(/-[01]$/);
    const failed = id.endsWith("-0") ? [1, 2] : [3, 4];
    const lines = io.out.split("\n");
    expect(lines[0]).toBe("seed-stress: 4 runs: 2 ok, 0 hang, 0 bug, 2 error (expected: ok)");
    for (const seed of failed) expect(io.out).toContain(`seed    ${seed}  error: job failed: job stalled more than allowable limit`);
    expect(io.out).toContain(`ksim run seed-stress --seed ${failed[0]} --duration 10m`);
    expect(io.err).toMatch(/^ksim: campaign [0-9a-f]{10}: 4 seeds in 2 jobs on queue ksim-[\d.]+ at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0\n/);
    // Results stay in Redis until the campaign is removed.
    const campaign = /campaign ([0-9a-f]{10})/.exec(io.err)![1]!;
    expect((await ksim(["campaign", "status", campaign, "--queue", url, "--json"])).code).toBe(0);
    const removed = await ksim(["campaign", "remove", campaign, "--queue", url]);
    expect([removed.code, removed.err]).toEqual([0, `ksim: campaign ${campaign}: removed (2 jobs)\n`]);
    expect(await ksim(["campaign", "status", campaign, "--queue", url])).toMatchObject({ code: 2, err: `ksim: no campaign ${campaign} at redis://:***@127.0.0.1:${redis!.port}/0\n` });
    b.proc.kill("SIGTERM");
    expect((await b.exited).code).toBe(0);
    await queue.close();
  });
  it("an exploration's combinations on 2 worker processes give exactly the local report", async () => {
    const url = redis!.url;
    const started = ["x1", "x2"].map((n) => spawn_worker(url, n));
    workers.push(...started);
    await Promise.all(started.map((w) => w.ready));
    const loaded = load_scenario("seed-hang", {});
    const base = {
      scenario: "seed-hang",
      dimensions: [parse_vary("kernel.notifier_priority.hrtimer_cpu_notify=0,10,20"), parse_vary("script[0].at=3s,3.5s")],
      ties: true,
      expected: "ok" as const,
      spec_of: (sets: string[]) => vary_scenario(loaded, sets).spec,
    };
    const logged: string[] = [];
    const remote = await run_explore({ ...base, jobs: 0, queue: { url, block: 2, log: (l) => logged.push(l) } });
    const local = await run_explore({ ...base, jobs: 0 });
    const strip = (r: typeof local) => ({ ...r, wall_ms: 0 });
    expect(strip(remote)).toEqual(strip(local));
    expect(remote.complete).toBe(true);
    expect(remote.classes.map((c) => c.split).sort()).toEqual([
      "hang exactly when kernel.notifier_priority.hrtimer_cpu_notify < 10",
      "ok exactly when kernel.notifier_priority.hrtimer_cpu_notify >= 10",
    ]);
    expect(logged.join("\n")).toMatch(/3 jobs on queue ksim-/);
    expect(logged.join("\n")).not.toContain(PASSWORD);
    for (const w of started) w.proc.kill("SIGTERM");
    await Promise.all(started.map((w) => w.exited));
  });
});
