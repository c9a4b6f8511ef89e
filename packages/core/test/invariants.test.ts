import { afterEach, describe, expect, it } from "vitest";
import { exec_context, NSEC_PER_MSEC, preempt_disable, RUN, SCHEDULE, SLEEP } from "../src/index.js";
import { make_test_kernel } from "../src/testing/index.js";

const ms = (n: number) => n * NSEC_PER_MSEC;

// A body that breaks the rule leaves its preempt count behind, as a real
// preempt_disable() without preempt_enable() would.
afterEach(() => {
  exec_context().atomic = 0;
});

describe("schedule_debug: scheduling while atomic in process context", () => {
  it("schedule() with preemption off ends the run with a BUG naming the task", () => {
    const k = make_test_kernel({ cpus: 1 });
    k.spawn({
      comm: "bad-driver",
      *threadfn(p) {
        yield RUN(ms(2));
        preempt_disable();
        p.state = "D";
        yield SCHEDULE;
        return 0;
      },
    });
    k.engine.run(Number.MAX_SAFE_INTEGER);
    expect(k.engine.bug).toEqual({
      at_ns: ms(2),
      kind: "BUG",
      message: "scheduling while atomic: bad-driver/1 called schedule() with preempt_count 1, irq depth 0",
    });
  });

  it("msleep() with preemption off is the same BUG", () => {
    const k = make_test_kernel({ cpus: 1 });
    k.spawn({
      comm: "sleeper",
      *threadfn() {
        preempt_disable();
        yield SLEEP(ms(5));
        return 0;
      },
    });
    k.engine.run(Number.MAX_SAFE_INTEGER);
    expect(k.engine.bug?.message).toBe("scheduling while atomic: sleeper/1 slept with preempt_count 1, irq depth 0");
    expect(k.engine.bug?.at_ns).toBe(0);
  });

  it("the same bodies with preemption on run to the end", () => {
    const k = make_test_kernel({ cpus: 1 });
    const p = k.spawn({
      comm: "good-driver",
      *threadfn() {
        yield RUN(ms(2));
        yield SLEEP(ms(5));
        yield RUN(ms(1));
        return 3;
      },
    });
    k.run();
    expect(k.engine.bug).toBeNull();
    expect([p.exit_code, p.se.sum_exec_runtime, k.engine.now]).toEqual([3, ms(3), ms(8)]);
  });
});
