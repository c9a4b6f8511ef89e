import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

const root = mkdtempSync(join(tmpdir(), "ksim-explore-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const tmp = () => mkdtempSync(join(root, "t-"));
const fixture = (name: string) => fileURLToPath(new URL(`./scenarios/${name}`, import.meta.url));

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function ksim(...argv: string[]): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), exit: () => {} });
  return { code, stdout, stderr };
}

interface Report {
  runs: number;
  distinct_states: number;
  complete: boolean;
  expected: string;
  dimensions: { path: string; values: unknown[] }[];
  pruned: { state_seen: number; commuting: number };
  classes: {
    outcome: string;
    count: number;
    cycle: string[];
    combinations: Record<string, unknown>[];
    witness: { sets: string[]; ties: string[]; file?: string };
    split: string | null;
  }[];
}

const PRIO = "kernel.notifier_priority.hrtimer_cpu_notify";

describe("ksim explore: ties", () => {
  const tie = fixture("tie-period-timer.yaml");

  it("ksim run takes the first-scheduled order and misses the hang", async () => {
    const r = await ksim("run", tie, "--json");
    expect(JSON.parse(r.stdout).outcome).toBe("ok");
    expect(r.code).toBe(0);
  });

  it("--ties finds the one order that strands the period timer on CPU 1, and its witness replays it", async () => {
    const dir = tmp();
    const r = await ksim("explore", tie, "--ties", "--jobs", "0", "--json", "--witnesses", dir);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.complete).toBe(true);
    const hang = rep.classes.find((c) => c.outcome === "hang")!;
    expect(hang.cycle).toEqual([
      "task cpuhp-stress",
      "task migration/1",
      "cpu 0",
      "rt_rq 0",
      "hrtimer sched_rt_period_timer",
      "notifier hrtimer_cpu_notify (CPU_DEAD)",
    ]);
    // rt-hog1's wake-up (its start timer on CPU 1) before rt-hog0's, both at 1.1 s.
    expect(hang.witness.ties).toEqual(["1100ms: start/rt-hog1"]);
    expect(rep.classes.find((c) => c.outcome === "ok")!.witness.ties).toEqual([]);
    const replay = await ksim("run", hang.witness.file!, "--json");
    expect(JSON.parse(replay.stdout).outcome).toBe("hang");
    expect(replay.code).toBe(0);
    expect(readdirSync(dir)).toHaveLength(2);
  }, 60_000);

  it("the same tie given on the command line replays the hang byte for byte", async () => {
    const a = await ksim("run", tie, "--set", 'tie_order=["1100ms: start/rt-hog1"]', "--json");
    const b = await ksim("run", tie, "--set", 'tie_order=["1.1s: start/rt-hog1"]', "--json");
    const strip = (s: string): Record<string, unknown> => ({ ...(JSON.parse(s) as Record<string, unknown>), wall_ms: 0 });
    expect(strip(a.stdout).outcome).toBe("hang");
    expect(strip(a.stdout)).toEqual(strip(b.stdout));
  });

  it("a tie_order the run does not meet is bad input, exit 2", async () => {
    const r = await ksim("run", tie, "--set", 'tie_order=["1100ms: start/nosuch"]');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/tie_order\[0\]: this run's tie 0 is at 1.1s among start\/rt-hog0, start\/rt-hog1/);
  });

  it("a space whose tie orders all commute runs one of them to the end", async () => {
    const r = await ksim("explore", fixture("ties-commute.yaml"), "--ties", "--jobs", "0", "--json");
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.classes).toEqual([expect.objectContaining({ outcome: "ok", count: 1 })]);
    expect(rep.distinct_states).toBe(1);
    expect(rep.pruned.commuting).toBeGreaterThan(0);
    expect(rep.runs).toBe(1 + rep.pruned.commuting + rep.pruned.state_seen);
    expect(r.code).toBe(0);
  });
});

