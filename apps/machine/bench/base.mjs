/**
 * Issue 17's yardstick: the machine as it was before the balancer (commit
 * 801bd12, or KSIM_BENCH_BASE=<ref>), built once into
 * node_modules/.cache/ksim-bench-base/<commit>/ and reused by later runs.
 *
 * The tree comes from `git archive` (no worktree is registered), its
 * dependencies from the pnpm store (`--offline --frozen-lockfile`), and only
 * @ksim/machine and what it depends on are built. Without git or the commit
 * (a tarball of the sources), or when the build fails, the row is skipped
 * with the reason.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const DEFAULT_REF = "801bd12";
const READY = ".ksim-bench-built";

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.error) throw new Error(`${cmd} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${r.status}: ${(r.stderr || r.stdout).trim().split("\n").slice(-3).join(" / ")}`);
  return r.stdout.trim();
}

/** The full commit id of `ref`, or null when there is no git or no such commit. */
function resolve_commit(root, ref) {
  const r = spawnSync("git", ["-C", root, "rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : null;
}

function build(root, commit, dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const tar = join(dir, "..", `${commit}.tar`);
  run("git", ["-C", root, "archive", "--format=tar", "-o", tar, commit], root);
  run("tar", ["-xf", tar, "-C", dir], root);
  rmSync(tar, { force: true });
  run("pnpm", ["install", "--offline", "--frozen-lockfile", "--reporter=silent"], dir);
  run("pnpm", ["--filter", "@ksim/machine...", "run", "build"], dir);
  writeFileSync(join(dir, READY), `${commit}\n`);
}

/**
 * The base build: `{ ref, commit, dir }`, or `{ ref, skipped }` saying why
 * there is none. A quick run never builds it, only uses one already built.
 */
export function ensure_base(root, { quick, log }) {
  const ref = process.env.KSIM_BENCH_BASE || DEFAULT_REF;
  const commit = resolve_commit(root, ref);
  if (commit === null) return { ref, skipped: `no git repository with commit ${ref} here (a source tarball?)` };
  const dir = join(root, "node_modules", ".cache", "ksim-bench-base", commit.slice(0, 12));
  if (existsSync(join(dir, READY))) return { ref, commit, dir };
  if (quick) return { ref, skipped: "a quick run uses the base build only once a full `pnpm bench` has made it" };
  log(`building ${ref} (${commit.slice(0, 12)}) into ${dir}, once`);
  try {
    build(root, commit, dir);
  } catch (e) {
    return { ref, skipped: `the build of ${ref} failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  return { ref, commit, dir };
}
