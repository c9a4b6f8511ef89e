/**
 * Run by the package's build after tsc (`node dist/write_builtins.js`):
 * writes PARSED_BUILTINS, the built-in scenarios as the loader makes them.
 */
import { writeFileSync } from "node:fs";
import { parse_builtins, PARSED_BUILTINS } from "./load.js";

writeFileSync(PARSED_BUILTINS, `${JSON.stringify(parse_builtins())}\n`);
