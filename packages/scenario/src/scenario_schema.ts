/**
 * The scenario schema as a value, for code that composes it with zod. A module
 * of its own so that a bundle which never reads it (the `ksim` CLI) does not
 * build it at start-up.
 */
import { scenario_schema_lazy } from "./schema.js";

/** The scenario format: file input in, ScenarioSpec out. */
export const scenario_schema = scenario_schema_lazy();
