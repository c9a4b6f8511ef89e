import { readFileSync } from "node:fs";

/**
 * The package version, read from package.json (one level above both src/ and
 * dist/), so a release bump never leaves a stale copy behind.
 */
function read_version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

export const VERSION: string = read_version();
