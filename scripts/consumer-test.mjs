#!/usr/bin/env node
// The consumer test: does each package work when installed from its tarball,
// outside the workspace, the way a user gets it from the registry?
//
//   1. build (turbo; cached) and `pnpm pack` every publishable package
//      (pnpm rewrites `workspace:*` to the packages' versions);
//   2. a scratch project in a fresh temp dir installs ONLY @ksim/core and
//      @ksim/hrtimer from their tarballs, type-checks a program against the
//      shipped .d.ts files (skipLibCheck off) and runs it: an hrtimer firing on
//      a small machine from @ksim/core/testing;
//   3. it then installs every tarball and runs `npx ksim run seed-hang` and
//      `npx ksim --version`.
//
// Network: only the npm registry, for the packages' third-party dependencies.
// Usage: node scripts/consumer-test.mjs [--no-build] [--keep]
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
/** Every publishable package of the workspace, core first, the app last. */
const PACKAGES = ["packages", "apps"]
  .flatMap((top) => readdirSync(join(ROOT, top)).sort().map((d) => `${top}/${d}`))
  .filter((dir) => {
    try {
      return JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")).private !== true;
    } catch {
      return false;
    }
  })
  .sort((a, b) => Number(b === "packages/core") - Number(a === "packages/core"));
const args = new Set(process.argv.slice(2));
const t0 = performance.now();

function step(text) {
  console.log(`[consumer-test ${((performance.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${text}`);
}

let work = null;

function fail(text) {
  console.error(`consumer-test: FAIL: ${text}`);
  if (work) console.error(`consumer-test: the scratch project is kept in ${work}`);
  process.exit(1);
}

/** Runs a command; returns { status, stdout, stderr }. Fails unless `ok(status)`. */
function run(cmd, argv, { cwd, ok = (s) => s === 0, env = {} } = {}) {
  const r = spawnSync(cmd, argv, { cwd, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (r.error) fail(`${cmd} ${argv.join(" ")}: ${r.error.message}`);
  if (!ok(r.status)) {
    process.stderr.write(r.stdout + r.stderr);
    fail(`${cmd} ${argv.join(" ")} (in ${cwd}) exited ${r.status}`);
  }
  return r;
}

function expect_includes(what, text, needle) {
  if (!text.includes(needle)) {
    process.stderr.write(text);
    fail(`${what}: expected the output to contain ${JSON.stringify(needle)}`);
  }
}

// ---- 1. build and pack -----------------------------------------------------

if (!args.has("--no-build")) {
  step("pnpm build");
  run("pnpm", ["run", "build", "--output-logs=errors-only"], { cwd: ROOT });
}

work = mkdtempSync(join(tmpdir(), "ksim-consumer-"));
if (!relative(ROOT, work).startsWith("..")) fail(`the scratch dir ${work} is inside the workspace`);
const tarballs = join(work, "tarballs");
const tgz = {};
const versions = {};
for (const dir of PACKAGES) {
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8"));
  run("pnpm", ["pack", "--pack-destination", tarballs], { cwd: join(ROOT, dir) });
  const file = readdirSync(tarballs).find((f) => f === `${pkg.name.replace("@", "").replace("/", "-")}-${pkg.version}.tgz`);
  if (!file) fail(`pnpm pack of ${pkg.name} made no ${pkg.name}@${pkg.version} tarball`);
  tgz[pkg.name] = join(tarballs, file);
  versions[pkg.name] = pkg.version;
  // What a user gets: a package.json without workspace: ranges, and the built entry points.
  const listing = run("tar", ["-tzf", tgz[pkg.name]], { cwd: work }).stdout.split("\n");
  const manifest = run("tar", ["-xOzf", tgz[pkg.name], "package/package.json"], { cwd: work }).stdout;
  if (manifest.includes("workspace:")) fail(`${file}: package.json still has a workspace: range`);
  // The built-in scenarios ship as files beside dist/, not compiled into it.
  const needs = pkg.name === "@ksim/scenario" ? ["package/scenarios/seed-hang.yaml"] : [];
  for (const need of ["package/dist/index.js", "package/dist/index.d.ts", "package/package.json", ...needs]) {
    if (!listing.includes(need)) fail(`${file} has no ${need}`);
  }
  if (!listing.includes("package/README.md")) console.warn(`consumer-test: warning: ${file} has no README.md`);
}
step(`packed ${Object.keys(tgz).length} packages into ${tarballs}`);

// ---- 2. @ksim/core + @ksim/hrtimer alone ----------------------------------

const app = join(work, "app");
run("mkdir", ["-p", app]);
writeFileSync(join(app, "package.json"), JSON.stringify({ name: "ksim-consumer", private: true, type: "module" }, null, 2));
const npm_install = (specs) =>
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...specs], { cwd: app });