describe("ksim explore: seed-hang", () => {
  const space = ["--vary", `${PRIO}=-5,0,9,10,11,20`, "--sweep", "script[0].at=3s..3.99s/330ms", "--ties"];

  it("hangs exactly when hrtimer_cpu_notify's priority is below migration_call's 10, at every cpu_down time", async () => {
    const r = await ksim("explore", "seed-hang", ...space, "--jobs", "2", "--json");
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.complete).toBe(true);
    expect(rep.expected).toBe("ok");
    expect(rep.dimensions.map((d) => d.values)).toEqual([[-5, 0, 9, 10, 11, 20], ["3s", "3.33s", "3.66s", "3.99s"]]);
    expect(rep.classes.map((c) => c.outcome).sort()).toEqual(["hang", "ok"]);
    const hang = rep.classes.find((c) => c.outcome === "hang")!;
    expect(hang.split).toBe(`hang exactly when ${PRIO} < 10`);
    expect(hang.combinations).toHaveLength(3 * 4);
    expect(hang.combinations.every((c) => (c[PRIO] as number) < 10)).toBe(true);
    expect(hang.witness.ties).toEqual([]);
  }, 300_000);

  it("with migration_thread_stop=CPU_POST_DEAD the same space hangs only below priority 0, in kthread_stop(ksoftirqd/1)", async () => {
    // The fix moves migration_call's kthread_stop to CPU_POST_DEAD, but
    // softirq's cpu_callback (priority 0) still stops ksoftirqd/1, made FIFO
    // 99, at CPU_DEAD: with hrtimer_cpu_notify below it, the period timer is
    // still stranded on CPU 1 when that stop waits on the throttled CPU 0.
    const r = await ksim("explore", "seed-hang", ...space, "--set", "kernel.migration_thread_stop=CPU_POST_DEAD", "--jobs", "0", "--json");
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.complete).toBe(true);
    expect(rep.classes.map((c) => [c.outcome, c.combinations.length, c.split])).toEqual([
      ["ok", 5 * 4, `ok exactly when ${PRIO} >= 0`],
      ["hang", 1 * 4, `hang exactly when ${PRIO} < 0`],
    ]);
    const hang = rep.classes[1]!;
    expect(hang.cycle).toEqual(["task cpuhp-stress", "task ksoftirqd/1", "cpu 0", "rt_rq 0", "hrtimer sched_rt_period_timer", "notifier hrtimer_cpu_notify (CPU_DEAD)"]);
    expect(r.code).toBe(1);
  }, 300_000);

  it("--max-runs cuts the space short and says so", async () => {
    const r = await ksim("explore", "seed-hang", ...space, "--jobs", "0", "--max-runs", "10", "--json");
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.runs).toBeLessThanOrEqual(10);
    expect(rep.complete).toBe(false);
  });

  it("an interrupted exploration, resumed from --out, ends with the classes of a whole one", async () => {
    const dir = tmp();
    const small = ["--vary", `${PRIO}=0,20`, "--vary", "script[0].at=3s,3.5s", "--jobs", "0", "--json"];
    const whole = JSON.parse((await ksim("explore", "seed-hang", ...small)).stdout) as Report;
    const out = join(dir, "space.jsonl");
    await ksim("explore", "seed-hang", ...small, "--out", out, "--max-runs", "2");
    expect(readFileSync(out, "utf8").trim().split("\n")).toHaveLength(2);
    const resumed = JSON.parse((await ksim("explore", "seed-hang", ...small, "--out", out, "--resume")).stdout) as Report;
    expect(resumed.complete).toBe(true);
    expect(resumed.classes.map((c) => [c.outcome, c.combinations])).toEqual(whole.classes.map((c) => [c.outcome, c.combinations]));
  }, 60_000);

  it("reads the space from the scenario's explore: section", async () => {
    const r = await ksim("explore", "seed-hang", "--set", `explore={ vary: { ${PRIO}: [0, 10] } }`, "--jobs", "0", "--json");
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.dimensions).toEqual([{ path: PRIO, values: [0, 10] }]);
    expect(rep.classes.find((c) => c.outcome === "hang")!.combinations).toEqual([{ [PRIO]: 0 }]);
  });

  it("writes the grid as one HTML page with the witnesses linked", async () => {
    const dir = tmp();
    const html = join(dir, "space.html");
    await ksim("explore", "seed-hang", "--vary", `${PRIO}=0,20`, "--vary", "script[0].at=3s,3.5s", "--jobs", "0", "--html", html);
    const page = readFileSync(html, "utf8");
    expect(page).toContain('<table class="grid">');
    expect(page).toContain('href="#class-0"');
    expect(page).toContain("ksim run seed-hang --set kernel.notifier_priority.hrtimer_cpu_notify=0");
  }, 60_000);

  it.each([
    [["--vary", "kernel.nosuch=1,2"], /kernel.nosuch/],
    [["--vary", `${PRIO}=x,y`], /hrtimer_cpu_notify/],
    [["--sweep", "script[0].at=3s..2s/10ms"], /FROM <= TO/],
    [["--grid", "a,b", "--vary", `${PRIO}=0,1`], /--grid/],
  ])("bad input %j exits 2 with one line", async (args, msg) => {
    const r = await ksim("explore", "seed-hang", "--jobs", "0", ...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
