import {
  Completion,
  complete,
  NSEC_PER_MSEC,
  RUN,
  SLEEP,
  smp_processor_id,
  wait_for_completion,
  type TaskStruct,
} from "@ksim/core";
import { make_test_kernel } from "@ksim/core/testing";

const ms = NSEC_PER_MSEC;

/** Two tasks on two CPUs: one waits on a completion the other signals. */
export function readme_example(): { log: string[]; because: string | undefined; runtime_ms: number[] } {
  // An engine, a trace bus, the wait-for graph and the reference executor.
  const k = make_test_kernel({ cpus: 2 });
  const log: string[] = [];

  let producer: TaskStruct | null = null;
  // A completion that can say what its waiters wait for.
  const done = new Completion("setup_done", (waiter) =>
    producer
      ? { from: { kind: "task", task: waiter }, to: { kind: "task", task: producer }, because: "setup_done is completed by producer" }
      : null,
  );

  const consumer = k.spawn({
    comm: "consumer",
    cpu: 0,
    *threadfn() {
      yield* wait_for_completion(done); // TASK_UNINTERRUPTIBLE until complete()
      log.push(`${k.engine.now / ms} ms: consumer woke on CPU ${smp_processor_id()}`);
      yield RUN(1 * ms);
      return 0;
    },
  });
  producer = k.spawn({
    comm: "producer",
    cpu: 1,
    policy: "FIFO",
    rt_priority: 50,
    *threadfn() {
      yield RUN(3 * ms); // 3 ms of CPU time
      yield SLEEP(2 * ms);
      log.push(`${k.engine.now / ms} ms: producer completes setup_done`);
      complete(done);
      return 0;
    },
  });

  k.run(1 * ms);
  // The consumer is in D; the wait-for graph says why.
  const because = k.waitfor.explain({ kind: "task", task: consumer })?.because;
  k.run(); // until nothing is left to happen
  return { log, because, runtime_ms: [consumer, producer].map((p) => p.se.sum_exec_runtime / ms) };
}
