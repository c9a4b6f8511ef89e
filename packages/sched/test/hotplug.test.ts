import {
  CPU_DEAD,
  CPU_DOWN_PREPARE,
  CPU_DYING,
  CPU_POST_DEAD,
  CpuMask,
  exec_context,
  NOTIFY_OK,
  NSEC_PER_MSEC,
  RUN,
  SCHEDULE,
  smp_processor_id,
  wait_node_name,
  type KernelCall,
  type TaskStruct,
} from "@ksim/core";
import { describe, expect, it } from "vitest";
import { cpuset_track_online_cpus_notifier, migration_init, sched_init_smp, type MigrationThreadStop } from "../src/index.js";
import { make_sched_kernel, spawn_on, type SchedTestKernel } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;
const spinner = function* () {
  yield RUN(Number.POSITIVE_INFINITY);
  return 0;
};

/** Boot CPU 0, then bring up the others, from a boot task on CPU 0. */
function boot(k: SchedTestKernel): void {
  const cpus = k.sched.nr_cpu_ids;
  for (let c = 1; c < cpus; c++) k.hotplug.set_online(c, false);
  for (let c = 1; c < cpus; c++) k.sched.set_rq_offline(c);
  spawn_on(k, 0, {
    comm: "init",
    cpus_allowed: CpuMask.of([0]),
    *threadfn() {
      yield* migration_init(k.sched, 0);
      for (let c = 1; c < cpus; c++) yield* k.hotplug.cpu_up(c);
      sched_init_smp(k.sched);
      return 0;
    },
  });
  k.run(0);
}

/** _cpu_down()'s notifier sequence, with take_cpu_down run on the dying CPU. */
function* cpu_down(k: SchedTestKernel, cpu: number): KernelCall<number> {
  // set_cpu_active(cpu, false) comes before CPU_DOWN_PREPARE.
  k.hotplug.cpu_active_mask.clear_cpu(cpu);
  yield* k.hotplug.call_chain(CPU_DOWN_PREPARE, cpu);
  const ctx = exec_context();
  const saved = ctx.cpu;
  ctx.cpu = cpu;
  k.hotplug.set_online(cpu, false);
  k.hotplug.call_chain_atomic(CPU_DYING, cpu);
  k.sched.sched_idle_next();
  ctx.cpu = saved;
  // while (!idle_cpu(cpu)) yield(); with cpu_relax taking a microsecond.
  while (!k.sched.idle_cpu(cpu)) {
    yield SCHEDULE;
    yield RUN(1000);
  }
  yield* k.hotplug.call_chain(CPU_DEAD, cpu);
  yield* k.hotplug.call_chain(CPU_POST_DEAD, cpu);
  return 0;
}

/** A notifier after migration_call that reports migration/1's state at each event. */
function probe(k: SchedTestKernel, seen: string[], on_dead?: () => void) {
  const threads = new Map<number, TaskStruct>();
  for (let c = 0; c < k.sched.nr_cpu_ids; c++) {
    const t = k.sched.migration_thread[c];
    if (t) threads.set(c, t);
  }
  k.hotplug.register_cpu_notifier({
    name: "probe",
    priority: 0,
    *notifier_call(_nb, action, cpu) {
      if (action === CPU_DEAD || action === CPU_POST_DEAD) {
        const m = threads.get(cpu)!;
        seen.push(`${action === CPU_DEAD ? "CPU_DEAD" : "CPU_POST_DEAD"}: ${m.comm} ${m.state} on cpu ${m.cpu}`);
        if (action === CPU_DEAD) on_dead?.();
      }
      return NOTIFY_OK;
    },
  });
}

describe("migration threads across cpu_up and cpu_down", () => {
  it("cpu_up creates migration/N bound to N, SCHED_FIFO 99, asleep on N", () => {
    const k = make_sched_kernel({ cpus: 2 });
    boot(k);
    const m1 = k.sched.migration_thread[1]!;
    expect(m1.comm).toBe("migration/1");
    expect([m1.policy, m1.rt_priority, m1.cpu, m1.cpus_allowed.toString(), m1.state]).toEqual(["FIFO", 99, 1, "1", "S"]);
    expect(m1.usage).toBe(3);
  });

  it.each<[MigrationThreadStop, string[]]>([
    ["CPU_DEAD", ["CPU_DEAD: migration/1 X on cpu 0", "CPU_POST_DEAD: migration/1 X on cpu 0"]],
    ["CPU_POST_DEAD", ["CPU_DEAD: migration/1 S on cpu 0", "CPU_POST_DEAD: migration/1 X on cpu 0"]],
  ])("stopped at %s: moved to the caller's CPU and exits there", (stop, want) => {
    const k = make_sched_kernel({ cpus: 2, migration_thread_stop: stop });
    boot(k);
    const seen: string[] = [];
    probe(k, seen);
    const m1 = k.sched.migration_thread[1]!;
    let ret = -1;
    spawn_on(k, 0, {
      comm: "cpuhp",
      cpus_allowed: CpuMask.of([0]),
      *threadfn() {
        ret = yield* cpu_down(k, 1);
        return 0;
      },
    });
    k.run(ms(10));
    expect(ret).toBe(0);
    expect(seen).toEqual(want);
    expect(m1.exit_code).toBe(0);
    expect(k.sched.migration_thread[1]).toBeNull();
    // Its references: the rq's, dropped by put_task_struct; the task's own two at exit.
    expect(m1.freed).toBe(true);
  });
});

