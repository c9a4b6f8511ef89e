#!/usr/bin/env node
// The example a README shows must be the example a test runs. For every
// package with a README.md, check that:
//   - examples/readme.ts exists and the README contains its code verbatim;
//   - test/readme-example.test.ts exists and imports ../examples/readme.js.
// With --strict, every publishable (non-private) package must also have a README.
//
// Usage: node scripts/check-readme-examples.mjs [--strict]
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const strict = process.argv.includes("--strict");
const problems = [];
let checked = 0;

/** LF line ends, no trailing spaces, no leading or trailing blank lines. */
const normalize = (text) =>
  text
    .replace(/\r\n?/g, "\n")
    .split("\n")
    .map((l) => l.trimEnd())
    .join("\n")
    .trim();

const dirs = ["packages", "apps"].flatMap((top) =>
  existsSync(join(ROOT, top))
    ? readdirSync(join(ROOT, top), { withFileTypes: true })
        .filter((d) => d.isDirectory() && existsSync(join(ROOT, top, d.name, "package.json")))
        .map((d) => `${top}/${d.name}`)
    : [],
);

for (const dir of dirs.sort()) {
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8"));
  const readme_path = join(ROOT, dir, "README.md");
  if (!existsSync(readme_path)) {
    if (!pkg.private) {
      if (strict) problems.push(`${dir}: ${pkg.name} is published but has no README.md`);
      else console.log(`skip  ${dir}: no README.md yet`);
    }
    continue;
  }
  checked++;
  const example_path = join(ROOT, dir, "examples", "readme.ts");
  if (!existsSync(example_path)) {
    problems.push(`${dir}: README.md has no tested example: examples/readme.ts is missing`);
    continue;
  }
  const readme = normalize(readFileSync(readme_path, "utf8"));
  const example = normalize(readFileSync(example_path, "utf8"));
  if (!readme.includes(example)) {
    // Point at the first line of the example that the README does not have.
    const first_missing = example.split("\n").find((l) => l.trim() !== "" && !readme.includes(l));
    problems.push(
      `${dir}: README.md does not contain examples/readme.ts verbatim` +
        (first_missing ? `; first line not in the README: ${JSON.stringify(first_missing.trim())}` : " (the lines are there, in another order or split)"),
    );
  }
  const test_path = join(ROOT, dir, "test", "readme-example.test.ts");
  if (!existsSync(test_path)) problems.push(`${dir}: test/readme-example.test.ts is missing`);
  else if (!/from\s+["']\.\.\/examples\/readme(\.js|\.ts)?["']/.test(readFileSync(test_path, "utf8"))) {
    problems.push(`${dir}: test/readme-example.test.ts does not import ../examples/readme.js`);
  }
  if (!problems.some((p) => p.startsWith(`${dir}:`))) console.log(`ok    ${dir}: README.md shows examples/readme.ts, which test/readme-example.test.ts runs`);
}

if (problems.length > 0) {
  for (const p of problems) console.error(`FAIL  ${p}`);
  process.exit(1);
}
console.log(`check-readme-examples: ${checked} README(s) checked`);
