import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-trace-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ksim(...argv: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const code = main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s), exit: () => undefined }) as number;
  return { code, stdout, stderr };
}

describe("ksim run --trace --ftrace --html", () => {
  it("writes all three for seed-hang, and still prints the report", () => {
    const [t, f, h] = ["t.json", "t.txt", "r.html"].map((n) => join(dir, n)) as [string, string, string];
    const r = ksim("run", "seed-hang", "--trace", t, "--ftrace", f, "--html", h);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0); // seed-hang expects a hang
    expect(r.stdout).toMatch(/hang/);
    const trace = JSON.parse(readFileSync(t, "utf8")) as { traceEvents: { ph: string; name: string; args?: { name?: string } }[] };
    const names = trace.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => e.args?.name);
    expect(names).toEqual(expect.arrayContaining(["CPU 0", "CPU 1", "sched_rt_period_timer base CPU", "task migration/1/5"]));
    expect(trace.traceEvents.filter((e) => e.ph === "X").length).toBeGreaterThan(20);
    const text = readFileSync(f, "utf8");
    expect(text.startsWith("# tracer: nop\n")).toBe(true);
    expect(text.match(/: sched_switch: prev_comm=/g)).toHaveLength(53);
    // The period timer on CPU 1 at 4 s finds its rq offline since CPU_DOWN_PREPARE's
    // domain rebuild: rt_runtime is RUNTIME_INF, which the trace writes as -1.
    expect(text).toMatch(/\[001\] +4\.000000: sched_rt_unthrottle: rt_time=0 rt_runtime=-1\n/);
    expect(text).not.toMatch(/Infinity|NaN|=null/);
    const html = readFileSync(h, "utf8");
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).toContain("task migration/1/5");
    expect(html).toContain(">CPU 1</text>");
  });

  it("--json keeps stdout one JSON document with the outputs written", () => {
    const h = join(dir, "j.html");
    const r = ksim("run", "seed-fix-post-dead", "--json", "--html", h);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { outcome: string }).outcome).toBe("ok");
    expect(readFileSync(h, "utf8")).toContain("No hang: the run ended with outcome <b>ok</b>");
  });

  it("an output path that cannot be written is a usage error (exit 2) naming the option, before the run", () => {
    const r = ksim("run", "seed-hang", "--trace", join(dir, "missing/dir/t.json"));
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ksim: --trace .*missing\/dir\/t\.json: ENOENT/);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });
});
