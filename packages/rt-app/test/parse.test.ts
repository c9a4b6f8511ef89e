import { describe, expect, it } from "vitest";
import { min_cpus, parse_json, parse_rt_app, RtAppError } from "../src/index.js";

describe("the workgen dialect", () => {
  it("takes comments, trailing commas and repeated keys, in file order", () => {
    const doc = parse_json(`{
      // a line comment
      "a": 1, /* a block
      comment */ "run": 10, "sleep": 20, "run": 30, "sleep": 40,
      "list": [1, 2, ],
    }`);
    expect(doc).toEqual({
      kind: "object",
      entries: [["a", 1], ["run", 10], ["sleep", 20], ["run", 30], ["sleep", 40], ["list", [1, 2]]],
    });
  });

  it("names the line and column of a syntax error", () => {
    expect(() => parse_rt_app('{ "tasks": { "t": { "run" 10 } } }', "x.json")).toThrow("x.json: line 1, column 27: expected : after the key \"run\"");
  });

  it("keeps repeated run and sleep keys as events of one phase, in order", () => {
    const w = parse_rt_app(`{ "tasks": { "t": { "loop": 2, "run": 1000, "sleep": 2000, "run": 3000, "sleep": 4000 } } }`, "w.json");
    const ev = w.threads[0]!.phases[0]!.events;
    expect(ev.map((e) => [e.kind, e.kind === "run" ? e.ns : e.kind === "sleep" ? e.us * 1000 : 0])).toEqual([
      ["run", 1_000_000], ["sleep", 2_000_000], ["run", 3_000_000], ["sleep", 4_000_000],
    ]);
    // A loop on a thread without phases is the phase's loop; the thread runs it once.
    expect([w.threads[0]!.loop, w.threads[0]!.phases[0]!.loop]).toEqual([1, 2]);
  });
});

describe("validation", () => {
  const refused = (text: string) => {
    try {
      parse_rt_app(text, "f.json");
    } catch (e) {
      if (e instanceof RtAppError) return e.message;
      throw e;
    }
    return "accepted";
  };

  it("refuses SCHED_DEADLINE keys naming the file and the field path", () => {
    expect(refused(`{ "tasks": { "thread0": { "phases": { "p1": { "run": 10, "dl-runtime": 100 } } } } }`)).toBe(
      "f.json: tasks.thread0.phases.p1.dl-runtime: SCHED_DEADLINE is not in Linux 2.6.34 (it came with 3.14)",
    );
    expect(refused(`{ "tasks": { "t": { "run": 10, "policy": "SCHED_DEADLINE" } } }`)).toMatch(/^f\.json: tasks\.t\.policy: SCHED_DEADLINE is not in Linux 2\.6\.34/);
  });

  it("refuses util_min, util_max, taskgroup, nodes_membind and pi_enabled, one line each", () => {
    expect(refused(`{ "tasks": { "t": { "run": 10, "util_min": 100 } } }`)).toMatch(/^f\.json: tasks\.t\.util_min: utilization clamping/);
    expect(refused(`{ "tasks": { "t": { "run": 10, "util_max": 100 } } }`)).toMatch(/^f\.json: tasks\.t\.util_max: /);
    expect(refused(`{ "tasks": { "t": { "run": 10, "taskgroup": "/a" } } }`)).toMatch(/^f\.json: tasks\.t\.taskgroup: /);
    expect(refused(`{ "tasks": { "t": { "run": 10, "nodes_membind": [0] } } }`)).toMatch(/^f\.json: tasks\.t\.nodes_membind: /);
    expect(refused(`{ "global": { "pi_enabled": true }, "tasks": { "t": { "run": 10 } } }`)).toMatch(/^f\.json: global\.pi_enabled: priority-inheritance/);
    expect(refused(`{ "tasks": { "t": { "run": 10, "priority": 120, "policy": "SCHED_FIFO" } } }`)).toBe("f.json: tasks.t.priority: expected 1..99, got 120");
    for (const m of [refused(`{ "tasks": { "t": { "run": 10, "util_min": 1 } } }`)]) expect(m.split("\n")).toHaveLength(1);
  });

  it("passes over the keys rt-app does not read, as rt-app does, and lists them in file order", () => {
    const w = parse_rt_app(
      `{ "global": { "duration": 1, "frag": 1 }, "extra": {},
         "tasks": { "t": { "run": 10, "colour": 1, "timer": { "ref": "a", "period": 100, "slack": 5 } },
                    "p": { "sleep": 5, "phases": { "one": { "run": 10, "weight": 3, "wait": { "ref": "c", "mutex": "m", "x": 0 } } } } } }`,
      "f.json",
    );
    expect(w.ignored).toEqual([
      { path: "extra", why: "rt-app reads only tasks, global and resources" },
      { path: "global.frag", why: "not a global option rt-app reads" },
      { path: "tasks.t.colour", why: "not a thread property or an event" },
      { path: "tasks.t.timer.slack", why: "a timer has ref, period and mode" },
      { path: "tasks.p.sleep", why: "a thread with phases has its events in them" },
      { path: "tasks.p.phases.one.weight", why: "not a phase property or an event" },
      { path: "tasks.p.phases.one.wait.x", why: "a wait has ref and mutex" },
    ]);
    // What is left is what rt-app runs: t's run and timer, p's one phase of run and wait.
    expect(w.threads.map((t) => t.phases.map((ph) => ph.events.map((e) => e.kind)))).toEqual([[["run", "timer"]], [["run", "wait"]]]);
    // A thread left with no event at all is refused, as rt-app refuses it.
    expect(refused(`{ "tasks": { "t": { "colour": 1 } } }`)).toMatch(/^f\.json: tasks\.t: no events/);
  });

  it("scales run by a numeric calibration and counts the CPUs named", () => {
    const w = parse_rt_app(`{ "global": { "calibration": 300 }, "tasks": { "a": { "cpus": [3], "run": 1000, "runtime": 1000 } } }`, "c.json");
    const [run, runtime] = w.threads[0]!.phases[0]!.events;
    expect(run).toMatchObject({ kind: "run", ns: 999_900, loops: 3333, c_us: 1000 });
    expect(runtime).toMatchObject({ kind: "run", ns: 1_000_000, c_us: 1000 });
    expect(min_cpus(w)).toBe(4);
  });
});
