/**
 * Hostile input through the whole command line (`main()` in this process,
 * and a few through a spawned `node dist/cli.js`): random and mutated YAML
 * and JSON, deep nesting, huge numbers, wrong types, unknown keys, binary
 * junk, a 10 MB file. A document that is not a valid scenario ends with
 * exit 2 and one `ksim: <file>: ...` line, never an internal error (70), a
 * stack trace or a hang; one that happens to be valid runs, bounded by
 * --max-events.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { CLI, ensure_built } from "./reliability-helpers.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-hostile-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function ksim(...argv: string[]): Ran {
  let stdout = "";
  let stderr = "";
  const code = main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    exit: () => {},
  }) as number;
  return { code, stdout, stderr };
}

let n = 0;
function write(ext: string, content: string | Uint8Array): string {
  const path = join(dir, `f${n++}.${ext}`);
  writeFileSync(path, content);
  return path;
}

/** Runs a scenario file as a user would, bounded, and checks the answer's shape. */
function run_file(path: string): Ran {
  const r = ksim("run", path, "--json", "--duration", "2s", "--max-events", "20000");
  expect_clean(r, path);
  return r;
}

/** Exit 2 with one `ksim: <path>: ...` line, or a run with one JSON document. Never 70, never a stack. */
function expect_clean(r: Ran, path: string): void {
  expect(r.stderr).not.toMatch(/\n\s+at |internal error/);
  if (r.code === 2) {
    expect(r.stdout).toBe("");
    expect(r.stderr.startsWith(`ksim: ${path}: `)).toBe(true);
    expect(r.stderr.endsWith("\n")).toBe(true);
    expect(r.stderr.slice(0, -1)).not.toContain("\n");
  } else {
    expect([0, 1]).toContain(r.code);
    const doc = JSON.parse(r.stdout) as { outcome: string };
    expect(["ok", "hang", "bug"]).toContain(doc.outcome);
  }
}

/** The built-ins ship in @ksim/scenario's scenarios/ folder. */
const SCENARIOS_DIR = join(dirname(createRequire(import.meta.url).resolve("@ksim/scenario/package.json")), "scenarios");

const BUILTIN_TEXTS = ["seed-hang", "seed-fix-post-dead", "seed-fix-hrtimer-priority", "seed-stress"].map((name) =>
  readFileSync(join(SCENARIOS_DIR, `${name}.yaml`), "utf8"),
);

const JSON_TEXT = JSON.stringify({
  name: "j",
  seed: 3,
  duration: "10s",
  kernel: { cpus: 3, hz: 250, sched_rt_runtime_us: 950000, migration_thread_stop: "CPU_POST_DEAD", notifier_priority: { hrtimer_cpu_notify: 0 } },
  notifiers: [{ name: "drv", priority: 5, actions: { CPU_DOWN_PREPARE: { block: "5ms" } } }],
  tasks: [
    { comm: "a", policy: "FIFO", priority: 50, cpus: [1], start: "1s", behavior: { cycle: { run: "9ms", sleep: "1ms" } }, jitter: 0.2 },
    { comm: "b", policy: "NORMAL", priority: -5, behavior: { periodic: { period: "10ms", run: "2ms" } } },
  ],
  script: [
    { at: "1500ms", cpu_down: 1, on: 0 },
    { at: "3s", cpu_up: 1 },
  ],
  stress: { hotplug: { interval: ["500ms", "3s"], cpus: [1, 2], on: 0 } },
  expect: { outcome: "ok" },
});

/** Tokens a mutation splices in: the shapes that break parsers and validators. */
const NASTY = [
  "1e400", "-1e400", "NaN", ".nan", ".inf", "-0", "0x7fffffffffffffff", "123456789012345678901234567890", "99999999999h", "-5s", "1e-9ns",
  "~", "null", "[]", "{}", "&a", "*a", "*nope", "!!binary", "!!js/function", "<<: *a", "? ", ": ", "- ", "|", ">", "%YAML 1.1\n---\n",
  "\t", "\u0000", "\ufeff", "\ud800", "\u202e", "'", '"', "\\", "#", ",", "]]]]", "{{{{", "__proto__: { polluted: 1 }", "constructor: x",
  "cpus_max: 4", "priority: 120", "cpus: [999]", "behavior: { busy: true, cycle: { run: 1ms, sleep: 1ms } }",
];

