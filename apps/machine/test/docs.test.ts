/**
 * Keeps the documentation under docs/ honest: what the command line, the
 * schema and the reports really have must be named there, and no Markdown
 * link in the repository may point outside it or at a file that is not there.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const doc = (name: string): string => readFileSync(join(ROOT, "docs", name), "utf8");

/** A Markdown section, from its heading down to the next heading of the same or a higher level. */
function doc_section(text: string, heading: string): string {
  const level = /^#+/.exec(heading)![0].length;
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) return "";
  const rest = text.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

interface Ran {
  code: number;
  stdout: string;
}

async function ksim(...argv: string[]): Promise<Ran> {
  let stdout = "";
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: () => undefined, exit: () => undefined });
  return { code, stdout };
}

/** A backquoted mention, so a word that happens to occur in prose does not count. */
function missing_code_spans(text: string, names: readonly string[]): string[] {
  return names.filter((n) => !text.includes(`\`${n}\``) && !new RegExp(`\`[^\`\\n]*${escape_re(n)}[^\`\\n]*\``).test(text));
}

function escape_re(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---- the command line -------------------------------------------------------------

/** The commands of a help page's "Commands:" section (without `help`). */
function help_commands(help: string): string[] {
  const section = /\nCommands:\n([\s\S]*?)(?:\n\n|$)/.exec(help)?.[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
}

/** The long options of a help page's "Options:" and "Global Options:" sections. */
function help_options(help: string): string[] {
  const out = new Set<string>();
  for (const section of help.matchAll(/\n(?:Global )?Options:\n([\s\S]*?)(?:\n\n|$)/g)) {
    for (const m of section[1]!.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)) out.add(m[1]!);
  }
  return [...out];
}

/** Every command path (`run`, `campaign status`) with its help text, read from the CLI itself. */
async function all_help(): Promise<Map<string, string>> {
  const pages = new Map<string, string>();
  const visit = async (path: string[]): Promise<void> => {
    const r = await ksim(...path, "--help");
    expect(r.code, `ksim ${path.join(" ")} --help`).toBe(0);
    pages.set(path.join(" "), r.stdout);
    for (const sub of help_commands(r.stdout)) await visit([...path, sub]);
  };
  await visit([]);
  return pages;
}

describe("docs/cli.md", () => {
  it("names every command and every option of every command that `ksim --help` shows", async () => {
    const cli = doc("cli.md");
    const pages = await all_help();
    // The walk must have found the commands the CLI is known to have.
    expect([...pages.keys()]).toEqual(expect.arrayContaining(["run", "stress", "shrink", "worker", "campaign status", "list", "schema"]));
    const problems: string[] = [];
    // Options every command takes are documented once; the others in their command's own section.
    const global = help_options(pages.get("")!);
    for (const opt of missing_code_spans(cli, global)) problems.push(`ksim: option ${opt}`);
    for (const [command, help] of pages) {
      if (command === "") continue;
      if (!cli.includes(`ksim ${command}`)) problems.push(`command \`ksim ${command}\` is not in docs/cli.md`);
      const own = help_options(help).filter((o) => !global.includes(o));
      for (const opt of missing_code_spans(section_of(cli, command), own)) problems.push(`ksim ${command}: option ${opt}`);
    }
    expect(problems).toEqual([]);
  });

  it("sees an option that the docs leave out (the check can fail)", () => {
    const help = "Usage: ksim run [options]\n\nOptions:\n  --seed <n>  the seed\n  --not-documented  x\n  -h, --help  help\n";
    expect(help_options(help)).toEqual(["--seed", "--not-documented", "--help"]);
    expect(missing_code_spans("| `--seed <n>` | ... |\n`-h`, `--help`", help_options(help))).toEqual(["--not-documented"]);
  });
});

/** The part of cli.md under the heading that names `ksim <command>`, down to the next heading of the same or a higher level. */
function section_of(text: string, command: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => /^#+ /.test(l) && l.includes(`\`ksim ${command}`));
  if (start < 0) return "";
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end < 0 ? undefined : end).join("\n");
}

// ---- the scenario format -------------------------------------------------------------

