import { Completion, NSEC_PER_SEC, SimEvent, wait_for_completion } from "@ksim/core";
import { make_test_kernel } from "@ksim/core/testing";
import { HungTaskDetector } from "@ksim/hung-task";

const s = NSEC_PER_SEC;

/** A task stuck in D from 1 s; khungtaskd scans every 10 s. */
export function readme_example(): { reported: string[]; at_s: number; dmesg: string[] } {
  const k = make_test_kernel({ cpus: 2 });
  let reported: string[] = [];
  let at_s = -1;
  const d = new HungTaskDetector(k, {
    hung_task_timeout_secs: 10,
    on_hung: (tasks, now) => {
      reported = tasks.map((t) => t.comm);
      at_s = now / s;
      k.engine.stop("hung task");
    },
  });
  d.init(); // hung_task_init(): khungtaskd, SCHED_NORMAL

  const never = new Completion("never");
  const stuck = k.sched.create_task({
    comm: "stuck",
    *threadfn() {
      yield* wait_for_completion(never, "my_wait"); // TASK_UNINTERRUPTIBLE, no timeout
      return 0;
    },
  });
  k.engine.schedule(new SimEvent("start", () => k.sched.wake_up_new_task(stuck)), 1 * s);
  k.run(100 * s);
  return { reported, at_s, dmesg: k.dmesg.map((l) => l.replace(/:\d+ /, ":<pid> ")) };
}
