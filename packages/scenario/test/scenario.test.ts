import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import {
  MAX_SCENARIO_BYTES,
  ScenarioError,
  builtin_names,
  builtin_scenarios,
  load_scenario,
  parse_scenario,
  scenario_json_schema,
  scenario_schema,
  type LoadOptions,
  type ScenarioSpec,
} from "../src/index.js";
import { parse_builtins, parsed_builtin } from "../src/load.js";

const dir = mkdtempSync(join(tmpdir(), "ksim-scenario-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
/** Writes `text` to a fresh file under the temp dir and returns its path. */
function file(name: string, text: string | Buffer): string {
  const sub = join(dir, String(n++));
  mkdirSync(sub);
  const path = join(sub, name);
  writeFileSync(path, text);
  return path;
}

/** The ScenarioError message of loading `ref` (fails the test if it loads). */
function load_error(ref: string, opts: LoadOptions = {}): string {
  try {
    load_scenario(ref, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    const msg = (e as ScenarioError).message;
    expect(msg).not.toContain("\n");
    return msg;
  }
  throw new Error(`${ref} loaded without error`);
}

/** The error of validating `raw` as source "t.yaml". */
function schema_error(raw: unknown): string {
  try {
    parse_scenario(raw, "t.yaml");
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as ScenarioError).message;
  }
  throw new Error("validated without error");
}

const HOG = { comm: "hog", policy: "FIFO", priority: 50, cpus: [1], behavior: { busy: true } };

describe("defaults", () => {
  it("fills every default from the contract; durations become nanoseconds", () => {
    const spec = parse_scenario({ kernel: { cpus: 2 }, tasks: [{}], script: [{ cpu_down: 1 }] }, "t.yaml");
    const expected: ScenarioSpec = {
      name: "scenario",
      description: "",
      seed: 1,
      duration_ns: 600e9,
      kernel: {
        version: "2.6.34",
        cpus: 2,
        hz: 1000,
        sched_rt_runtime_us: 950000,
        sched_rt_period_us: 1000000,
        rt_runtime_share: true,
        hung_task_timeout_secs: 120,
        migration_thread_stop: "CPU_DEAD",
        notifier_priority: {},
        topology: null,
      },
      notifiers: [],
      tasks: [{ comm: "task0", policy: "NORMAL", priority: 0, cpus: null, start_ns: 0, behavior: { kind: "busy" }, jitter: 0 }],
      script: [{ at_ns: 0, op: "cpu_down", cpu: 1, on: 0 }],
      stress: null,
      expect: null,
    };
    expect(spec).toEqual(expected);
  });

  it("gives an RT task priority 50 when it names none, and stress every CPU but `on`", () => {
    const spec = parse_scenario(
      { kernel: { cpus: 4 }, tasks: [{ policy: "RR" }], stress: { hotplug: { on: 2 } }, expect: {} },
      "t.yaml",
    );
    expect(spec.tasks[0]!.priority).toBe(50);
    expect(spec.stress).toEqual({ hotplug: { interval_ns: [500e6, 3e9], cpus: [0, 1, 3], on: 2 } });
    expect(spec.expect).toEqual({ outcome: "ok" });
  });

  it("converts every behaviour and notifier action", () => {
    const spec = parse_scenario(
      {
        kernel: { cpus: 2, notifier_priority: { hrtimer_cpu_notify: 20 } },
        notifiers: [{ name: "mydrv_cpu_callback", priority: 5, actions: { CPU_DOWN_PREPARE: "bad", CPU_DEAD: { block: "2.5s" }, CPU_ONLINE: "ok" } }],
        tasks: [
          { behavior: { cycle: { run: "9ms", sleep: "1ms" } }, jitter: 0.25, start: "1500ms" },
          { behavior: { periodic: { period: "10ms", run: "2ms" } }, start: "48h" },
        ],
      },
      "t.yaml",
    );
    expect(spec.kernel.notifier_priority).toEqual({ hrtimer_cpu_notify: 20 });
    expect(spec.notifiers).toEqual([
      {
        name: "mydrv_cpu_callback",
        priority: 5,
        actions: { CPU_DOWN_PREPARE: { kind: "bad" }, CPU_DEAD: { kind: "block", ns: 2_500_000_000 }, CPU_ONLINE: { kind: "ok" } },
      },
    ]);
    expect(spec.tasks.map((t) => [t.behavior, t.start_ns, t.jitter])).toEqual([
      [{ kind: "cycle", run_ns: 9e6, sleep_ns: 1e6 }, 1.5e9, 0.25],
      [{ kind: "periodic", period_ns: 10e6, run_ns: 2e6 }, 48 * 3600e9, 0],
    ]);
  });
});

describe("bad input names the field", () => {
  it("an unknown key, listing the keys it could have been", () => {
    expect(schema_error({ kernel: { cpus: 2, cpu: 3 } })).toBe(
      "t.yaml: kernel.cpu: unknown key (expected one of: version, cpus, hz, sched_rt_runtime_us, sched_rt_period_us, rt_runtime_share, hung_task_timeout_secs, migration_thread_stop, notifier_priority, topology)",
    );
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [HOG, { ...HOG, prio: 3 }] })).toMatch(/^t\.yaml: tasks\[1\]\.prio: unknown key/);
  });

  it("a wrong type", () => {
    expect(schema_error({ kernel: { cpus: "two" } })).toBe('t.yaml: kernel.cpus: expected 1..256, got "two"');
    expect(schema_error({ kernel: { cpus: 2 }, tasks: { comm: "x" } })).toBe("t.yaml: tasks: expected a list, got a mapping");
    expect(schema_error({ kernel: { cpus: 2, rt_runtime_share: "yes" } })).toBe('t.yaml: kernel.rt_runtime_share: expected true or false, got "yes"');
    expect(schema_error({ kernel: 2 })).toBe("t.yaml: kernel: expected a mapping with at least `cpus`, got 2");
  });

  it("a missing kernel.cpus", () => {
    expect(schema_error({})).toBe("t.yaml: kernel: required");
    expect(schema_error({ kernel: {} })).toBe("t.yaml: kernel.cpus: required");
  });

  it("an out-of-range value, in the contract's words", () => {
    const tasks = [HOG, HOG, { ...HOG, priority: 120 }];
    expect(schema_error({ kernel: { cpus: 2 }, tasks })).toBe("t.yaml: tasks[2].priority: expected 1..99, got 120");
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ policy: "NORMAL", priority: 20 }] })).toBe(
      "t.yaml: tasks[0].priority: expected -20..19 (nice, for NORMAL), got 20",
    );
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ ...HOG, priority: 0 }] })).toBe("t.yaml: tasks[0].priority: expected 1..99, got 0");
    expect(schema_error({ kernel: { cpus: 257 } })).toBe("t.yaml: kernel.cpus: expected 1..256, got 257");
    expect(schema_error({ kernel: { cpus: 2, hz: 200 } })).toBe("t.yaml: kernel.hz: expected one of 100 | 250 | 300 | 1000, got 200");
    expect(schema_error({ kernel: { cpus: 2, sched_rt_runtime_us: 2000000 } })).toBe(
      "t.yaml: kernel.sched_rt_runtime_us: expected -1 or 1..1000000 (sched_rt_period_us), got 2000000",
    );
    expect(schema_error({ kernel: { cpus: 2, sched_rt_runtime_us: 0 } })).toMatch(/sched_rt_runtime_us: expected -1 or 1\.\.1000000/);
    expect(schema_error({ kernel: { cpus: 2, sched_rt_period_us: 0 } })).toBe("t.yaml: kernel.sched_rt_period_us: expected 1..2147483647, got 0");
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ jitter: 1.5 }] })).toBe("t.yaml: tasks[0].jitter: expected 0..1, got 1.5");
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ comm: "a-very-long-name" }] })).toBe(
      "t.yaml: tasks[0].comm: expected 1..15 characters, got 16",
    );
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ comm: "" }] })).toBe("t.yaml: tasks[0].comm: expected 1..15 characters, got 0");
    expect(schema_error({ kernel: { cpus: 1.5 } })).toBe("t.yaml: kernel.cpus: expected 1..256, got 1.5");
    expect(schema_error({ kernel: { cpus: 2 }, seed: -1 })).toMatch(/^t\.yaml: seed: expected an integer 0\.\.9007199254740991, got -1$/);
  });

  it("a CPU number not below kernel.cpus, wherever it is", () => {
    const cpus2 = { cpus: 2 };
    const msg = "CPU 2 does not exist: kernel.cpus is 2, so CPUs are 0..1";
    expect(schema_error({ kernel: cpus2, tasks: [{ ...HOG, cpus: [0, 2] }] })).toBe(`t.yaml: tasks[0].cpus[1]: ${msg}`);
    expect(schema_error({ kernel: cpus2, script: [{ cpu_down: 2 }] })).toBe(`t.yaml: script[0].cpu_down: ${msg}`);
    expect(schema_error({ kernel: cpus2, script: [{ cpu_up: 1, on: 2 }] })).toBe(`t.yaml: script[0].on: ${msg}`);
    expect(schema_error({ kernel: cpus2, stress: { hotplug: { cpus: [1, 2] } } })).toBe(`t.yaml: stress.hotplug.cpus[1]: ${msg}`);
    expect(schema_error({ kernel: cpus2, stress: { hotplug: { on: 2 } } })).toBe(`t.yaml: stress.hotplug.on: ${msg}`);
    expect(schema_error({ kernel: { cpus: 1 }, stress: { hotplug: {} } })).toMatch(/^t\.yaml: stress\.hotplug\.cpus: a 1-CPU machine has no CPU to toggle/);
  });

  it("a bad duration, with parse_duration's message", () => {
    expect(schema_error({ kernel: { cpus: 2 }, duration: "10 minutes" })).toBe(
      't.yaml: duration: expected a duration such as "1500ms", "2.5s" or "48h" (units ns, us, ms, s, m, h), got "10 minutes"',
    );
    expect(schema_error({ kernel: { cpus: 2 }, duration: 600 })).toBe('t.yaml: duration: expected a duration string such as "1500ms" or "2.5s", got 600');
    expect(schema_error({ kernel: { cpus: 2 }, duration: "0s" })).toBe('t.yaml: duration: expected a duration of at least 1ns, got "0s"');
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ start: "200d" }] })).toMatch(/^t\.yaml: tasks\[0\]\.start: expected a duration such as/);
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ start: "1000000h" }] })).toBe(
      't.yaml: tasks[0].start: "1000000h" is longer than ksim can represent (about 104 days)',
    );
    expect(schema_error({ kernel: { cpus: 2 }, stress: { hotplug: { interval: ["3s", "1s"] } } })).toBe(
      "t.yaml: stress.hotplug.interval: expected [lo, hi] with lo <= hi",
    );
  });

  it("behavior, script entries and notifiers: exactly one of, known names", () => {
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ behavior: { busy: true, cycle: { run: "1ms", sleep: "1ms" } } }] })).toBe(
      "t.yaml: tasks[0].behavior: expected exactly one of busy, cycle, periodic, got busy and cycle",
    );
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ behavior: {} }] })).toBe(
      "t.yaml: tasks[0].behavior: expected exactly one of busy, cycle, periodic, got none",
    );
    expect(schema_error({ kernel: { cpus: 2 }, tasks: [{ behavior: { periodic: { period: "1ms", run: "2ms" } } }] })).toBe(
      "t.yaml: tasks[0].behavior.periodic.run: expected run to be at most period",
    );
    expect(schema_error({ kernel: { cpus: 2 }, script: [{ at: "1s" }] })).toBe("t.yaml: script[0]: expected exactly one of cpu_down, cpu_up, got neither");
    expect(schema_error({ kernel: { cpus: 2 }, script: [{ cpu_down: 1, cpu_up: 1 }] })).toBe("t.yaml: script[0]: expected exactly one of cpu_down, cpu_up, got both");
    expect(schema_error({ kernel: { cpus: 2 }, script: [{ at: "2s", cpu_down: 1 }, { at: "1s", cpu_up: 1 }] })).toBe(
      "t.yaml: script[1].at: expected a time at or after script[0].at (the script runs in order)",
    );
    expect(schema_error({ kernel: { cpus: 2, notifier_priority: { hrtimer_notify: 20 } } })).toBe(
      "t.yaml: kernel.notifier_priority.hrtimer_notify: unknown built-in notifier (expected one of: migration_call, timer_cpu_notify, hrtimer_cpu_notify, cpu_callback, update_runtime)",
    );
    const nb = (actions: unknown) => ({ kernel: { cpus: 2 }, notifiers: [{ name: "mydrv", actions }] });
    expect(schema_error(nb({ CPU_DEAF: "bad" }))).toMatch(/^t\.yaml: notifiers\[0\]\.actions\.CPU_DEAF: unknown CPU event/);
    expect(schema_error(nb({ CPU_DEAD: "fail" }))).toBe('t.yaml: notifiers[0].actions.CPU_DEAD: expected ok, bad, { block: <duration> } or { errno: <EBUSY, EINVAL, ...> }, got "fail"');
    expect(schema_error(nb({ CPU_DEAD: { block: "5x" } }))).toMatch(/^t\.yaml: notifiers\[0\]\.actions\.CPU_DEAD\.block: expected a duration such as/);
    expect(schema_error(nb({ CPU_DEAD: { blok: "5s" } }))).toMatch(/^t\.yaml: notifiers\[0\]\.actions\.CPU_DEAD\.blok: unknown key/);
    expect(schema_error({ kernel: { cpus: 2 }, notifiers: [{ name: "migration_call" }] })).toBe(
      't.yaml: notifiers[0].name: "migration_call" is already a notifier on the chain',
    );
    expect(schema_error({ kernel: { cpus: 2 }, expect: { outcome: "crash" } })).toBe('t.yaml: expect.outcome: expected one of ok | hang | bug, got "crash"');
  });

  it("the limits: 10000 tasks, 100000 script entries", () => {
    expect(schema_error({ kernel: { cpus: 2 }, tasks: Array.from({ length: 10_001 }, () => ({})) })).toBe(
      "t.yaml: tasks: expected at most 10000 tasks, got a list of 10001 items",
    );
    expect(schema_error({ kernel: { cpus: 2 }, script: Array.from({ length: 100_001 }, () => ({ cpu_up: 1 })) })).toBe(
      "t.yaml: script: expected at most 100000 entries, got a list of 100001 items",
    );
    expect(parse_scenario({ kernel: { cpus: 2 }, tasks: Array.from({ length: 10_000 }, () => ({})) }, "t.yaml").tasks).toHaveLength(10_000);
  });

  it("never a raw exception or a multi-line message, whatever the document (property)", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), fc.anything({ maxDepth: 3 }), (junk, kernel) => {
        for (const raw of [junk, { kernel: { cpus: 2 }, tasks: junk }, { kernel }, { kernel: { cpus: 2 }, tasks: [junk], script: [junk] }]) {
          try {
            parse_scenario(raw, "t.yaml");
          } catch (e) {
            expect(e).toBeInstanceOf(ScenarioError);
            expect((e as ScenarioError).message).toMatch(/^t\.yaml: [^\n]+$/);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("files", () => {
  const yaml = [
    "name: two-cpus",
    "kernel:",
    "  cpus: 2",
    "  migration_thread_stop: CPU_POST_DEAD",
    "tasks:",
    "  - { comm: rt-hog, policy: FIFO, priority: 50, cpus: [1], start: 1100ms, behavior: { busy: true } }",
    "script:",
    "  - { at: 3s, cpu_down: 1, on: 0 }",
    "",
  ].join("\n");
  const json = JSON.stringify({
    name: "two-cpus",
    kernel: { cpus: 2, migration_thread_stop: "CPU_POST_DEAD" },
    tasks: [{ comm: "rt-hog", policy: "FIFO", priority: 50, cpus: [1], start: "1100ms", behavior: { busy: true } }],
    script: [{ at: "3s", cpu_down: 1, on: 0 }],
  });

  it("YAML, .yml and JSON files give the same spec", () => {
    const a = load_scenario(file("s.yaml", yaml));
    const b = load_scenario(file("s.yml", yaml));
    const c = load_scenario(file("s.json", json));
    expect(a.spec.kernel.migration_thread_stop).toBe("CPU_POST_DEAD");
    expect(a.spec.tasks[0]!.start_ns).toBe(1_100_000_000);
    expect(a.spec.script).toEqual([{ at_ns: 3e9, op: "cpu_down", cpu: 1, on: 0 }]);
    expect(b.spec).toEqual(a.spec);
    expect(c.spec).toEqual(a.spec);
  });

  it("names the scenario after its file when it has no name, and reports the path as given", () => {
    const path = file("my-machine.yaml", "kernel: { cpus: 3 }\n");
    const loaded = load_scenario(path);
    expect(loaded.spec.name).toBe("my-machine");
    expect(loaded.source).toBe(path);
  });

  it("puts the file name first, as in the contract", () => {
    const path = file(
      "seed-hang.yaml",
      "kernel: { cpus: 2 }\ntasks:\n  - { policy: FIFO }\n  - { policy: FIFO }\n  - { policy: FIFO, priority: 120 }\n",
    );
    expect(load_error(path)).toBe(`${path}: tasks[2].priority: expected 1..99, got 120`);
  });

  it("an unreadable file", () => {
    const missing = join(dir, "nope", "missing.yaml");
    expect(load_error(missing)).toBe(`${missing}: cannot read: no such file`);
    const d = join(dir, "a-dir.yaml");
    mkdirSync(d);
    expect(load_error(d)).toBe(`${d}: cannot read: it is a directory`);
  });

  it("a YAML syntax error, with its line", () => {
    const path = file("bad.yaml", "kernel:\n  cpus: 2\nseed: 1: 2\nscript: []\n");
    expect(load_error(path)).toMatch(new RegExp(`^${escape(path)}: line 3, column \\d+: YAML syntax error: `));
    const dup = file("dup.yaml", "kernel: { cpus: 2 }\nseed: 1\nseed: 2\n");
    expect(load_error(dup)).toMatch(/line 3, column 1: YAML syntax error: Map keys must be unique/);
  });

  it("a JSON syntax error, with its line", () => {
    const path = file("bad.json", '{\n  "kernel": { "cpus": 2 },\n}\n');
    expect(load_error(path)).toMatch(new RegExp(`^${escape(path)}: line 3, column 1: JSON syntax error: `));
  });

  it("a top level that is not a mapping, or nothing", () => {
    expect(load_error(file("list.yaml", "- 1\n- 2\n"))).toMatch(/: expected a mapping at the top level, got a list of 2 items$/);
    expect(load_error(file("scalar.json", "42"))).toMatch(/: expected a mapping at the top level, got 42$/);
    expect(load_error(file("empty.yaml", ""))).toMatch(/: the scenario is empty \(expected a mapping with at least kernel\.cpus\)$/);
  });

  it("hostile input: binary data and bad UTF-8", () => {
    const bytes = Buffer.alloc(4096);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256;
    expect(load_error(file("bin.yaml", bytes))).toMatch(/: not a text file \(it contains NUL bytes\)$/);
    const latin1 = Buffer.from("name: caf\xe9\n", "latin1");
    expect(load_error(file("latin1.yaml", latin1))).toMatch(/: not a text file \(it is not valid UTF-8\)$/);
  });

  it("hostile input: deep nesting", () => {
    const deep = 20_000;
    const yaml = file("deep.yaml", `kernel: { cpus: 2 }\ndescription: ${"[".repeat(deep)}${"]".repeat(deep)}\n`);
    expect(load_error(yaml)).toMatch(new RegExp(`^${escape(yaml)}: line 2, column \\d+: YAML syntax error: the document is nested too deeply$`));
    const json = file("deep.json", `{"kernel": {"cpus": 2}, "tasks": ${"[".repeat(200_000)}${"]".repeat(200_000)}}`);
    expect(load_error(json)).toBe(`${json}: tasks[0]: expected a mapping, got a list of 1 item`);
  });

  it("hostile input: huge numbers and alias bombs", () => {
    expect(load_error(file("huge.yaml", "kernel: { cpus: 1e400 }\n"))).toMatch(/: kernel\.cpus: expected 1\.\.256, got Infinity$/);
    expect(load_error(file("huge.json", '{"kernel": {"cpus": 2}, "seed": 123456789012345678901234567890}'))).toMatch(
      /: seed: expected an integer 0\.\.9007199254740991, got 1\.2345678901234568e\+29$/,
    );
    // Eight levels of ten references each: 10^8 nodes if expanded.
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 8; i++) {
      const [prev, name] = [String.fromCharCode(96 + i), String.fromCharCode(97 + i)];
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    expect(load_error(file("bomb.yaml", `${bomb.join("\n")}\nkernel: { cpus: 2 }\n`))).toMatch(/bomb\.yaml: cannot parse YAML: /);
  });

  it("hostile input: files over the size cap are refused; a 10 MB file gets a clear answer", () => {
    const big = file("big.yaml", Buffer.alloc(MAX_SCENARIO_BYTES + 1, 0x20));
    expect(load_error(big)).toBe(`${big}: the file is 16.0 MiB, more than the 16.0 MiB ksim reads`);
    const ten = file("ten.yaml", `kernel: { cpus: 2 }\ndescription: ${"x".repeat(10_000_000)}\n`);
    expect(load_error(ten)).toBe(`${ten}: description: expected 0..1000 characters, got 10000000`);
  });

  it("a file name with a newline stays one line", () => {
    const path = file("new\nline.yaml", "kernel: { cpus: 0 }\n");
    const msg = load_error(path);
    expect(msg).toContain("new line.yaml: kernel.cpus: expected 1..256, got 0");
  });
});

describe("--set, --seed, --duration", () => {
  it("overrides fields by dotted or bracketed path, parsing values as YAML", () => {
    const { spec } = load_scenario("seed-hang", {
      sets: [
        "kernel.migration_thread_stop=CPU_POST_DEAD",
        "kernel.notifier_priority.hrtimer_cpu_notify=20",
        "kernel.cpus=4",
        "kernel.rt_runtime_share=false",
        "tasks.0.priority=60",
        "tasks[1].cpus=[2, 3]",
        "tasks[1].behavior={ cycle: { run: 9ms, sleep: 1ms } }",
        "description=a: b",
        "name=my-hang",
      ],
    });
    expect(spec.kernel.migration_thread_stop).toBe("CPU_POST_DEAD");
    expect(spec.kernel.notifier_priority).toEqual({ hrtimer_cpu_notify: 20 });
    expect(spec.kernel.cpus).toBe(4);
    expect(spec.kernel.rt_runtime_share).toBe(false);
    expect(spec.tasks[0]!.priority).toBe(60);
    expect(spec.tasks[1]!.cpus).toEqual([2, 3]);
    expect(spec.tasks[1]!.behavior).toEqual({ kind: "cycle", run_ns: 9e6, sleep_ns: 1e6 });
    expect(spec.description).toBe("a: b");
    expect(spec.name).toBe("my-hang");
  });

  it("creates objects and list entries on the way", () => {
    const path = file("bare.yaml", "kernel: { cpus: 2 }\n");
    const { spec } = load_scenario(path, {
      sets: ["tasks.0.comm=hog", "tasks.0.policy=FIFO", "script[0].cpu_down=1", "stress.hotplug.cpus=[1]", "expect.outcome=hang"],
    });
    expect(spec.tasks).toEqual([{ comm: "hog", policy: "FIFO", priority: 50, cpus: null, start_ns: 0, behavior: { kind: "busy" }, jitter: 0 }]);
    expect(spec.script).toEqual([{ at_ns: 0, op: "cpu_down", cpu: 1, on: 0 }]);
    expect(spec.stress?.hotplug.cpus).toEqual([1]);
    expect(spec.expect).toEqual({ outcome: "hang" });
  });

  it("--seed and --duration come last", () => {
    const { spec } = load_scenario("seed-hang", { sets: ["seed=5", "duration=1m"], seed: 7, duration: "90s" });
    expect(spec.seed).toBe(7);
    expect(spec.duration_ns).toBe(90e9);
  });

  it("a bad value says which option put it there", () => {
    expect(load_error("seed-hang", { sets: ["tasks[0].priority=120"] })).toBe(
      "seed-hang: tasks[0].priority: expected 1..99, got 120 (from --set tasks[0].priority=120)",
    );
    expect(load_error("seed-hang", { sets: ["kernel.cpus=1"] })).toBe(
      "seed-hang: tasks[0].cpus[0]: CPU 1 does not exist: kernel.cpus is 1, so CPUs are 0..0 (and 1 more problem)",
    );
    expect(load_error("seed-hang", { duration: "soon" })).toMatch(/^seed-hang: duration: expected a duration such as .* got "soon" \(from --duration soon\)$/);
    expect(load_error("seed-hang", { seed: -3 })).toBe("seed-hang: seed: expected an integer 0..9007199254740991, got -3 (from --seed -3)");
  });

  it("bad --set syntax", () => {
    expect(load_error("seed-hang", { sets: ["kernel.cpus"] })).toBe('seed-hang: bad --set "kernel.cpus": expected PATH=VALUE, e.g. kernel.cpus=4');
    expect(load_error("seed-hang", { sets: ["=4"] })).toBe('seed-hang: bad --set "=4": expected PATH=VALUE, e.g. kernel.cpus=4');
    expect(load_error("seed-hang", { sets: ["kernel..cpus=4"] })).toMatch(/^seed-hang: bad --set path "kernel\.\.cpus": expected field names and indexes/);
    expect(load_error("seed-hang", { sets: ["tasks[x].priority=4"] })).toMatch(/^seed-hang: bad --set path "tasks\[x\]\.priority"/);
    expect(load_error("seed-hang", { sets: ["tasks.7.priority=4"] })).toBe(
      'seed-hang: bad --set "tasks.7.priority=4": index 7 is past the end of tasks (it has 2 items)',
    );
    expect(load_error("seed-hang", { sets: ["tasks.comm=x"] })).toBe(
      'seed-hang: bad --set "tasks.comm=x": tasks is a list, so expected an index, got "comm"',
    );
    expect(load_error("seed-hang", { sets: ["seed.x=1"] })).toBe('seed-hang: bad --set "seed.x=1": seed is 1, not a mapping or list');
    expect(load_error("seed-hang", { sets: ["__proto__.polluted=1"] })).toMatch(/^seed-hang: bad --set path "__proto__\.polluted": "__proto__" is not a scenario field$/);
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("built-ins", () => {
  it("read from their parsed form (the build's builtins.json) are the scenarios their YAML gives", () => {
    const parsed = parse_builtins();
    expect(Object.keys(parsed)).toEqual(builtin_names());
    const cache = file("builtins.json", JSON.stringify(parsed));
    for (const name of builtin_names()) {
      const text = parsed[name]!.text;
      // The same YAML under another path: read and validated the long way.
      const slow = load_scenario(file(`${name}.yaml`, text));
      const fast = parsed_builtin(name, text, cache);
      expect(fast).toEqual({ spec: slow.spec, raw: slow.raw, source: name });
    }
  });

  it("are parsed again when their YAML no longer matches the parsed form, or it is missing", () => {
    const parsed = parse_builtins();
    const cache = file("builtins.json", JSON.stringify(parsed));
    const edited = parsed["seed-hang"]!.text.replace("seed: 1", "seed: 2");
    expect(edited).not.toBe(parsed["seed-hang"]!.text);
    expect(parsed_builtin("seed-hang", edited, cache)).toBeNull();
    expect(parsed_builtin("seed-hang", parsed["seed-hang"]!.text, join(dir, "no-such.json"))).toBeNull();
    expect(parsed_builtin("no-such-scenario", "x", cache)).toBeNull();
  });

  it("scenario_schema is the zod schema parse_scenario applies", () => {
    const raw = { kernel: { cpus: 2 }, tasks: [{ policy: "FIFO", priority: 60, behavior: { busy: true } }] };
    expect(scenario_schema.parse(raw)).toEqual(parse_scenario(raw, "x"));
  });

  it("are the four of the contract, each with a description", () => {
    expect(builtin_names()).toEqual(["seed-fix-hrtimer-priority", "seed-fix-post-dead", "seed-hang", "seed-stress"]);
    for (const s of builtin_scenarios()) expect(s.description.length).toBeGreaterThan(20);
  });

  it("seed-hang: 2.6.34 as released, two FIFO hogs, cpu_down(1) at 3 s, expects the hang", () => {
    const { spec, source } = load_scenario("seed-hang");
    expect(source).toBe("seed-hang");
    expect(spec.kernel).toMatchObject({ cpus: 2, migration_thread_stop: "CPU_DEAD", notifier_priority: {} });
    expect(spec.duration_ns).toBe(600e9);
    expect(spec.tasks.map((t) => [t.comm, t.policy, t.priority, t.cpus, t.start_ns])).toEqual([
      ["rt-hog1", "FIFO", 50, [1], 1.1e9],
      ["rt-hog0", "FIFO", 50, [0], 1.2e9],
    ]);
    expect(spec.script).toEqual([{ at_ns: 3e9, op: "cpu_down", cpu: 1, on: 0 }]);
    expect(spec.expect).toEqual({ outcome: "hang" });
  });

  it("the two fixes differ from seed-hang only in the fix, the cpu_up at 20 s, the duration and the expectation", () => {
    const hang = load_scenario("seed-hang").spec;
    const post = load_scenario("seed-fix-post-dead").spec;
    const prio = load_scenario("seed-fix-hrtimer-priority").spec;
    for (const fix of [post, prio]) {
      expect(fix.tasks).toEqual(hang.tasks);
      expect(fix.script).toEqual([...hang.script, { at_ns: 20e9, op: "cpu_up", cpu: 1, on: 0 }]);
      expect(fix.duration_ns).toBe(60e9);
      expect(fix.expect).toEqual({ outcome: "ok" });
    }
    expect(post.kernel).toEqual({ ...hang.kernel, migration_thread_stop: "CPU_POST_DEAD" });
    expect(prio.kernel).toEqual({ ...hang.kernel, notifier_priority: { hrtimer_cpu_notify: 20 } });
  });

  it("seed-stress: 4 CPUs for 12 h, mixed load started in the first 2 s, random hotplug of CPUs 1-3", () => {
    const { spec } = load_scenario("seed-stress");
    expect(spec.kernel.cpus).toBe(4);
    expect(spec.kernel.migration_thread_stop).toBe("CPU_DEAD");
    expect(spec.duration_ns).toBe(12 * 3600e9);
    expect(spec.expect).toBeNull();
    const fifo = spec.tasks.filter((t) => t.policy === "FIFO");
    expect(fifo.map((t) => t.cpus)).toEqual([[0], [1], [2], [3]]);
    expect(fifo.every((t) => t.behavior.kind === "cycle" && t.behavior.run_ns === 300e6 && t.behavior.sleep_ns === 700e6 && t.jitter === 0.5)).toBe(true);
    expect(Math.min(...fifo.map((t) => t.priority))).toBe(40);
    expect(Math.max(...fifo.map((t) => t.priority))).toBe(70);
    const rr = spec.tasks.filter((t) => t.policy === "RR");
    expect(rr.map((t) => [t.priority, [...(t.cpus ?? [])].sort(), t.behavior, t.jitter])).toEqual([
      [30, [2, 3], { kind: "periodic", period_ns: 1e9, run_ns: 400e6 }, 0.3],
      [30, [2, 3], { kind: "periodic", period_ns: 1e9, run_ns: 400e6 }, 0.3],
    ]);
    const normal = spec.tasks.filter((t) => t.policy === "NORMAL");
    expect(normal).toHaveLength(4);
    expect(normal.every((t) => t.priority === 0 && t.behavior.kind === "busy" && t.cpus?.length === 4)).toBe(true);
    expect(Math.max(...spec.tasks.map((t) => t.start_ns))).toBeLessThan(2e9);
    expect(spec.stress).toEqual({ hotplug: { interval_ns: [500e6, 3e9], cpus: [1, 2, 3], on: 0 } });
  });

  it("an unknown built-in name lists the built-ins", () => {
    expect(load_error("seed-hnag")).toBe(
      "seed-hnag: no such file, and not a built-in scenario (built-ins: seed-fix-hrtimer-priority, seed-fix-post-dead, seed-hang, seed-stress)",
    );
  });
});

describe("JSON Schema", () => {
  it("describes the file format: strict objects, durations as strings, kernel.cpus required", () => {
    const s = scenario_json_schema() as {
      $schema: string;
      additionalProperties: boolean;
      properties: Record<string, { type?: string; default?: unknown; properties?: Record<string, unknown>; required?: string[]; items?: unknown }>;
      required: string[];
    };
    expect(s.$schema).toMatch(/json-schema\.org/);
    expect(s.additionalProperties).toBe(false);
    expect(s.required).toEqual(["kernel"]);
    expect(s.properties["duration"]).toMatchObject({ type: "string", default: "10m" });
    expect(s.properties["kernel"]!.required).toEqual(["cpus"]);
    expect(s.properties["kernel"]!.properties!["hz"]).toMatchObject({ enum: [100, 250, 300, 1000], default: 1000 });
    expect(s.properties["tasks"]!.items).toMatchObject({
      additionalProperties: false,
      properties: { policy: { enum: ["FIFO", "RR", "NORMAL"] }, start: { type: "string", default: "0s" } },
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("kernel.version", () => {
  it("defaults to 2.6.34; a 2.6.35 spec carries cpu_stop's own CPU_POST_DEAD", () => {
    expect(parse_scenario({ kernel: { cpus: 2 } }, "t.yaml").kernel).toMatchObject({ version: "2.6.34", migration_thread_stop: "CPU_DEAD" });
    expect(parse_scenario({ kernel: { cpus: 2, version: "2.6.35" } }, "t.yaml").kernel).toMatchObject({
      version: "2.6.35",
      migration_thread_stop: "CPU_POST_DEAD",
    });
  });

  it("refuses migration_thread_stop under 2.6.35, naming the field and the version, even at 2.6.34's default value", () => {
    for (const stop of ["CPU_DEAD", "CPU_POST_DEAD"]) {
      expect(() => parse_scenario({ kernel: { cpus: 2, version: "2.6.35", migration_thread_stop: stop } }, "t.yaml")).toThrow(
        't.yaml: kernel.migration_thread_stop: not a knob of kernel 2.6.35: its cpu_stop_cpu_callback always stops migration/N at CPU_POST_DEAD (remove it, or set kernel.version to "2.6.34")',
      );
    }
  });

  it("refuses an unknown version", () => {
    expect(() => parse_scenario({ kernel: { cpus: 2, version: "2.6.36" } }, "t.yaml")).toThrow(
      "t.yaml: kernel.version: expected one of 2.6.34 | 2.6.35, got",
    );
  });

  it("--set kernel.version=2.6.35 turns a built-in into a 2.6.35 machine; with the patch's knob it is refused", () => {
    expect(load_scenario("seed-hang", { sets: ["kernel.version=2.6.35"] }).spec.kernel.version).toBe("2.6.35");
    expect(() => load_scenario("seed-fix-post-dead", { sets: ["kernel.version=2.6.35"] })).toThrow(
      "seed-fix-post-dead: kernel.migration_thread_stop: not a knob of kernel 2.6.35",
    );
  });

  it("every built-in says which kernel it models", () => {
    expect(builtin_scenarios().map((b) => [b.name, b.kernel_version])).toEqual([
      ["seed-fix-hrtimer-priority", "2.6.34"],
      ["seed-fix-post-dead", "2.6.34"],
      ["seed-hang", "2.6.34"],
      ["seed-stress", "2.6.34"],
    ]);
  });
});

describe("kernel.topology", () => {
  it("is null by default and passes a shape whose CPUs number kernel.cpus", () => {
    expect(parse_scenario({ kernel: { cpus: 4 } }, "t.yaml").kernel.topology).toBeNull();
    const t = { packages: 2, cores_per_package: 2, threads_per_core: 2 };
    expect(parse_scenario({ kernel: { cpus: 8, topology: t } }, "t.yaml").kernel.topology).toEqual(t);
  });

  it("names the field when the shape has another number of CPUs", () => {
    expect(() => parse_scenario({ kernel: { cpus: 6, topology: { packages: 2, cores_per_package: 2, threads_per_core: 2 } } }, "t.yaml")).toThrow(
      /kernel\.topology: expected packages x cores_per_package x threads_per_core = kernel\.cpus \(6\), got 8/,
    );
  });
});

