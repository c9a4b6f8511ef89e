import { NOTIFY_OK, type NotifierBlock } from "@ksim/core";
import { load_scenario, run_scenario } from "@ksim/machine";

/**
 * The seed hang through the library API, then the same machine with the
 * patch and a driver's CPU notifier of our own that logs what it hears.
 */
export function readme_example(): { released: string; cycle: string[]; patched: string; heard: string[] } {
  const released = run_scenario(load_scenario("seed-hang").spec);

  const heard: string[] = [];
  const mydrv: NotifierBlock = {
    name: "mydrv_cpu_callback",
    priority: 0,
    *notifier_call(_nb, action, cpu) {
      heard.push(`${action}:${cpu}`);
      return NOTIFY_OK;
    },
  };
  const patched = run_scenario(load_scenario("seed-hang", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"] }).spec, {
    notifiers: [mydrv],
  });

  return {
    released: released.outcome,
    cycle: released.hang?.cycle.map((e) => e.node.replace(/\/\d+$/, "")) ?? [],
    patched: patched.outcome,
    heard,
  };
}