step("npm install @ksim/core @ksim/hrtimer (tarballs)");
npm_install([tgz["@ksim/core"], tgz["@ksim/hrtimer"]]);
{
  const installed = readdirSync(join(app, "node_modules", "@ksim")).sort();
  if (installed.join(",") !== "core,hrtimer") fail(`expected only @ksim/core and @ksim/hrtimer installed, got ${installed.join(", ")}`);
  // Every @ksim package must come from our tarballs, never from the registry.
  const lock = JSON.parse(readFileSync(join(app, "package-lock.json"), "utf8"));
  for (const [path, node] of Object.entries(lock.packages)) {
    if (path.includes("node_modules/@ksim/") && !String(node.resolved ?? "").startsWith("file:")) {
      fail(`${path} was resolved from ${node.resolved}, not from a tarball`);
    }
  }
}

const PROGRAM = `import { HrTimer, HRTIMER_NORESTART, HRTIMER_RESTART, NSEC_PER_MSEC, smp_processor_id, type HrtimerRestart } from "@ksim/core";
import { make_test_kernel } from "@ksim/core/testing";
import { Hrtimers } from "@ksim/hrtimer";

const ms = NSEC_PER_MSEC;
const k = make_test_kernel({ cpus: 2 });
const hr = new Hrtimers(k);
k.hrtimer = hr;
hr.init();

// A 10 ms periodic timer started by a task on CPU 1; it stops itself after three expiries.
const fired: string[] = [];
const timer = new HrTimer("consumer_timer");
hr.hrtimer_init(timer, "CLOCK_MONOTONIC", "REL");
timer.function = (t): HrtimerRestart => {
  fired.push(\`\${k.engine.now / ms} ms on CPU \${smp_processor_id()}\`);
  if (fired.length === 3) return HRTIMER_NORESTART;
  hr.hrtimer_forward(t, hr.hrtimer_cb_get_time(t), 10 * ms);
  return HRTIMER_RESTART;
};
k.spawn({
  comm: "starter",
  cpu: 1,
  *threadfn() {
    hr.hrtimer_start(timer, 10 * ms, "REL");
    return 0;
  },
});
k.run(100 * ms);
console.log(JSON.stringify({ fired, now_ms: k.engine.now / ms }));
`;
writeFileSync(join(app, "main.ts"), PROGRAM);
writeFileSync(
  join(app, "tsconfig.json"),
  JSON.stringify(
    {
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        lib: ["ES2023", "DOM"],
        types: [],
        strict: true,
        exactOptionalPropertyTypes: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: false,
        outDir: "out",
      },
      files: ["main.ts"],
    },
    null,
    2,
  ),
);
step("tsc main.ts against the shipped declarations");
run(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"], { cwd: app });
step("node out/main.js");
{
  const out = run(process.execPath, ["out/main.js"], { cwd: app }).stdout.trim();
  const want = JSON.stringify({ fired: ["10 ms on CPU 1", "20 ms on CPU 1", "30 ms on CPU 1"], now_ms: 100 });
  if (out !== want) fail(`the hrtimer program printed\n  ${out}\nexpected\n  ${want}`);
  console.log(`  ${out}`);
}

// ---- 2b. every other package alone, with only the @ksim packages it names ----

/** A package's @ksim dependencies (dependencies and peerDependencies), transitively. */
function ksim_closure(name, seen = new Set()) {
  if (seen.has(name)) return seen;
  seen.add(name);
  const dir = PACKAGES.find((d) => JSON.parse(readFileSync(join(ROOT, d, "package.json"), "utf8")).name === name);
  const pkg = JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8"));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies })) {
    if (dep.startsWith("@ksim/")) ksim_closure(dep, seen);
  }
  return seen;
}

