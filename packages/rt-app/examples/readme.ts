import { make_test_kernel } from "@ksim/core/testing";
import { parse_rt_app, start_rt_app } from "@ksim/rt-app";

/**
 * One CPU, one rt-app thread: 10 ms of work on a 100 ms timer, for one
 * second. Returns its CPU time and the first rows of rt-app's log.
 */
export function readme_example(): { runtime_ms: number; log: string[] } {
  const k = make_test_kernel({ cpus: 1 });
  const workload = parse_rt_app(
    `{
      "global": { "duration": 1 },   // comments and trailing commas, as workgen takes them
      "tasks": { "thread0": { "run": 10000, "timer": { "ref": "tick", "period": 100000 }, } },
    }`,
    "periodic.json",
  );
  const run = start_rt_app(k, workload, { time_base_ns: 0 });
  k.run(1_000_000_000);
  const [log] = run.logs();
  return { runtime_ms: run.instances[0]!.task.se.sum_exec_runtime / 1e6, log: log!.text.split("\n").slice(0, 3) };
}
