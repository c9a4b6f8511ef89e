/**
 * Where a scenario's task starts: the scenario format promises the first CPU
 * listed in its `cpus`, even when fork balancing (SD_BALANCE_FORK) alone would
 * put it on an idler CPU. The balancer may move it afterwards.
 */
import { describe, expect, it } from "vitest";
import type { TraceRecord, TraceSink } from "@ksim/core";
import { parse_scenario } from "@ksim/scenario";
import { run_scenario } from "../src/runner.js";

function first_wakeups(cpus: number, tasks: { comm: string; cpus?: number[]; policy?: string }[]) {
  const spec = parse_scenario(
    {
      name: "task-start",
      duration: "50ms",
      kernel: { cpus },
      tasks: tasks.map((t) => ({ start: "10ms", behavior: { busy: true }, ...t })),
    },
    "task-start.yaml",
  );
  const seen = new Map<string, number>();
  const sink: TraceSink = {
    write(rec: TraceRecord) {
      if (rec.event !== "sched_wakeup_new") return;
      const comm = String(rec.fields.comm);
      if (!seen.has(comm)) seen.set(comm, Number(rec.fields.target_cpu));
    },
  };
  const r = run_scenario(spec, { trace: [sink] });
  return { r, seen };
}

describe.each([4, 8])("a scenario task starts on the first CPU of its cpus (%i CPUs)", (cpus) => {
  const all = Array.from({ length: cpus }, (_, i) => i);
  // Listed from CPU 1 on: [1, 2, ..., 0], and every CPU for the others.
  const rotated = [...all.slice(1), 0];

  it("every task allowed everywhere starts on CPU 0, one listed from CPU 1 on starts on CPU 1", () => {
    const tasks = [
      ...Array.from({ length: cpus }, (_, i) => ({ comm: `spin${i}` })),
      { comm: "rotated", cpus: rotated },
      { comm: "rt", cpus: rotated, policy: "FIFO" },
    ];
    const { r, seen } = first_wakeups(cpus, tasks);
    expect(r.outcome).toBe("ok");
    for (let i = 0; i < cpus; i++) expect(seen.get(`spin${i}`)).toBe(0);
    expect(seen.get("rotated")).toBe(1);
    expect(seen.get("rt")).toBe(1);
  });

  it("the balancer then spreads them: at the end one spinner runs on each CPU", () => {
    const { r } = first_wakeups(cpus, Array.from({ length: cpus }, (_, i) => ({ comm: `spin${i}` })));
    const on = r.tasks.filter((t) => t.comm.startsWith("spin")).map((t) => t.cpu);
    expect(new Set(on).size).toBe(cpus);
  });
});
