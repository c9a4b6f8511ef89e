import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { build_machine } from "../src/machine.js";
import { load_scenario } from "@ksim/scenario";
import { run_campaign } from "../src/campaigns.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-rt-app-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function run(path: string, sets: string[] = []) {
  const m = build_machine(load_scenario(path, { sets }).spec);
  const result = m.run();
  return { m, result };
}

/** Log rows as numbers: idx perf run period start end rel_st slack c_duration c_period wu_lat. */
const rows = (text: string) => text.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/).map(Number));

function ksim(...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const code = main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), exit: () => {} }) as number;
  return { code, stdout, stderr };
}

describe("rt-app files in a ksim machine", () => {
  it("a thread running 10 ms on a 100 ms timer gets 10 % of a CPU; its log shows the period and a non-negative slack", () => {
    const f = file("timer.json", `{
      /* one periodic thread, rt-app's commonest pattern */
      "global": { "duration": 10, "calibration": "CPU0" },
      "tasks": { "thread0": { "run": 10000, "timer": { "ref": "tick", "period": 100000 }, }, },
    }`);
    const { m, result } = run(f);
    expect(result.outcome).toBe("ok");
    expect(result.simulated_ns).toBe(10_000_000_000);
    const t = result.tasks.find((x) => x.comm === "thread0-0")!;
    expect(Math.abs(t.runtime_ns / 10e9 - 0.1)).toBeLessThanOrEqual(0.005);
    const [log] = m.rt_app_logs();
    expect(log!.name).toBe("rt-app-thread0-0.log");
    const rs = rows(log!.text);
    expect(rs.length).toBeGreaterThanOrEqual(99);
    for (const r of rs) {
      expect(r[3]).toBe(100000);
      expect(r[7]).toBeGreaterThanOrEqual(0);
      expect(r[9]).toBe(100000);
    }
  });

  it("a FIFO spinner on one CPU gets 95 % under default throttling", () => {
    const f = file("fifo.json", `{ "global": { "duration": 5 },
      "tasks": { "spin": { "policy": "SCHED_FIFO", "priority": 50, "run": 1000000 } } }`);
    const { result } = run(f, ["kernel.cpus=1"]);
    const t = result.tasks.find((x) => x.comm === "spin-0")!;
    expect(t.policy).toBe("FIFO");
    expect(Math.abs(t.runtime_ns / 5e9 - 0.95)).toBeLessThanOrEqual(0.005);
    expect(result.stats.rt_throttles).toBeGreaterThanOrEqual(4);
  });

  it("a lock/signal ping-pong advances in lock step", () => {
    const f = file("pingpong.json", `{ "global": { "duration": -1 }, "tasks": {
      "ping": { "delay": 100, "cpus": [0], "loop": 20, "lock": "m", "signal": "pong", "wait": { "ref": "ping", "mutex": "m" }, "unlock": "m", "run": 1000 },
      "pong": { "cpus": [1], "loop": 20, "lock": "m", "wait": { "ref": "pong", "mutex": "m" }, "signal": "ping", "unlock": "m", "run": 1000 } } }`);
    const { m, result } = run(f);
    expect(result.outcome).toBe("ok");
    const [ping, pong] = m.rt_app_logs().map((l) => rows(l.text).map((r) => r[4]! - rows(l.text)[0]![4]!));
    expect(ping).toHaveLength(20);
    expect(pong!.slice(1)).toEqual(ping!.slice(1).map((x) => x + (pong![1]! - ping![1]!)));
    // The run ends when both threads have: global.duration -1.
    expect(result.simulated_ns).toBeLessThan(100_000_000);
  });

  it("a two-mutex lock-order inversion is a hang whose cycle names both mutexes and both threads", () => {
    const f = file("inversion.json", `{ "tasks": {
      "a": { "cpus": [0], "loop": 1, "lock": "m1", "run": 1000, "lock": "m2", "unlock": "m2", "unlock": "m1" },
      "b": { "cpus": [1], "loop": 1, "lock": "m2", "run": 1000, "lock": "m1", "unlock": "m1", "unlock": "m2" } } }`);
    const { result } = run(f, []);
    expect(result.outcome).toBe("hang");
    const nodes = result.hang!.cycle.map((e) => e.node);
    expect(nodes).toHaveLength(4);
    expect(nodes).toEqual(expect.arrayContaining(["mutex m1", "mutex m2"]));
    expect(nodes.filter((n) => n.startsWith("task a-0/") || n.startsWith("task b-1/"))).toHaveLength(2);
    expect(result.hang!.hung_tasks[0]!).toMatchObject({ state: "S", in: "futex_wait_queue_me" });
  });

  it("a key rt-app does not read is passed over as rt-app passes over it, with a warning line, also by stress", async () => {
    // global.frag: an option of an older rt-app, in rt-app's own mp3 and browser examples.
    const path = file("frag.json", `{ "global": { "duration": 1, "frag": 1 }, "tasks": { "t": { "run": 10000, "timer": { "ref": "tick", "period": 100000 }, "colour": 1 } } }`);
    const warnings = [
      `ksim: warning: ${path}: global.frag: ignored, as rt-app ignores it (not a global option rt-app reads)`,
      `ksim: warning: ${path}: tasks.t.colour: ignored, as rt-app ignores it (not a thread property or an event)`,
    ];
    const r = ksim("run", path, "--json");
    expect(r.code).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual(warnings);
    // The file ran for its global.duration.
    const report = JSON.parse(r.stdout) as { outcome: string; simulated_ns: number };
    expect(report).toMatchObject({ outcome: "ok", simulated_ns: 1e9 });
    // stress is asynchronous: its status comes as a promise, its lines before it settles.
    let err = "";
    const code = await main(["stress", path, "--seeds", "1..2", "--jobs", "0"], { stdout: () => {}, stderr: (t) => void (err += t), exit: () => {} });
    expect(code).toBe(0);
    expect(err.split("\n").filter((l) => l.startsWith("ksim: warning:"))).toEqual(warnings);
  });

  it("repeated keys run in file order", () => {
    const f = file("repeat.json", `{ "global": { "duration": -1 }, "tasks": { "t": { "loop": 1,
      "run": 1000, "sleep": 2000, "run": 3000, "sleep": 4000 } } }`);
    const { m } = run(f);
    const [r] = rows(m.rt_app_logs()[0]!.text);
    // perf run period ... c_duration: 4 ms of run in a 10 ms iteration, as written.
    expect([r![1], r![2], r![3], r![8]]).toEqual([4000, 4000, 10000, 4000]);
  });

  it("threads are forked as SCHED_OTHER, sleep out their delay so, then take their policy and move to their CPU (8 CPUs)", () => {
    const f = file("start.json", `{ "global": { "duration": 1 },
      "tasks": { "t": { "instance": 3, "policy": "SCHED_FIFO", "priority": 20, "cpus": [7], "delay": 1000, "run": 5000, "sleep": 5000 } } }`);
    const ftrace = join(dir, "start.ftrace");
    expect(ksim("run", f, "--set", "kernel.cpus=8", "--ftrace", ftrace).code).toBe(0);
    // [cpu, seconds, line] of every trace line that names a thread of the file.
    const lines = readFileSync(ftrace, "utf8").split("\n").filter((l) => /comm=t-\d/.test(l));
    const at = (l: string) => Number(/\s(\d+\.\d+): /.exec(l)![1]);
    const news = lines.filter((l) => l.includes("sched_wakeup_new:"));
    expect(news).toHaveLength(3);
    // A fork of rt-app's main thread: nice 0 (prio 120), not yet FIFO.
    for (const l of news) expect(l).toMatch(/ prio=120 /);
    // Fork balancing spreads them over idle CPUs; the mask of CPU 7 comes only with thread_body's setaffinity.
    expect(new Set(news.map((l) => /target_cpu=(\d+)/.exec(l)![1])).size).toBe(3);
    const ran = lines.filter((l) => /next_comm=t-\d/.test(l));
    // Until t_zero + delay (1 ms) a thread runs as SCHED_OTHER, from then on as FIFO 20 (prio 99 - 20 = 79), on CPU 7 only.
    for (const l of ran.filter((x) => at(x) < 0.001)) expect(l).toMatch(/next_prio=120$/);
    const late = ran.filter((x) => at(x) > 0.002);
    expect(late.length).toBeGreaterThan(100);
    for (const l of late) {
      expect(l).toMatch(/next_prio=79$/);
      expect(l).toMatch(/\[007\]/);
    }
  });

  it("refuses what 2.6.34 lacks with one line naming the file and the field, exit 2", () => {
    const f = file("dl.json", `{ "tasks": { "thread0": { "phases": { "p1": { "run": 10, "dl-runtime": 100 } } } } }`);
    const r = ksim("run", f);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`ksim: ${f}: tasks.thread0.phases.p1.dl-runtime: SCHED_DEADLINE is not in Linux 2.6.34 (it came with 3.14)\n`);
  });

  it("ksim run --rt-app-logs writes one log per thread instance, named as rt-app names them", () => {
    const f = file("two.json", `{ "global": { "duration": 1, "log_basename": "uc" },
      "tasks": { "small": { "instance": 2, "run": 1000, "timer": { "ref": "unique", "period": 10000 } } } }`);
    const out = join(dir, "logs");
    const r = ksim("run", f, "--rt-app-logs", out);
    expect(r.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["uc-small-0.log", "uc-small-1.log"]);
    const text = readFileSync(join(out, "uc-small-1.log"), "utf8");
    expect(text.split("\n")[0]).toMatch(/^#idx +perf +run +period +start +end +rel_st +slack +c_duration +c_period +wu_lat$/);
    expect(rows(text).length).toBeGreaterThanOrEqual(99);
  });

  it("a scenario with rt-app threads and random hotplug stress runs, and its campaign works", async () => {
    file("wl.json", `{ "tasks": {
      "rt": { "policy": "SCHED_FIFO", "priority": 30, "run": 2000, "timer": { "ref": "unique", "period": 10000 } },
      "fair": { "instance": 2, "run": 5000, "sleep": 5000 } } }`);
    const sc = file("stress.yaml", `kernel: { cpus: 4 }
duration: 20s
rt_app: [wl.json]
stress: { hotplug: { interval: [200ms, 1s], cpus: [1, 2, 3] } }
`);
    const { m, result } = run(sc);
    expect(result.outcome).toBe("ok");
    expect(result.hotplug.length).toBeGreaterThan(10);
    expect(m.rt_app_logs()).toHaveLength(3);
    const rt = result.tasks.find((x) => x.comm === "rt-0")!;
    expect(rt.runtime_ns).toBeGreaterThan(0.19 * 20e9);
    const spec = load_scenario(sc).spec;
    const summary = await run_campaign({ spec, seeds: [1, 2, 3], jobs: 0, expected: "ok" });
    expect([summary.runs, summary.ok]).toEqual([3, 3]);
  });
});
