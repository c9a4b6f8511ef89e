import { builtin_names, load_scenario, parse_scenario, ScenarioError } from "@ksim/scenario";

/** A built-in scenario with an override, and a bad file's one-line error. */
export function readme_example(): { builtins: string[]; stop: string; cpus: number; duration_ns: number; error: string } {
  const { spec } = load_scenario("seed-hang", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"] });

  let error = "";
  try {
    parse_scenario({ kernel: { cpus: 2 }, tasks: [{ comm: "hog", policy: "FIFO", priority: 120, behavior: { busy: true } }] }, "my.yaml");
  } catch (e) {
    if (e instanceof ScenarioError) error = e.message;
  }
  return {
    builtins: builtin_names(),
    stop: spec.kernel.migration_thread_stop,
    cpus: spec.kernel.cpus,
    duration_ns: spec.duration_ns,
    error,
  };
}
