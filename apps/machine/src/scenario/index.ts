/** Scenario files: the format, the loader and the loaded form (ScenarioSpec). */
export { load_scenario, builtin_names, builtin_scenarios, MAX_SCENARIO_BYTES } from "./load.js";
export type { LoadOptions, LoadedScenario, BuiltinScenario } from "./load.js";
export { ScenarioError, parse_scenario, scenario_schema, scenario_json_schema, MAX_CPUS, MAX_TASKS, MAX_SCRIPT_OPS } from "./schema.js";
export * from "./types.js";