for (const name of Object.keys(tgz)) {
  if (name === "@ksim/machine" || name === "@ksim/hrtimer" || name === "@ksim/core") continue;
  const alone = join(work, `alone-${name.replace("@ksim/", "")}`);
  run("mkdir", ["-p", alone]);
  writeFileSync(join(alone, "package.json"), JSON.stringify({ name: "ksim-consumer-alone", private: true, type: "module" }, null, 2));
  const wanted = [...ksim_closure(name)].sort();
  step(`npm install ${wanted.join(" ")} (tarballs), import ${name}`);
  run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...wanted.map((n) => tgz[n])], { cwd: alone });
  const installed = readdirSync(join(alone, "node_modules", "@ksim")).map((d) => `@ksim/${d}`).sort();
  if (installed.join(",") !== wanted.join(",")) fail(`${name} alone: installed ${installed.join(", ")}, expected ${wanted.join(", ")}`);
  const probe = `const m = await import(${JSON.stringify(name)}); const n = Object.keys(m).length; if (n === 0) throw new Error("no exports"); console.log(n);`;
  const out = run(process.execPath, ["--input-type=module", "-e", probe], { cwd: alone }).stdout.trim();
  console.log(`  ${name}: ${out} exports`);
}

// ---- 3. everything, and the ksim command ----------------------------------

step("npm install every package (tarballs)");
npm_install(PACKAGES.map((dir) => tgz[JSON.parse(readFileSync(join(ROOT, dir, "package.json"), "utf8")).name]));
{
  const lock = JSON.parse(readFileSync(join(app, "package-lock.json"), "utf8"));
  for (const [path, node] of Object.entries(lock.packages)) {
    if (path.includes("node_modules/@ksim/") && !String(node.resolved ?? "").startsWith("file:")) {
      fail(`${path} was resolved from ${node.resolved}, not from a tarball`);
    }
  }
}

step("npx ksim run seed-hang");
{
  // seed-hang expects a hang, so the run exits 0 when it hangs.
  const r = run("npx", ["--no-install", "ksim", "run", "seed-hang"], { cwd: app });
  expect_includes("ksim run seed-hang", r.stdout, "sched_rt_period_timer");
  expect_includes("ksim run seed-hang", r.stdout.toLowerCase(), "hang");
  console.log(r.stdout.split("\n").slice(0, 3).map((l) => `  ${l}`).join("\n"));
}
step("npx ksim run seed-hang --json");
{
  const r = run("npx", ["--no-install", "ksim", "run", "seed-hang", "--json"], { cwd: app });
  const report = JSON.parse(r.stdout);
  if (report.outcome !== "hang") fail(`ksim run seed-hang --json: outcome ${report.outcome}, expected hang`);
  if (!report.hang.cycle.some((e) => e.node === "hrtimer sched_rt_period_timer")) fail("the hang's cycle does not name hrtimer sched_rt_period_timer");
}
step("npx ksim --version");
{
  const r = run("npx", ["--no-install", "ksim", "--version"], { cwd: app });
  if (r.stdout.trim() !== versions["@ksim/machine"]) fail(`ksim --version printed ${JSON.stringify(r.stdout.trim())}, expected ${versions["@ksim/machine"]}`);
  console.log(`  ${r.stdout.trim()}`);
}

if (args.has("--keep")) step(`kept ${work}`);
else rmSync(work, { recursive: true, force: true });
step("PASS");
