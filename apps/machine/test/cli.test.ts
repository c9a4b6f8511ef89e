import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

const PKG_DIR = fileURLToPath(new URL("..", import.meta.url));
const PKG_VERSION = (JSON.parse(readFileSync(join(PKG_DIR, "package.json"), "utf8")) as { version: string }).version;
const BUILTINS = ["seed-fix-hrtimer-priority", "seed-fix-post-dead", "seed-hang", "seed-stress"];

const dir = mkdtempSync(join(tmpdir(), "ksim-cli-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  exits: number[];
}

/** Runs `ksim <argv>` in-process. */
function ksim(...argv: string[]): Ran {
  let stdout = "";
  let stderr = "";
  const exits: number[] = [];
  // Every command tested here is synchronous; stress has its own tests.
  const code = main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    exit: (c) => void exits.push(c),
  }) as number;
  return { code, stdout, stderr, exits };
}

/** Exit 2, nothing on stdout, one `ksim: ...` line on stderr and no stack trace. */
function expect_usage_error(r: Ran): string {
  expect(r.code).toBe(2);
  expect(r.exits).toEqual([2]);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^ksim: [^\n]+\n$/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return r.stderr.trimEnd();
}

describe("ksim (in-process)", () => {
  it("list: one line per built-in, name, kernel version, then description", () => {
    const r = ksim("list");
    expect(r.code).toBe(0);
    expect(r.exits).toEqual([0]);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(BUILTINS);
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(BUILTINS.map(() => "2.6.34"));
    expect(lines[2]).toMatch(/^seed-hang +2\.6\.34 +Linux 2\.6\.34 as released - cpu_down\(1\) hangs in kthread_stop\(migration\/1\)/);
  });

  it("schema: the JSON Schema, as one JSON document", () => {
    const r = ksim("schema");
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { $schema: string; properties: Record<string, unknown>; required: string[] };
    expect(schema.$schema).toMatch(/json-schema\.org/);
    expect(Object.keys(schema.properties)).toEqual([
      "name", "description", "seed", "duration", "kernel", "notifiers", "tasks", "script", "stress", "rt_app", "explore", "tie_order", "expect",
    ]);
    expect(schema.required).toEqual(["kernel"]);
  });

  it("--version prints the package version; --help lists the commands", () => {
    expect(ksim("--version")).toEqual({ code: 0, stdout: `${PKG_VERSION}\n`, stderr: "", exits: [0] });
    const help = ksim("--help");
    expect(help.code).toBe(0);
    for (const cmd of ["run [options] <scenario>", "list", "schema"]) expect(help.stdout).toContain(cmd);
    const run_help = ksim("run", "--help");
    expect(run_help.code).toBe(0);
    for (const opt of ["--seed <n>", "--duration <d>", "--set <path=value>", "--json", "--debug"]) expect(run_help.stdout).toContain(opt);
  });

  it("bad scenario input: exit 2 and one line naming the file and field", () => {
    const missing = join(dir, "missing.yaml");
    expect(expect_usage_error(ksim("run", missing))).toBe(`ksim: ${missing}: cannot read: no such file`);
    expect(expect_usage_error(ksim("run", "seed-hnag", "--json"))).toBe(
      `ksim: seed-hnag: no such file, and not a built-in scenario (built-ins: ${BUILTINS.join(", ")})`,
    );
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "kernel: { cpus: 2 }\ntasks:\n  - { policy: FIFO, priority: 120 }\n");
    expect(expect_usage_error(ksim("run", bad))).toBe(`ksim: ${bad}: tasks[0].priority: expected 1..99, got 120`);
    const unknown = join(dir, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ kernel: { cpus: 2, hz: 1000, cpus_max: 4 } }));
    expect(expect_usage_error(ksim("run", unknown))).toMatch(/: kernel\.cpus_max: unknown key \(expected one of: version, cpus, hz,/);
  });

  it("bad --set, --seed and --duration: exit 2", () => {
    expect(expect_usage_error(ksim("run", "seed-hang", "--set", "kernel.cpus"))).toBe(
      'ksim: seed-hang: bad --set "kernel.cpus": expected PATH=VALUE, e.g. kernel.cpus=4',
    );
    expect(expect_usage_error(ksim("run", "seed-hang", "--set", "kernel.cpus=1", "--set", "kernel.cpus=300"))).toBe(
      "ksim: seed-hang: kernel.cpus: expected 1..256, got 300 (from --set kernel.cpus=300)",
    );
    expect(expect_usage_error(ksim("run", "seed-hang", "--seed", "x1"))).toBe(
      "ksim: option '--seed <n>' argument 'x1' is invalid. expected a whole number 0..9007199254740991",
    );
    expect(expect_usage_error(ksim("run", "seed-hang", "--duration", "forever"))).toMatch(
      /^ksim: seed-hang: duration: expected a duration such as .* got "forever" \(from --duration forever\)$/,
    );
  });

  it("usage errors: exit 2, one line", () => {
    expect(expect_usage_error(ksim("run"))).toBe("ksim: missing required argument 'scenario'");
    expect(expect_usage_error(ksim("frob"))).toBe("ksim: unknown command 'frob'");
    expect(expect_usage_error(ksim("run", "seed-hang", "--tarce", "x.json"))).toMatch(/^ksim: unknown option '--tarce'/);
    expect(expect_usage_error(ksim("lst"))).toBe("ksim: unknown command 'lst' (Did you mean list?)");
  });

  it("--debug adds the stack trace of a bad-input error", () => {
    const r = ksim("run", join(dir, "missing.yaml"), "--debug");
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(/^ksim: .*missing\.yaml: cannot read: no such file$/);
    expect(r.stderr).toMatch(/ScenarioError: .*\n\s+at /);
    const before = ksim("--debug", "run", join(dir, "missing.yaml"));
    expect(before.stderr).toMatch(/\n\s+at /);
  });
});

describe("the built CLI (node dist/cli.js)", () => {
  const cli = join(PKG_DIR, "dist", "cli.js");

  beforeAll(() => {
    // `turbo run test` builds first; run alone on a fresh checkout, build here.
    if (existsSync(cli)) return;
    const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
    spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: PKG_DIR, stdio: "ignore" });
  });

  function spawn(...argv: string[]) {
    return spawnSync(process.execPath, [cli, ...argv], { encoding: "utf8", cwd: dir });
  }

  it("list", () => {
    const r = spawn("list");
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.trimEnd().split("\n").map((l) => l.split(/\s+/)[0])).toEqual(BUILTINS);
  });

  it("--version", () => {
    const r = spawn("--version");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${PKG_VERSION}\n`);
  });

  it("bad input: exit 2, one line on stderr, nothing on stdout", () => {
    const bad = join(dir, "spawn-bad.yaml");
    writeFileSync(bad, "kernel: { cpus: 2 }\nscript:\n  - { at: 1s, cpu_down: 2 }\n");
    const r = spawn("run", bad, "--json");
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(`ksim: ${bad}: script[0].cpu_down: CPU 2 does not exist: kernel.cpus is 2, so CPUs are 0..1\n`);
  });

  it("a closed pipe is not an error", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" "${cli}" schema | head -c 10 >/dev/null`], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });
});
