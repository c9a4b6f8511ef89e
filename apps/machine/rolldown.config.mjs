/**
 * The `ksim` command as one bundle (dist/cli.bundle.js) beside tsc's
 * dist/cli.js, so that a cold `ksim run` reads a few files instead of some
 * hundred and fifty and resolves no package paths. Built from tsc's output
 * (the packages' dist/, as a user installs them); every package's own build
 * stays as it is, and the library entry (dist/index.js) is not bundled.
 *
 * Commands loaded on demand (stress, explore, shrink, compare, the queue) are
 * chunks of their own (dist/cli.bundle-*.js). Piscina and BullMQ stay
 * outside: they start worker threads and read files of their own packages.
 *
 * A bundled module keeps what `import.meta.url` meant where it was written:
 * @ksim/scenario finds its built-in scenarios beside its dist/, so each use in
 * another package becomes that package's own file URL, resolved at run time.
 */
import { readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { defineConfig } from "rolldown";

const here = import.meta.dirname;
const EXTERNAL = [/^node:/, /^bullmq(\/|$)/, /^piscina(\/|$)/];

/** The package.json that owns a file: its directory and name. */
function owning_package(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
      if (typeof pkg.name === "string") return { dir, name: pkg.name };
    } catch {
      // no package.json here: look further up
    }
  }
  return null;
}

/** Rewrites `import.meta.url` in other @ksim packages to their own file's URL. */
function keep_import_meta_url() {
  return {
    name: "ksim-keep-import-meta-url",
    transform(code, id) {
      if (!code.includes("import.meta.url") || id.startsWith(here + sep)) return null;
      const pkg = owning_package(id);
      if (pkg === null || !pkg.name.startsWith("@ksim/")) return null;
      const rel = relative(pkg.dir, id).split(sep).join("/");
      const url = `new URL(${JSON.stringify(rel)}, import.meta.resolve(${JSON.stringify(`${pkg.name}/package.json`)})).href`;
      return { code: code.replaceAll("import.meta.url", url), map: null };
    },
  };
}

/**
 * Commander requires node:child_process at load, for executable subcommands
 * (`ksim-foo` files), which ksim has none of; loading it (and net, dgram and
 * streams behind it) is a tenth of a cold `ksim run`. It is required when
 * first used instead. The build fails if commander's line changes.
 */
function defer_child_process() {
  const line = "const childProcess = require('node:child_process');";
  return {
    name: "ksim-defer-child-process",
    transform(code, id) {
      if (!/[\\/]commander[\\/]lib[\\/]command\.js$/.test(id)) return null;
      if (!code.includes(line)) throw new Error(`${id}: no "${line}" to defer; update rolldown.config.mjs`);
      const lazy = "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };";
      return { code: code.replace(line, lazy), map: null };
    },
  };
}

export default defineConfig({
  input: { "cli.bundle": join(here, "dist", "cli.js") },
  platform: "node",
  external: EXTERNAL,
  plugins: [keep_import_meta_url(), defer_child_process()],
  output: {
    dir: join(here, "dist"),
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "cli.bundle-[name].js",
    sourcemap: false,

  },
});
