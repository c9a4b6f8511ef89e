#!/usr/bin/env node
// Fails on any import cycle between the source files of packages/*/src and
// apps/*/src, type-only imports included (madge reads `import type` too).
//
// KNOWN lists the cycles that were there when this check came in, in
// packages whose owners untangle them; a cycle not in it fails, and so does a
// KNOWN one that is gone (delete its line, so it cannot come back unseen).
//
// Usage: node scripts/check-cycles.mjs
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import madge from "madge";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const KNOWN = new Set([
]);

const roots = ["packages", "apps"].flatMap((top) =>
  readdirSync(join(ROOT, top), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join(top, d.name, "src")),
);

const result = await madge(roots, {
  baseDir: ROOT,
  fileExtensions: ["ts"],
  tsConfig: join(ROOT, "tsconfig.base.json"),
  detectiveOptions: { ts: { skipTypeImports: false }, tsx: { skipTypeImports: false } },
});
const found = result.circular().map((cycle) => cycle.join(" > "));
const fresh = found.filter((c) => !KNOWN.has(c));
const gone = [...KNOWN].filter((c) => !found.includes(c));

for (const c of fresh) console.error(`import cycle: ${c}`);
for (const c of gone) console.error(`no longer a cycle (remove it from KNOWN in scripts/check-cycles.mjs): ${c}`);
console.log(`check-cycles: ${Object.keys(result.obj()).length} files, ${found.length} cycles (${found.length - fresh.length} known), ${fresh.length} new`);
process.exit(fresh.length > 0 || gone.length > 0 ? 1 : 0);
