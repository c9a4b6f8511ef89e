import { CpuMask, KernelBug, NSEC_PER_MSEC, RUN, SLEEP, type TaskStruct } from "@ksim/core";
import { describe, expect, it } from "vitest";
import { make_sched_kernel, spawn_on, type SchedTestKernel } from "./fakes.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

/** A machine with RT, RR and fair tasks that run, sleep and wake on both CPUs. */
function busy_machine(): { k: SchedTestKernel; tasks: TaskStruct[] } {
  const k = make_sched_kernel({ cpus: 2 });
  const cycle = (run: number, sleep: number) =>
    function* () {
      for (;;) {
        yield RUN(ms(run));
        yield SLEEP(ms(sleep));
      }
    };
  const tasks = [
    spawn_on(k, 0, { comm: "fifo", policy: "FIFO", rt_priority: 50, cpus_allowed: CpuMask.of([0]), threadfn: cycle(3, 7) }),
    spawn_on(k, 1, { comm: "rr-a", policy: "RR", rt_priority: 20, threadfn: cycle(150, 50) }),
    spawn_on(k, 1, { comm: "rr-b", policy: "RR", rt_priority: 20, threadfn: cycle(150, 50) }),
    spawn_on(k, 0, { comm: "fair-a", threadfn: cycle(20, 1) }),
    spawn_on(k, 0, { comm: "fair-b", nice: 5, threadfn: cycle(20, 3) }),
    spawn_on(k, 1, { comm: "fair-c", threadfn: cycle(40, 2) }),
  ];
  return { k, tasks };
}

/** The KernelBug message `f` throws. */
function bug_of(f: () => void): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KernelBug);
    return (e as KernelBug).message;
  }
  throw new Error("no BUG");
}

describe("check_rq: the runqueue debug check", () => {
  it("holds at every millisecond of a busy two-CPU machine", () => {
    const { k } = busy_machine();
    let checks = 0;
    for (let t = ms(1); t <= ms(2000); t += ms(1)) {
      k.engine.run(t);
      expect(k.engine.bug).toBeNull();
      for (let cpu = 0; cpu < 2; cpu++) k.sched.check_rq(cpu);
      checks++;
    }
    expect(checks).toBe(2000);
    // The machine did work: both CPUs switched often.
    expect(k.sched.stats.context_switches).toBeGreaterThan(400);
    expect(k.sched.rq_nr_running(0) + k.sched.rq_nr_running(1)).toBeGreaterThan(0);
  });

  it("names a count that disagrees with the task lists", () => {
    const { k } = busy_machine();
    k.engine.run(ms(10));
    k.sched.rt_rqs[1]!.rt_nr_running += 1;
    expect(bug_of(() => k.sched.check_rq(1))).toMatch(/^check_rq\(1\): rt_rq: rt_nr_running is \d+ but its lists hold \d+ tasks$/);
  });

  it("names a cfs_rq whose weight disagrees with its tasks", () => {
    const { k } = busy_machine();
    k.engine.run(ms(10));
    k.sched.cfs_rqs[0]!.load_weight += 1;
    expect(bug_of(() => k.sched.check_rq(0))).toMatch(/^check_rq\(0\): cfs_rq load_weight \d+ but its tasks weigh \d+$/);
  });

  it("names a task marked queued that is on no list, and negative rt_time", () => {
    const { k } = busy_machine();
    const sleeper = spawn_on(k, 0, {
      comm: "napper",
      policy: "FIFO",
      rt_priority: 90,
      cpus_allowed: CpuMask.of([0]),
      *threadfn() {
        yield SLEEP(ms(1000));
        return 0;
      },
    });
    k.engine.run(ms(10));
    expect([sleeper.state, sleeper.on_rq]).toEqual(["S", false]);
    k.sched.check_rq(0);
    sleeper.on_rq = true;
    expect(bug_of(() => k.sched.check_rq(0))).toMatch(/^check_rq\(0\): \d+ tasks are on_rq for CPU 0 but its runqueues hold \d+$/);
    sleeper.on_rq = false;
    k.sched.rt_rqs[0]!.rt_time = -1;
    expect(bug_of(() => k.sched.check_rq(0))).toBe("check_rq(0): rt_rq: rt_time is -1");
  });
});

describe("dequeue of a task that is not queued", () => {
  it("is a BUG in both classes, not a silent no-op", () => {
    const { k, tasks } = busy_machine();
    k.engine.run(ms(10));
    const [fifo] = tasks;
    const fair = tasks.find((p) => p.comm === "fair-c")!;
    const rt = k.sched.rt_rqs[1]!;
    expect(bug_of(() => rt.dequeue(fifo!))).toBe(`dequeue_task_rt(${fifo!.name}): not on its rt_rq's prio ${fifo!.prio} list`);
    // The balancer may have moved fair-c: dequeue it from the other CPU's cfs_rq.
    const other = k.sched.cfs_rqs[1 - fair.cpu]!;
    expect(bug_of(() => other.dequeue(fair))).toBe(`dequeue_task_fair(${fair.name}): not on its cfs_rq`);
  });
});

describe("hrtick_update: a fair task that joins a busy CPU is not starved", () => {
  it("a task woken next to a busy fair curr, without wake-up preemption, still gets the CPU at the slice's end", () => {
    const k = make_sched_kernel({ cpus: 2 });
    const on0 = CpuMask.of([0]);
    const hog = spawn_on(k, 0, {
      comm: "hog",
      cpus_allowed: on0,
      *threadfn() {
        yield RUN(Number.POSITIVE_INFINITY);
        return 0;
      },
    });
    // Runs 1 ms, then blocks for 1 ns: it wakes with a vruntime no smaller
    // than the hog's, so check_preempt_wakeup() does not preempt; only the
    // tick at the end of the hog's slice can give it the CPU back.
    const napper = spawn_on(k, 0, {
      comm: "napper",
      cpus_allowed: on0,
      *threadfn() {
        for (;;) {
          yield RUN(ms(1));
          yield SLEEP(1);
        }
      },
    });
    k.engine.run(ms(1000));
    expect(k.engine.bug).toBeNull();
    for (const rq of k.sched.rqs) k.sched.update_curr(rq);
    // Without the re-armed tick the napper got 5 ms of the second and the hog the rest.
    expect(napper.se.sum_exec_runtime).toBeGreaterThan(ms(300));
    expect(hog.se.sum_exec_runtime).toBeGreaterThan(ms(400));
    expect(hog.se.sum_exec_runtime + napper.se.sum_exec_runtime).toBeGreaterThan(ms(1000) - 1000);
  });
});
