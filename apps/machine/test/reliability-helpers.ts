/** Shared by the reliability-*.test.ts files. */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PKG_DIR = fileURLToPath(new URL("..", import.meta.url));
export const CLI = join(PKG_DIR, "dist", "cli.js");

/**
 * `turbo run test` builds first; run alone on a fresh checkout, build the
 * machine's dist here (stress workers and spawned CLIs run it).
 */
export function ensure_built(): void {
  if (existsSync(CLI) && existsSync(join(PKG_DIR, "dist", "stress", "worker.js"))) return;
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: PKG_DIR, stdio: "ignore" });
}
