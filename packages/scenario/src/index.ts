/**
 * @ksim/scenario: the scenario format of ksim (a machine model, a workload and
 * a script), its schema, the loader that turns a file or a built-in name into
 * a ScenarioSpec, and the built-in scenarios. It runs nothing: a machine
 * (@ksim/machine) runs the spec.
 */
export { load_scenario, vary_scenario, builtin_names, builtin_scenarios, MAX_SCENARIO_BYTES } from "./load.js";
export type { LoadOptions, LoadedScenario, BuiltinScenario } from "./load.js";
export {
  ScenarioError,
  parse_scenario,
  scenario_json_schema,
  one_line,
  MAX_CPUS,
  MAX_TASKS,
  MAX_SCRIPT_OPS,
  MAX_DIMENSION_VALUES,
} from "./schema.js";
export { scenario_schema } from "./scenario_schema.js";
export { BUILTIN_NOTIFIERS, KERNEL_VERSIONS } from "./types.js";
export type {
  Outcome,
  WorkloadPolicy,
  MigrationThreadStop,
  KernelVersion,
  Behavior,
  WorkloadTask,
  NotifierAction,
  ExtraNotifier,
  ScriptOp,
  StressHotplug,
  KernelParams,
  KernelTopology,
  ScenarioSpec,
  ExploreValue,
  ExploreSweep,
  ExploreSection,
  TieChoice,
} from "./types.js";