/** A random edit of a text: cut, insert junk or a nasty token, duplicate or swap a slice. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: fc.oneof(fc.constantFrom(...NASTY), fc.string({ maxLength: 12, unit: "binary" })) }),
  fc.record({ kind: fc.constant("dup" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 200 }) }),
  fc.record({ kind: fc.constant("digit" as const), at: fc.nat(), text: fc.constantFrom("0", "9", "99999999999999999999", "-1", "1.5") }),
);

interface Mutation {
  kind: "cut" | "insert" | "dup" | "digit";
  at: number;
  len?: number;
  text?: string;
}

function mutate(text: string, muts: readonly Mutation[]): string {
  let s = text;
  for (const m of muts) {
    const at = s.length ? m.at % s.length : 0;
    switch (m.kind) {
      case "cut":
        s = s.slice(0, at) + s.slice(at + (m.len ?? 1));
        break;
      case "insert":
        s = s.slice(0, at) + (m.text ?? "") + s.slice(at);
        break;
      case "dup":
        s = s.slice(0, at) + s.slice(at, at + (m.len ?? 1)) + s.slice(at);
        break;
      case "digit": {
        // Replace the next number, if any, with another.
        const re = /\d+/g;
        re.lastIndex = at;
        const hit = re.exec(s);
        if (hit) s = s.slice(0, hit.index) + (m.text ?? "0") + s.slice(hit.index + hit[0].length);
        break;
      }
    }
  }
  return s;
}

describe("ksim run on mutated scenario files (property)", () => {
  it("mutated built-in YAML: exit 2 with one line, or a bounded run; never an internal error", () => {
    let refused = 0;
    let ran = 0;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: BUILTIN_TEXTS.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), (which, muts) => {
        const path = write("yaml", mutate(BUILTIN_TEXTS[which]!, muts));
        if (run_file(path).code === 2) refused++;
        else ran++;
      }),
      { numRuns: 250, seed: 2026 },
    );
    // Both kinds of answer were exercised.
    expect(refused).toBeGreaterThan(50);
    expect(ran).toBeGreaterThan(10);
  });

  it("mutated JSON: the same", () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (muts) => {
        if (run_file(write("json", mutate(JSON_TEXT, muts))).code === 2) refused++;
      }),
      { numRuns: 200, seed: 7 },
    );
    expect(refused).toBeGreaterThan(100);
  });

  it("random JSON values and random bytes, as .json and .yaml", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.constantFrom("json", "yaml"), (value, ext) => {
        expect(run_file(write(ext, JSON.stringify(value))).code).toBe(2);
      }),
      { numRuns: 150, seed: 11 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2048 }), fc.constantFrom("json", "yaml", "yml"), (bytes, ext) => {
        expect(run_file(write(ext, bytes)).code).toBe(2);
      }),
      { numRuns: 150, seed: 12 },
    );
  });
});

describe("ksim run on hand-made hostile files", () => {
  const cases: [string, string, string, RegExp][] = [
    ["deep JSON nesting", "json", `{"kernel": {"cpus": 2}, "tasks": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, /tasks\[0\]: expected a mapping/],
    ["deep YAML nesting", "yaml", `kernel: { cpus: 2 }\nnotifiers: ${"{a: ".repeat(5_000)}1${"}".repeat(5_000)}\n`, /nested too deeply|notifiers: expected a list/],
    ["a huge CPU count", "yaml", "kernel: { cpus: 1e400 }\n", /kernel\.cpus: expected 1\.\.256, got Infinity$/],
    ["a huge seed", "json", '{"kernel": {"cpus": 2}, "seed": 18446744073709551616}', /seed: expected an integer 0\.\.9007199254740991/],
    ["a duration past 104 days", "yaml", "kernel: { cpus: 2 }\nduration: 100000000h\n", /duration: .*longer than ksim can represent/],
    ["a NaN priority", "yaml", "kernel: { cpus: 2 }\ntasks: [{ policy: FIFO, priority: .nan }]\n", /tasks\[0\]\.priority: expected an integer priority, got NaN$/],
    ["a string for a number", "yaml", 'kernel: { cpus: "two" }\n', /kernel\.cpus: /],
    ["a mapping for a list", "yaml", "kernel: { cpus: 2 }\ntasks: { comm: x }\n", /tasks: expected a list/],
    ["an unknown key deep down", "yaml", "kernel: { cpus: 2 }\ntasks: [{ behavior: { busy: true, spin: 3 } }]\n", /tasks\[0\]\.behavior\.spin: unknown key/],
    ["a prototype key", "json", '{"kernel": {"cpus": 2}, "__proto__": {"polluted": 1}}', /__proto__|unknown key/],
    ["an alias bomb", "yaml", `${bomb()}kernel: { cpus: 2 }\n`, /cannot parse YAML/],
    ["a 10 MB list of tasks", "json", JSON.stringify({ kernel: { cpus: 2 }, tasks: Array.from({ length: 200_000 }, (_, i) => ({ comm: `t${i}`, behavior: { busy: true } })) }), /tasks: expected at most 10000 tasks/],
  ];

  it.each(cases)("%s: exit 2, one line", (_what, ext, text, msg) => {
    const path = write(ext, text);
    const r = ksim("run", path, "--json");
    expect_clean(r, path);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd()).toMatch(msg);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });

  it("a YAML tag that would run code elsewhere is only text here", () => {
    const path = write("yaml", "kernel: { cpus: 2 }\ndescription: !!js/function 'function(){ globalThis.pwned = 1 }'\n");
    const r = ksim("run", path, "--json", "--duration", "1s");
    expect(r.code).toBe(0);
    expect((globalThis as Record<string, unknown>)["pwned"]).toBeUndefined();
  });

  it("bad limits on the command line: exit 2, one line", () => {
    for (const [args, msg] of [
      [["--max-events", "0"], /--max-events <n>' argument '0' is invalid\. expected a number of events 1\.\.9007199254740991$/],
      [["--max-events", "1e9"], /--max-events <n>' argument '1e9' is invalid/],
      [["--max-events", "99999999999999999999"], /--max-events <n>' argument '99999999999999999999' is invalid/],
      [["--max-wall", "soon"], /--max-wall <d>' argument 'soon' is invalid\. expected a wall-clock duration of at least 1ms/],
      [["--max-wall", "10ns"], /--max-wall <d>' argument '10ns' is invalid/],
      [["--seed", "1e400"], /--seed <n>' argument '1e400' is invalid/],
      [["--duration", "1e400s"], /duration: /],
    ] as [string[], RegExp][]) {
      const r = ksim("run", "seed-hang", ...args);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toMatch(/^ksim: [^\n]+\n$/);
      expect(r.stderr.trimEnd()).toMatch(msg);
    }
  });
});

describe("run limits", () => {
  it("--max-events stops a run early, says so on stderr, and keeps the outcome found so far", () => {
    const r = ksim("run", "seed-stress", "--set", "kernel.migration_thread_stop=CPU_POST_DEAD", "--duration", "1h", "--json", "--max-events", "500");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { outcome: string; events: number; simulated_ns: number; dmesg: string[] };
    expect(doc.events).toBe(500);
    expect(doc.outcome).toBe("ok");
    expect(doc.simulated_ns).toBeLessThan(3600e9);
    expect(doc.dmesg.at(-1)).toMatch(/ksim: run stopped early: event limit 500 reached$/);
    expect(r.stderr).toBe(`ksim: run stopped early: event limit 500 reached at ${doc.simulated_ns} ns simulated\n`);
  });

  it("a hang found before the limit is still a hang; a run that fits the limit is not marked", () => {
    const hang = ksim("run", "seed-hang", "--json", "--max-events", "1000000");
    expect(hang.code).toBe(0);
    expect((JSON.parse(hang.stdout) as { outcome: string }).outcome).toBe("hang");
    expect(hang.stderr).toBe("");
  });

  it("--max-events bounds a valid scenario that would take days of wall time (a 2 us periodic task for an hour)", () => {
    const path = write("yaml", "kernel: { cpus: 1 }\nduration: 1h\ntasks: [{ comm: storm, behavior: { periodic: { period: 2us, run: 1us } } }]\n");
    const r = ksim("run", path, "--json", "--max-events", "200000");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { simulated_ns: number; events: number };
    expect(doc.events).toBe(200_000);
    expect(doc.simulated_ns).toBeLessThan(1e9);
    expect(r.stderr).toMatch(/^ksim: run stopped early: event limit 200000 reached at \d+ ns simulated\n$/);
  });

  it("--max-wall stops a 48-hour seed-stress run early (checked every 200000 events at most)", () => {
    const r = ksim("run", "seed-stress", "--json", "--duration", "48h", "--max-wall", "100ms");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { simulated_ns: number };
    expect(doc.simulated_ns).toBeLessThan(48 * 3600e9);
    expect(r.stderr).toMatch(/^ksim: run stopped early: wall-time limit 100 ms reached at \d+ ns simulated\n$/);
  });

  it("ksim stress --max-events bounds each seed", async () => {
    let stdout = "";
    const code = await main(["stress", "seed-stress", "--set", "kernel.migration_thread_stop=CPU_POST_DEAD", "--seeds", "1..3", "--jobs", "0", "--json", "--max-events", "300"], {
      stdout: (s) => void (stdout += s),
      stderr: () => {},
      exit: () => {},
    });
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { results: { events: number; outcome: string }[] };
    expect(doc.results.map((r) => [r.events, r.outcome])).toEqual([
      [300, "ok"],
      [300, "ok"],
      [300, "ok"],
    ]);
  });
});

describe("hostile files through a spawned ksim", () => {
  beforeAll(() => ensure_built(), 180_000);

  it.each([
    ["binary junk", "yaml", Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))],
    ["deep nesting", "json", `{"tasks": ${"[".repeat(300_000)}${"]".repeat(300_000)}, "kernel": {"cpus": 2}}`],
    ["huge numbers", "yaml", "kernel: { cpus: 2, hz: 1e308 }\nseed: 1e400\n"],
    ["10 MB of one string", "yaml", `kernel: { cpus: 2 }\ndescription: "${"x".repeat(10_000_000)}"\n`],
  ])("%s: exit 2, one line on stderr, nothing on stdout", (_what, ext, content) => {
    const path = write(ext, content);
    const r = spawnSync(process.execPath, [CLI, "run", path, "--json"], { encoding: "utf8", timeout: 240_000 });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(new RegExp(`^ksim: ${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: [^\\n]+\\n$`));
  });
});

/** Eight levels of ten references each: 10^8 nodes if expanded. */
function bomb(): string {
  const lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) {
    const [prev, name] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
    lines.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}

describe("workload lengths", () => {
  it("a run, sleep or period under 1us is bad input naming the field", () => {
    const path = join(mkdtempSync(join(dir, "min-")), "s.yaml");
    writeFileSync(path, "kernel: { cpus: 1 }\ntasks: [{ comm: storm, behavior: { periodic: { period: 2ns, run: 1ns } } }]\n");
    let err = "";
    const code = main(["run", path], { stdout: () => {}, stderr: (s) => void (err += s), exit: () => {} });
    expect(code).toBe(2);
    expect(err).toMatch(/tasks\[0\]\.behavior\.periodic\.period: expected a duration of at least 1us, got "2ns"/);
  });
});
