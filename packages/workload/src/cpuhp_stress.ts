/**
 * "cpuhp-stress": the user task that drives hotplug, as a shell loop would:
 * `taskset -c ON sh -c 'echo 0 > /sys/devices/system/cpu/cpuN/online'`.
 * An ordinary SCHED_NORMAL task (nice 0) competing for its CPU. It performs
 * the scenario's timed script and/or the random operations of the stress
 * section, in the manner of rcutorture's onoff kthread (torture_onoff).
 */
import {
  CpuMask,
  errno_name,
  SCHEDULE,
  SimEvent,
  smp_processor_id,
  SLEEP,
  type Kernel,
  type KernelCall,
  type Prng,
  type TaskStruct,
} from "@ksim/core";
import type { ScriptOp, StressHotplug } from "@ksim/scenario";
import { start_task_at } from "./workload.js";

/** One write to .../cpuN/online, as the task saw it. */
export interface CpuhpStressOp {
  readonly op: "cpu_down" | "cpu_up";
  readonly cpu: number;
  /** Where the write came from: the script, or the random stress loop. */
  readonly source: "script" | "stress";
  /** The CPU it was asked to write from, and the CPU it actually ran on. */
  readonly on: number;
  ran_on: number;
  /** When it was due, when the write started, and when it returned (null: not yet). */
  readonly due_ns: number;
  start_ns: number;
  end_ns: number | null;
  /** cpu_down / cpu_up's return: 0 or -errno; null while it runs. */
  ret: number | null;
}

export interface CpuhpStressOptions {
  script: readonly ScriptOp[];
  stress: StressHotplug | null;
  /** The stress loop's random stream. */
  prng: Prng;
  /** Where the script's `at` times count from (default: now, the end of boot). */
  time_base_ns?: number;
  /** Called when an operation starts and again when it returns. */
  on_op?: (op: CpuhpStressOp) => void;
  /** Operations kept in `ops` (oldest dropped first; default 4096). */
  max_records?: number;
}

/** "ok" or the errno name, as the hotplug log spells a result. */
export function op_result(op: CpuhpStressOp): string {
  if (op.ret === null) return "incomplete";
  return op.ret === 0 ? "ok" : errno_name(op.ret);
}

export class CpuhpStress {
  readonly task: TaskStruct;
  /** The most recent operations, oldest first. */
  readonly ops: CpuhpStressOp[] = [];
  /** Operations started so far (ops may have dropped the oldest). */
  nr_ops = 0;
  /** The operation in progress, if any. */
  current_op: CpuhpStressOp | null = null;

  private readonly script: readonly ScriptOp[];
  private readonly stress: StressHotplug | null;
  private readonly prng: Prng;
  private readonly time_base: number;
  private readonly max_records: number;
  private readonly on_op: ((op: CpuhpStressOp) => void) | undefined;
  /** The affinity to give the task once it sleeps (see set_affinity_asleep). */
  private pending_mask: CpuMask | null = null;
  private readonly affinity_ev: SimEvent;

  constructor(
    private readonly k: Kernel,
    opts: CpuhpStressOptions,
  ) {
    this.script = [...opts.script].sort((a, b) => a.at_ns - b.at_ns);
    this.stress = opts.stress;
    this.prng = opts.prng;
    this.time_base = opts.time_base_ns ?? k.engine.now;
    this.max_records = opts.max_records ?? 4096;
    this.on_op = opts.on_op;
    if (this.stress && this.stress.cpus.length === 0) throw new RangeError("stress.hotplug.cpus is empty");
    const first_on = this.script[0]?.on ?? this.stress?.on ?? 0;
    this.task = k.sched.create_task({
      comm: "cpuhp-stress",
      policy: "NORMAL",
      nice: 0,
      cpus_allowed: CpuMask.cpumask_of(first_on),
      cpu: first_on,
      threadfn: () => this.body(),
    });
    this.affinity_ev = new SimEvent("cpuhp-stress/affinity", () => {
      const m = this.pending_mask;
      this.pending_mask = null;
      if (m) this.k.sched.set_cpus_allowed_ptr(this.task, m);
    });
    // Started like a process forked from a shell on that CPU.
    start_task_at(k, this.task, first_on, this.time_base);
  }

  private *body(): KernelCall<number> {
    const k = this.k;
    const stress = this.stress;
    let next_script = 0;
    // torture_onoff: wait a random interval before each operation.
    let stress_at = stress ? k.engine.now + this.prng.between(stress.interval_ns[0], stress.interval_ns[1]) : Infinity;
    for (;;) {
      const s = this.script[next_script];
      const script_at = s ? this.time_base + s.at_ns : Infinity;
      if (script_at === Infinity && stress_at === Infinity) return 0;
      if (s && script_at <= stress_at) {
        next_script++;
        yield* this.write_online(s.op, s.cpu, s.on, script_at, "script");
      } else if (stress) {
        yield* this.sleep_on(stress.on, stress_at);
        const cpu = this.prng.pick(stress.cpus);
        const op = k.hotplug.cpu_online(cpu) ? "cpu_down" : "cpu_up";
        yield* this.write_online(op, cpu, stress.on, stress_at, "stress");
        stress_at = k.engine.now + this.prng.between(stress.interval_ns[0], stress.interval_ns[1]);
      }
    }
  }

  /** Sleep until `at` and wake on CPU `on`. */
  private *sleep_on(on: number, at: number): KernelCall {
    const k = this.k;
    const p = this.task;
    const move = !(p.cpus_allowed.weight() === 1 && p.cpus_allowed.test_cpu(on));
    // sched_setaffinity() fails (-EINVAL) for a CPU that is not active; the
    // write then happens from wherever the task runs.
    const can_move = move && k.hotplug.cpu_active(on);
    const now = k.engine.now;
    if (at > now) {
      if (can_move) this.set_affinity_asleep(CpuMask.cpumask_of(on));
      yield SLEEP(at - now);
    } else if (can_move) {
      k.sched.set_cpus_allowed_ptr(p, CpuMask.cpumask_of(on));
      // Moved at the switch, as the migration thread would move it.
      yield SCHEDULE;
    }
  }

  /**
   * Gives the task `mask` just after it has gone to sleep, so it wakes on
   * that CPU: the effect of taskset on a sleeping shell, without moving a
   * running task.
   */
  private set_affinity_asleep(mask: CpuMask): void {
    this.pending_mask = mask;
    this.k.engine.schedule(this.affinity_ev, this.k.engine.now);
  }

  /** store_online(): "0" is cpu_down, "1" is cpu_up. */
  private *write_online(
    op: "cpu_down" | "cpu_up",
    cpu: number,
    on: number,
    due: number,
    source: "script" | "stress",
  ): KernelCall {
    if (source === "script") yield* this.sleep_on(on, due);
    const k = this.k;
    const rec: CpuhpStressOp = {
      op,
      cpu,
      source,
      on,
      ran_on: smp_processor_id(),
      due_ns: due,
      start_ns: k.engine.now,
      end_ns: null,
      ret: null,
    };
    this.record(rec);
    const ret = op === "cpu_down" ? yield* k.hotplug.cpu_down(cpu) : yield* k.hotplug.cpu_up(cpu);
    rec.ret = ret;
    rec.end_ns = k.engine.now;
    this.current_op = null;
    this.on_op?.(rec);
  }

  private record(rec: CpuhpStressOp): void {
    this.nr_ops++;
    if (this.ops.length >= this.max_records) this.ops.shift();
    this.ops.push(rec);
    this.current_op = rec;
    this.on_op?.(rec);
  }
}
