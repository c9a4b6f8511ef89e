import { make_test_kernel } from "@ksim/core/testing";
import { describe, expect, it } from "vitest";
import { parse_rt_app, RtAppError, start_rt_app } from "../src/index.js";

/**
 * rt-app's doc/examples, by name, with the outcome each must have in ksim.
 * Each is checked against a file written here with the same features (the
 * examples themselves are not copied): "runs", or the field path refused.
 * Keys rt-app does not read (browser's and mp3's `global.frag`, from an
 * older rt-app) are passed over, as rt-app passes over them.
 */
const G = `"global": { "duration": 1, "calibration": "CPU0", "default_policy": "SCHED_OTHER", "pi_enabled": false,
  "lock_pages": false, "logdir": "./", "log_basename": "x", "ftrace": "none", "gnuplot": false }`;
const SUSPEND_RESUME = `{ ${G}, "tasks": {
  "main": { "loop": 3, "phases": { "start": { "loop": 1, "sleep": 4000, "run": 1500, "resume": "worker", "run": 700 },
    "render": { "loop": 5, "resume": "sub", "run": 300 }, "stop": { "suspend": "main", "run": 20, "sleep": 800 } } },
  "worker": { "priority": -6, "loop": -1, "suspend": "worker", "run": 500, "lock": "m", "signal": "c", "unlock": "m", "resume": "main" },
  "sub": { "priority": -6, "loop": -1, "suspend": "sub", "run": 100 },
  "binder": { "loop": -1, "lock": "m", "wait": { "ref": "c", "mutex": "m" }, "unlock": "m", "run": 50,
    "lock1": "m2", "sync": { "ref": "d", "mutex": "m2" }, "unlock1": "m2" },
  "peer": { "loop": -1, "lock": "m2", "wait": { "ref": "d", "mutex": "m2" }, "signal": "d", "unlock": "m2" } } }`;
/** An older rt-app's global option, which today's rt-app does not read. */
const FRAG = (text: string) => text.replace('"global": {', '"global": { "frag": 1,');
/** video-*.json name a suspend with no value, a JSON error that stops rt-app's parser (json-c) too. */
const SUSPEND_NO_VALUE = `{ ${G}, "tasks": { "surfaceflinger": { "priority": -7, "loop": -1,
  "suspend",
  "run": 1500 } } }`;
const TIMERS = `{ ${G}, "tasks": { "thread": { "instance": 3, "cpus": [0, 1], "loop": -1, "phases": {
  "light": { "loop": 10, "run": 1000, "timer": { "ref": "unique", "period": 10000 } },
  "heavy": { "loop": 10, "policy": "SCHED_FIFO", "run": 4000, "timer": { "ref": "unique", "period": 10000, "mode": "absolute" } },
  "shared": { "priority": 20, "run": 100, "timer": { "ref": "tick", "period": 5000 } } } } } }`;
const AUDIO = `{ ${G}, "tasks": {
  "tick": { "priority": -19, "loop": -1, "cpus": [0], "resume": "track", "timer": { "ref": "tick", "period": 6000 } },
  "track": { "priority": -16, "loop": -1, "cpus": [1], "suspend": "track", "run": 1500, "lock": "mutex", "signal": "queue", "unlock": "mutex" },
  "out": { "priority": -19, "loop": -1, "lock": "mutex", "wait": { "ref": "queue", "mutex": "mutex" }, "unlock": "mutex", "run": 200 } } }`;
const SIMPLE = `{ ${G}, "tasks": { "thread0": { "instance": 1, "loop": -1, "run": 20000, "sleep": 80000 } } }`;
const BARRIER = `{ ${G}, "tasks": {
  "task0": { "loop": -1, "runtime1": 1000, "sleep1": 2000, "barrier1": "FIRST", "runtime2": 2000, "barrier2": "SECOND" },
  "task1": { "loop": -1, "runtime1": 2000, "barrier1": "FIRST", "runtime2": 1000, "sleep2": 2000, "barrier2": "SECOND" } } }`;
const IO = `{ "global": { "duration": 1, "io_device": "/dev/null", "mem_buffer_size": 1048576 }, "tasks": {
  "thread": { "instance": 2, "loop": -1, "run": 1000, "mem": 100000, "iorun": 100000, "sleep": 5000 } } }`;
const AFFINITY = `{ ${G}, "tasks": { "thread0": { "cpus": [0, 1], "loop": -1, "phases": {
  "phase0": { "cpus": [0], "run": 1000 }, "phase1": { "cpus": [1], "run": 1000 }, "phase2": { "run": 1000 } } } } }`;