/** Every property path of a JSON Schema: `kernel.cpus`, `tasks[].priority`, `notifiers[].actions.*.block`. */
function schema_paths(node: unknown, prefix = ""): string[] {
  if (typeof node !== "object" || node === null) return [];
  const n = node as Record<string, unknown>;
  const out: string[] = [];
  for (const [key, child] of Object.entries((n["properties"] as Record<string, unknown> | undefined) ?? {})) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    out.push(path, ...schema_paths(child, path));
  }
  if (typeof n["items"] === "object") out.push(...schema_paths(n["items"], `${prefix}[]`));
  for (const key of ["prefixItems", "anyOf", "oneOf", "allOf"]) {
    for (const child of (n[key] as unknown[] | undefined) ?? []) out.push(...schema_paths(child, prefix));
  }
  if (typeof n["additionalProperties"] === "object") out.push(...schema_paths(n["additionalProperties"], `${prefix}.*`));
  return [...new Set(out)];
}

describe("docs/scenario-format.md", () => {
  it("names every property path of `ksim schema`", async () => {
    const r = await ksim("schema");
    expect(r.code).toBe(0);
    const paths = schema_paths(JSON.parse(r.stdout) as unknown);
    expect(paths).toEqual(expect.arrayContaining(["kernel.cpus", "tasks[].behavior.cycle.run", "notifiers[].actions.*.block", "stress.hotplug.interval"]));
    expect(missing_code_spans(doc("scenario-format.md"), paths)).toEqual([]);
  });
});

// ---- the reports -----------------------------------------------------------------------

/** Keys of an object and of the objects in its lists and sub-objects, one level down. */
function report_keys(report: Record<string, unknown>): string[] {
  const keys = new Set(Object.keys(report));
  for (const value of Object.values(report)) {
    const items: unknown[] = Array.isArray(value) ? (value as unknown[]) : [value];
    for (const item of items) {
      if (typeof item === "object" && item !== null && !Array.isArray(item)) for (const k of Object.keys(item)) keys.add(k);
    }
  }
  return [...keys];
}