describe("the 2.6.34 hang, seen from the scheduler alone", () => {
  /**
   * CPU 1's hog arms sched_rt_period_timer on CPU 1; CPU 0's hog keeps CPU 0
   * throttled for 50 ms a period, the only time the NORMAL hotplug task runs.
   */
  function setup(stop: MigrationThreadStop) {
    const k = make_sched_kernel({ cpus: 2, migration_thread_stop: stop });
    boot(k);
    k.run(ms(1100));
    spawn_on(k, 1, { comm: "hog1", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([1]), threadfn: spinner });
    k.run(ms(1200));
    spawn_on(k, 0, { comm: "hog0", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: spinner });
    k.run(ms(3000));
    expect(k.sched.rt_period_timer.cpu).toBe(1);
    let ret = -1;
    const cpuhp: TaskStruct = spawn_on(k, 0, {
      comm: "cpuhp",
      cpus_allowed: CpuMask.of([0]),
      *threadfn() {
        ret = yield* cpu_down(k, 1);
        return 0;
      },
    });
    return { k, cpuhp, result: () => ret };
  }

  it("as released: kthread_stop(migration/1) never returns, and the chain ends at the stranded timer", () => {
    const { k, cpuhp, result } = setup("CPU_DEAD");
    k.run(ms(60_000));
    expect(result()).toBe(-1);
    expect(cpuhp.state).toBe("D");
    expect(cpuhp.wchan).toBe("kthread_stop");
    expect(k.sched.rt_rq_stats(0).rt_throttled).toBe(true);
    const chain = k.waitfor.follow({ kind: "task", task: cpuhp });
    expect(chain.path.map((e) => wait_node_name(e.to)).slice(1)).toEqual(["cpu 0", "rt_rq 0", "hrtimer sched_rt_period_timer"]);
    expect(wait_node_name(chain.path[0]!.to)).toMatch(/^task migration\/1\/\d+$/);
  });

  it("with the stop at CPU_POST_DEAD, the timer migrated at CPU_DEAD unthrottles CPU 0 and cpu_down returns", () => {
    const { k, cpuhp, result } = setup("CPU_POST_DEAD");
    // Stand-in for hrtimer_cpu_notify(CPU_DEAD): move the period timer to this CPU.
    probe(k, [], () => k.hrtimer.migrate(k.sched.rt_period_timer, smp_processor_id()));
    k.run(ms(60_000));
    expect(result()).toBe(0);
    expect(cpuhp.state).toBe("X");
    expect(k.sched.rt_period_timer.cpu).toBe(0);
  });
});

describe("CFS tunables follow the online CPU count (update_sysctl)", () => {
  /** sysctl_sched_latency, _min_granularity, _wakeup_granularity in ms. */
  const tunables = (k: SchedTestKernel) => [
    k.sched.sched_latency / ms(1),
    k.sched.sched_min_granularity / ms(1),
    k.sched.sched_wakeup_granularity / ms(1),
  ];

  it.each([4, 8, 16])("on %i CPUs: factor 1 + ilog2(min(online, 8)), as of each rq_online_fair / rq_offline_fair", (cpus) => {
    const k = make_sched_kernel({ cpus });
    boot(k);
    const factor = (n: number) => 1 + Math.floor(Math.log2(Math.min(n, 8)));
    // sched_init_granularity() at the end of sched_init_smp.
    expect(tunables(k)).toEqual([5 * factor(cpus), factor(cpus), factor(cpus)]);
    k.hotplug.register_cpu_notifier(cpuset_track_online_cpus_notifier(k.sched));
    const seen: number[][] = [];
    spawn_on(k, 0, {
      comm: "cpuhp",
      cpus_allowed: CpuMask.of([0]),
      *threadfn() {
        for (let c = cpus - 1; c >= 1; c--) {
          yield* cpu_down(k, c);
          seen.push(tunables(k));
        }
        yield* k.hotplug.cpu_up(1);
        seen.push(tunables(k));
        return 0;
      },
    });
    k.run(ms(100));
    // The domain rebuild at CPU_DOWN_PREPARE takes the dying rq offline while
    // it is still in cpu_online_mask; migration_call's set_rq_offline at
    // CPU_DYING then finds it offline and calls nothing. So after cpu_down(c)
    // the tunables count c + 1 CPUs, the dying one included.
    const want: number[][] = [];
    for (let c = cpus - 1; c >= 1; c--) want.push([5 * factor(c + 1), factor(c + 1), factor(c + 1)]);
    // cpu_up(1): migration_call's set_rq_online at CPU_ONLINE counts CPU 1 online.
    want.push([5 * factor(2), factor(2), factor(2)]);
    expect(seen).toEqual(want);
    // One CPU online, yet factor 2: 10 ms, not the 5 ms of a one-CPU boot.
    expect(want[want.length - 2]).toEqual([10, 2, 2]);
  });
});