const FORK = `{ ${G}, "tasks": { "thread1": { "phases": { "p": { "run": 1000, "sleep": 1000 } } },
  "thread2": { "instance": 0, "phases": { "p": { "run": 2000, "sleep": 2000 } } },
  "thread3": { "loop": 1, "phases": { "p1": { "fork": "thread1", "run": 1000 }, "p2": { "fork": "thread2", "run": 2000 } } } } }`;
const SLICE = `{ ${G}, "tasks": { "thread0": { "loop": -1, "run": 20000, "policy": "SCHED_OTHER", "priority": -19, "dl-runtime": 100000 } } }`;
const TASKGROUP = `{ ${G}, "tasks": { "thread0": { "loop": -1, "run": 1000, "sleep": 1000, "taskgroup": "/tg1" } } }`;
const TASKGROUP_PHASE = `{ ${G}, "tasks": { "thread0": { "phases": { "phase0": { "taskgroup": "/tg1", "run": 1000 } } } } }`;
const OLD_GRAMMAR = `{ "tasks": { "thread0": { "exec": 5000, "period": 5000, "deadline": 5000, "lock_order": ["m0"] } } }`;
const FRAGMENT = `{ "global": { "duration": 5, "logdir": "/tmp" } }`;
const RESOURCES = `{ "resources": { "m": { "type": "mutex" } } }`;

const EXAMPLES: readonly [string, string, string][] = [
  ["browser-long.json", FRAG(SUSPEND_RESUME), "runs"],
  ["browser-short.json", FRAG(SUSPEND_RESUME), "runs"],
  ["video-long.json", SUSPEND_NO_VALUE, 'line 3, column 12: expected : after the key "suspend"'],
  ["video-short.json", SUSPEND_NO_VALUE, 'line 3, column 12: expected : after the key "suspend"'],
  ["mp3-long.json", FRAG(AUDIO), "runs"],
  ["mp3-short.json", FRAG(AUDIO), "runs"],
  ["spreading-tasks.json", TIMERS, "runs"],
  ["template.json", TIMERS, "runs"],
  ["cpufreq_governor_efficiency/calibration.json", SIMPLE, "runs"],
  ["cpufreq_governor_efficiency/dvfs.json", TIMERS, "runs"],
  ["tutorial/example1.json", SIMPLE, "runs"],
  ["tutorial/example2.json", TIMERS, "runs"],
  ["tutorial/example3.json", TIMERS, "runs"],
  ["tutorial/example4.json", SUSPEND_RESUME, "runs"],
  ["tutorial/example5.json", AUDIO, "runs"],
  ["tutorial/example6.json", IO, "runs"],
  ["tutorial/example7.json", BARRIER, "runs"],
  ["tutorial/example8.json", AFFINITY, "runs"],
  ["tutorial/example9.json", FORK, "runs"],
  ["custom-slice.json", SLICE, "tasks.thread0.dl-runtime: SCHED_DEADLINE is not in Linux 2.6.34 (it came with 3.14)"],
  ["tutorial/example10.json", TASKGROUP, "tasks.thread0.taskgroup: "],
  ["tutorial/example11.json", TASKGROUP_PHASE, "tasks.thread0.phases.phase0.taskgroup: "],
  ["merge/thread0.json", OLD_GRAMMAR, "tasks.thread0.period: SCHED_DEADLINE"],
  ["merge/thread1.json", OLD_GRAMMAR, "tasks.thread0.period: SCHED_DEADLINE"],
  ["merge/thread2.json", OLD_GRAMMAR, "tasks.thread0.period: SCHED_DEADLINE"],
  ["merge/thread3.json", OLD_GRAMMAR, "tasks.thread0.period: SCHED_DEADLINE"],
  ["merge/global.json", FRAGMENT, "tasks: required"],
  ["merge/resources.json", RESOURCES, "tasks: required"],
];

describe("rt-app's doc/examples", () => {
  it.each(EXAMPLES)("%s", (name, text, outcome) => {
    if (outcome !== "runs") {
      let message = "";
      try {
        parse_rt_app(text, name);
      } catch (e) {
        if (!(e instanceof RtAppError)) throw e;
        message = e.message;
      }
      expect(message.startsWith(`${name}: ${outcome}`)).toBe(true);
      expect(message).not.toContain("\n");
      return;
    }
    const k = make_test_kernel({ cpus: 2 });
    const workload = parse_rt_app(text, name);
    expect(workload.ignored.map((i) => i.path)).toEqual(text.includes('"frag"') ? ["global.frag"] : []);
    const run = start_rt_app(k, workload, { time_base_ns: 0 });
    k.run(1_000_000_000);
    // A second of it ran without a bug: CPU time was used and iterations were logged.
    expect(run.instances.reduce((s, i) => s + i.task.se.sum_exec_runtime, 0)).toBeGreaterThan(0);
    expect(run.logs().some((l) => l.text.split("\n").length > 2)).toBe(true);
  });
});