describe("docs/reports.md", () => {
  it("names every key of a real `ksim run seed-hang --json` report", async () => {
    const r = await ksim("run", "seed-hang", "--json");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const hang = report["hang"] as Record<string, unknown>;
    const keys = [...report_keys(report), ...report_keys(hang)];
    expect(keys).toEqual(expect.arrayContaining(["dmesg", "hang", "cycle", "notifications", "runtime_ns"]));
    expect(missing_code_spans(doc("reports.md"), keys)).toEqual([]);
  });

  it("names every key of a real `ksim stress --json` summary and of its seeds' results", async () => {
    const r = await ksim("stress", "seed-hang", "--seeds", "1..2", "--jobs", "0", "--expect", "hang", "--json");
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    const keys = report_keys(summary);
    expect(keys).toEqual(expect.arrayContaining(["expected", "results", "cycle", "detected_by"]));
    expect(missing_code_spans(doc("reports.md"), keys)).toEqual([]);
  });

  it("names every key of a real `ksim compare --json` document, of its sides and of a curve's points", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ksim-docs-compare-"));
    try {
      const a = join(dir, "a.jsonl");
      const b = join(dir, "b.jsonl");
      expect((await ksim("stress", "seed-hang", "--seeds", "1..2", "--jobs", "0", "--expect", "hang", "--out", a)).code).toBe(0);
      expect((await ksim("stress", "seed-fix-post-dead", "--seeds", "1..2", "--jobs", "0", "--out", b)).code).toBe(0);
      const r = await ksim("compare", a, b, "--json");
      expect(r.code).toBe(0);
      const report = JSON.parse(r.stdout) as Record<string, unknown>;
      const curves = report["curves"] as Record<string, unknown>[];
      const keys = [...report_keys(report), ...curves.flatMap((c) => report_keys(c))];
      expect(keys).toEqual(expect.arrayContaining(["median_time_to_hang_ns", "logrank", "chi2", "max_censored_ns", "points", "at_risk", "std_err"]));
      expect(missing_code_spans(doc_section(doc("reports.md"), "## `ksim compare --json`"), keys)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("docs/reports.md: explore", () => {
  it("names every key of a real `ksim explore --json` report and of its classes", async () => {
    const r = await ksim("explore", "seed-hang", "--vary", "kernel.notifier_priority.hrtimer_cpu_notify=0,20", "--jobs", "0", "--json");
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    const classes = report["classes"] as Record<string, unknown>[];
    // A combination's keys are the dimensions' paths: data, not report keys.
    const paths = (report["dimensions"] as { path: string }[]).map((d) => d.path);
    const keys = [...report_keys(report), ...classes.flatMap((c) => report_keys(c))].filter((k) => !paths.includes(k));
    expect(keys).toEqual(expect.arrayContaining(["distinct_states", "complete", "dimensions", "classes", "witness", "split", "state_seen"]));
    expect(missing_code_spans(doc("reports.md"), keys)).toEqual([]);
  }, 60_000);
});

// ---- links -------------------------------------------------------------------------------

const SKIP_DIRS = new Set(["node_modules", "dist", ".changeset", ".git", ".turbo", "coverage", "tmp"]);

function markdown_files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    // docs/api is generated by `pnpm docs:api` and not kept in the repository.
    if (e.isDirectory() && !SKIP_DIRS.has(e.name) && relative(ROOT, path) !== join("docs", "api")) out.push(...markdown_files(path));
    else if (e.isFile() && e.name.endsWith(".md")) out.push(path);
  }
  return out;
}

/** Link targets of a Markdown text, outside fenced code blocks and code spans. */
function link_targets(text: string): string[] {
  const prose = text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
  const reference = [...prose.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => m[1]!);
  return [...inline, ...reference];
}

/** Why a link from `file` to `target` is broken, or null when it is fine. */
function link_problem(file: string, target: string): string | null {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) return null; // a URL, mailto:, or an anchor in the same page
  if (target.startsWith("/")) return "an absolute path";
  const path = decodeURIComponent(target.replace(/[#?].*$/, ""));
  const abs = resolve(dirname(file), path);
  const rel = relative(ROOT, abs);
  if (rel === ".." || rel.startsWith(`..${sep}`)) return "outside the repository";
  if (!existsSync(abs)) return "no such file";
  return null;
}

describe("Markdown links", () => {
  it("stay inside the repository and point at files that exist", () => {
    const files = markdown_files(ROOT);
    expect(files.map((f) => relative(ROOT, f))).toEqual(expect.arrayContaining(["README.md", join("docs", "cli.md")]));
    const problems: string[] = [];
    for (const file of files) {
      for (const target of link_targets(readFileSync(file, "utf8"))) {
        const why = link_problem(file, target);
        if (why) problems.push(`${relative(ROOT, file)}: ${target}: ${why}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("are found and judged as intended (the check can fail)", () => {
    const md = [
      "[a](docs/cli.md) ![b](docs/img/nope.png) [c](../outside/notes.md) [d](https://example.org) [e](#x)",
      "`[f](../in-code-span.md)`",
      "```",
      "[g](../in-a-fence.md)",
      "```",
      "[h]: /etc/passwd",
    ].join("\n");
    const targets = link_targets(md);
    expect(targets).toEqual(["docs/cli.md", "docs/img/nope.png", "../outside/notes.md", "https://example.org", "#x", "/etc/passwd"]);
    const readme = join(ROOT, "README.md");
    expect(targets.map((t) => link_problem(readme, t))).toEqual([null, "no such file", "outside the repository", null, null, "an absolute path"]);
  });
});

// ---- package READMEs -------------------------------------------------------------------

/** The names a package's src/index.ts exports (`export { a, type B } from ...`, `export class C`). */
function index_exports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");
  const names: string[] = [];
  for (const m of code.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}/g)) {
    for (const part of m[1]!.split(",")) {
      const name = part.trim().replace(/^type\s+/, "").split(/\s+as\s+/).pop()!.trim();
      if (name !== "") names.push(name);
    }
  }
  for (const m of code.matchAll(/export\s+(?:declare\s+)?(?:abstract\s+)?(?:class|function\*?|const|let|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g)) names.push(m[1]!);
  return names;
}

describe("package READMEs", () => {
  const packages = ["hrtimer", "kthread", "cpu-hotplug", "sched", "stop-machine", "hung-task"];

  it.each(packages)("%s: the Public API section names every export of src/index.ts", (name) => {
    const dir = join(ROOT, "packages", name);
    const exports = index_exports(readFileSync(join(dir, "src", "index.ts"), "utf8"));
    expect(exports.length).toBeGreaterThan(0);
    const readme = readFileSync(join(dir, "README.md"), "utf8");
    const api = /\n## Public API\n([\s\S]*?)(?=\n## |$)/.exec(readme)?.[1] ?? "";
    expect(api, "a `## Public API` section").not.toBe("");
    expect(readme).toMatch(/\n## Model fidelity\n/);
    expect(missing_code_spans(api, exports)).toEqual([]);
  });

  it("reads exports as intended (the check can fail)", () => {
    const src = '/** x */\nexport { A, type B, c as D } from "./a.js";\n// export { E }\nexport const F = 1;\nexport function* g() {}\n';
    expect(index_exports(src)).toEqual(["A", "B", "D", "F", "g"]);
    expect(missing_code_spans("- `A`: ...\n- `B` (type)", ["A", "B", "F"])).toEqual(["F"]);
  });
});
