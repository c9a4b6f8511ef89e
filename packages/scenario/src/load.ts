/**
 * Scenario loading: a file (.yaml, .yml, .json) or a built-in name, then the
 * command line's overrides (--set, --seed, --duration), then the schema.
 * Every failure is a ScenarioError with a one-line message naming the file
 * and, when there is one, the field path.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import YAML, { isCollection } from "yaml";
import { is_rt_app_document, min_cpus, parse_json, parse_rt_app, RtAppError, validate_rt_app, type RtAppWorkload } from "@ksim/rt-app";
import { ScenarioError, describe_value, format_path, one_line, parse_scenario } from "./schema.js";
import type { KernelVersion, RtAppFile, ScenarioSpec } from "./types.js";

/** The largest scenario file ksim reads. */
export const MAX_SCENARIO_BYTES = 16 * 1024 * 1024;
/** How many --set overrides one run takes. */
const MAX_SETS = 10_000;
/** YAML alias expansions allowed (a "billion laughs" document stops here). */
const MAX_ALIAS_COUNT = 1_000;

export interface LoadOptions {
  /** `PATH=VALUE` overrides, applied in order (`kernel.cpus=4`, `tasks[0].priority=60`). */
  sets?: readonly string[];
  /** Replaces the scenario's seed. */
  seed?: number;
  /** Replaces the scenario's duration (a duration string, "30s"). */
  duration?: string;
}

export interface LoadedScenario {
  spec: ScenarioSpec;
  /** The document as parsed, with the overrides applied. */
  raw: unknown;
  /** The file path as given, or the built-in scenario's name. */
  source: string;
}

export interface BuiltinScenario {
  name: string;
  description: string;
  /** The kernel its machine models (kernel.version). */
  kernel_version: KernelVersion;
}

/** Where the built-in scenarios live: the package's scenarios/ folder, one level above both src/ and dist/, so nothing is copied at build time. */
const BUILTIN_DIR = new URL("../scenarios/", import.meta.url);

/** Names of the built-in scenarios, sorted. */
export function builtin_names(): string[] {
  let files: string[];
  try {
    files = readdirSync(BUILTIN_DIR);
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -".yaml".length))
    .sort();
}

/** Every built-in scenario with its one-line description (for `ksim list`). */
export function builtin_scenarios(): BuiltinScenario[] {
  return builtin_names().map((name) => {
    const { spec } = load_scenario(name);
    return { name, description: spec.description, kernel_version: spec.kernel.version };
  });
}

/**
 * Loads and validates a scenario. `ref` is a file path or a built-in name;
 * a bare word that is not a built-in is tried as a file.
 */
export function load_scenario(ref: string, opts: LoadOptions = {}): LoadedScenario {
  const src = read_source(ref);
  if (src.builtin && (opts.sets ?? []).length === 0 && opts.seed === undefined && opts.duration === undefined) {
    const parsed = parsed_builtin(src.source, src.text);
    if (parsed !== null) return parsed;
  }
  return parse_source(src, opts);
}

/** The scenario read from its text: the document, the overrides, the schema. */
function parse_source({ source, text, is_json, default_name }: Source, opts: LoadOptions): LoadedScenario {
  const bare = is_json ? bare_rt_app(source, text, default_name) : null;
  const doc = bare ? bare.raw : parse_document(source, text, is_json);
  if (doc === null || doc === undefined) {
    throw new ScenarioError(source, "", "the scenario is empty (expected a mapping with at least kernel.cpus)");
  }
  if (!is_plain_object(doc)) {
    throw new ScenarioError(source, "", `expected a mapping at the top level, got ${describe_value(doc)}`);
  }
  const raw: Record<string, unknown> = { ...doc };
  if (raw["name"] === undefined) raw["name"] = one_line(default_name).slice(0, 100) || "scenario";
  return with_overrides(source, raw, opts, bare);
}

/**
 * The loaded scenario with more `--set` overrides applied (ksim explore's
 * combinations): the file is not read again.
 */
export function vary_scenario(loaded: LoadedScenario, sets: readonly string[]): LoadedScenario {
  return with_overrides(loaded.source, structuredClone(loaded.raw) as Record<string, unknown>, { sets }, null);
}

function with_overrides(source: string, raw: Record<string, unknown>, opts: LoadOptions, bare: BareRtApp | null): LoadedScenario {

  const overrides: { path: string; what: string }[] = [];
  const sets = opts.sets ?? [];
  if (sets.length > MAX_SETS) throw new ScenarioError(source, "", `too many --set options (at most ${MAX_SETS})`);
  for (const set of sets) {
    const { path, value } = parse_set(source, set);
    apply_set(source, raw, path, value, set);
    overrides.push({ path: format_path(path), what: `--set ${set}` });
  }
  if (opts.seed !== undefined) {
    raw["seed"] = opts.seed;
    overrides.push({ path: "seed", what: `--seed ${opts.seed}` });
  }
  if (opts.duration !== undefined) {
    raw["duration"] = opts.duration;
    overrides.push({ path: "duration", what: `--duration ${opts.duration}` });
  }

  try {
    const spec = with_rt_app(parse_scenario(raw, source), raw, source, bare);
    return { spec, raw, source };
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    // Say which command-line option put the bad value there; the last one wins.
    const by = overrides.filter((o) => within(e.path, o.path) || (e.path !== "" && within(o.path, e.path))).pop();
    if (!by) throw e;
    throw new ScenarioError(e.source, e.path, `${e.detail} (from ${by.what})`);
  }
}

// ---- built-in scenarios, parsed at build time --------------------------------------

/**
 * The built-in scenarios as the loader makes them, written by the package's
 * build beside dist/: a cold `ksim run seed-hang` then parses no YAML and
 * builds no schema. One level above both src/ and dist/, like BUILTIN_DIR.
 */
export const PARSED_BUILTINS = new URL("../dist/builtins.json", import.meta.url);

interface ParsedBuiltin {
  /** The YAML it was parsed from: an edited file is parsed again, never served stale. */
  text: string;
  raw: unknown;
  spec: ScenarioSpec;
}

/** Every built-in scenario parsed from its YAML, for PARSED_BUILTINS; one that JSON cannot carry exactly is left out. */
export function parse_builtins(): Record<string, ParsedBuiltin> {
  const out: Record<string, ParsedBuiltin> = {};
  for (const name of builtin_names()) {
    const src = read_source(name);
    const { raw, spec } = parse_source(src, {});
    const entry = { text: src.text, raw, spec };
    if (isDeepStrictEqual(JSON.parse(JSON.stringify(entry)), entry)) out[name] = entry;
  }
  return out;
}

/** The built-in `name` from `file` when it was parsed from this very `text`; null otherwise. */
export function parsed_builtin(name: string, text: string, file: URL | string = PARSED_BUILTINS): LoadedScenario | null {
  let all: Record<string, ParsedBuiltin | undefined>;
  try {
    all = JSON.parse(readFileSync(file, "utf8")) as Record<string, ParsedBuiltin | undefined>;
  } catch {
    return null;
  }
  const entry = Object.hasOwn(all, name) ? all[name] : undefined;
  if (entry === undefined || entry.text !== text) return null;
  return { spec: entry.spec, raw: entry.raw, source: name };
}

// ---- rt-app files ------------------------------------------------------------------

interface BareRtApp {
  raw: Record<string, unknown>;
  workload: RtAppWorkload;
}

function rt_app_error(e: unknown): never {
  if (e instanceof RtAppError) throw new ScenarioError(e.source, e.path, e.detail);
  throw e;
}

/**
 * A .json file that is an rt-app file (a top-level `tasks` object of thread
 * objects) runs alone on a default machine: enough CPUs for every `cpus`
 * entry and at least 2, global.duration as the duration (-1: until every
 * thread ends, bounded by the default duration or --duration).
 */
function bare_rt_app(source: string, text: string, name: string): BareRtApp | null {
  let doc;
  try {
    doc = parse_json(text);
  } catch {
    return null;
  }
  if (!is_rt_app_document(doc)) return null;
  let workload: RtAppWorkload;
  try {
    workload = validate_rt_app(doc, source);
  } catch (e) {
    rt_app_error(e);
  }
  const raw: Record<string, unknown> = {
    name,
    kernel: { cpus: Math.max(2, min_cpus(workload)) },
    rt_app: [basename(source)],
  };
  if (workload.duration_s > 0) raw["duration"] = `${workload.duration_s}s`;
  return { raw, workload };
}

/** Reads the scenario's rt-app files (paths relative to it) into the spec. */
function with_rt_app(spec: ScenarioSpec, raw: Record<string, unknown>, source: string, bare: BareRtApp | null): ScenarioSpec {
  const paths = Array.isArray(raw["rt_app"]) ? (raw["rt_app"] as string[]) : [];
  if (paths.length === 0) return spec;
  const files = paths.map((path, i): RtAppFile => {
    const workload = bare ? bare.workload : read_rt_app(resolve(dirname(source), path), path);
    const need = min_cpus(workload);
    if (need > spec.kernel.cpus) {
      throw new ScenarioError(source, `rt_app[${i}]`, `${path} uses CPU ${need - 1}, but kernel.cpus is ${spec.kernel.cpus}`);
    }
    return { path, workload };
  });
  return { ...spec, rt_app: files, rt_app_until_done: bare !== null && bare.workload.duration_s === -1 };
}

function read_rt_app(file: string, as_named: string): RtAppWorkload {
  try {
    return parse_rt_app(read_text(as_named, file), as_named);
  } catch (e) {
    return rt_app_error(e);
  }
}

/** `inner` is `outer` or a field inside it. */
function within(inner: string, outer: string): boolean {
  return inner === outer || inner.startsWith(`${outer}.`) || inner.startsWith(`${outer}[`);
}

// ---- reading ----------------------------------------------------------------------

interface Source {
  source: string;
  text: string;
  is_json: boolean;
  default_name: string;
  /** A built-in scenario's file. */
  builtin: boolean;
}

function read_source(ref: string): Source {
  if (ref === "") throw new ScenarioError("ksim", "", "no scenario given (a file path or a built-in name)");
  const looks_like_path = /[\\/]/.test(ref) || /\.(ya?ml|json)$/i.test(ref);
  if (!looks_like_path) {
    const names = builtin_names();
    if (names.includes(ref)) {
      const url = new URL(`${ref}.yaml`, BUILTIN_DIR);
      return { source: ref, text: read_text(ref, fileURLToPath(url)), is_json: false, default_name: ref, builtin: true };
    }
    if (!exists(ref)) {
      throw new ScenarioError(
        ref,
        "",
        `no such file, and not a built-in scenario (built-ins: ${names.join(", ") || "none found"})`,
      );
    }
  }
  const ext = extname(ref).toLowerCase();
  return { source: ref, text: read_text(ref, ref), is_json: ext === ".json", default_name: basename(ref, extname(ref)), builtin: false };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function read_text(source: string, path: string): string {
  let bytes: Buffer;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw new ScenarioError(source, "", "cannot read: it is a directory");
    if (!st.isFile()) throw new ScenarioError(source, "", "cannot read: not a regular file");
    if (st.size > MAX_SCENARIO_BYTES) throw too_big(source, st.size);
    bytes = readFileSync(path);
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(source, "", `cannot read: ${fs_reason(e)}`);
  }
  // The size may change between stat and read.
  if (bytes.length > MAX_SCENARIO_BYTES) throw too_big(source, bytes.length);
  if (bytes.includes(0)) throw new ScenarioError(source, "", "not a text file (it contains NUL bytes)");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ScenarioError(source, "", "not a text file (it is not valid UTF-8)");
  }
  return text.startsWith("\uFEFF") ? text.slice(1) : text;
}

function too_big(source: string, size: number): ScenarioError {
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return new ScenarioError(source, "", `the file is ${mib(size)}, more than the ${mib(MAX_SCENARIO_BYTES)} ksim reads`);
}

function fs_reason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory";
    case "ELOOP":
      return "too many symbolic links";
    case "ENAMETOOLONG":
      return "the path is too long";
    default:
      return e instanceof Error ? e.message : String(e);
  }
}

function parse_document(source: string, text: string, is_json: boolean): unknown {
  if (is_json) {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      const pos = /position (\d+)/.exec(msg);
      const where = pos ? `${line_col(text, Number(pos[1]))}: ` : "";
      throw new ScenarioError(source, "", `${where}JSON syntax error: ${first_line(msg)}`);
    }
  }
  let doc: YAML.Document.Parsed;
  try {
    doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true, strict: true });
  } catch (e) {
    throw new ScenarioError(source, "", `cannot parse YAML: ${e instanceof Error ? first_line(e.message) : String(e)}`);
  }
  const err = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? `line ${pos.line}, column ${pos.col}: ` : "";
    const msg =
      err.code === "RESOURCE_EXHAUSTION"
        ? "the document is nested too deeply"
        : first_line(err.message).replace(/ at line \d+, column \d+:?$/, "");
    throw new ScenarioError(source, "", `${where}YAML syntax error: ${msg}`);
  }
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch (e) {
    throw new ScenarioError(source, "", `cannot parse YAML: ${e instanceof Error ? first_line(e.message) : String(e)}`);
  }
}

function line_col(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      start = i + 1;
    }
  }
  return `line ${line}, column ${offset - start + 1}`;
}

function first_line(s: string): string {
  return s.split("\n", 1)[0] ?? "";
}

function is_plain_object(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

// ---- --set PATH=VALUE ----------------------------------------------------------

const FORBIDDEN_KEYS = new Set(["__proto__", "prototype", "constructor"]);

/** `kernel.notifier_priority.hrtimer_cpu_notify=20`, `tasks.0.priority=60`, `tasks[0].priority=60`. */
function parse_set(source: string, set: string): { path: (string | number)[]; value: unknown } {
  const eq = set.indexOf("=");
  if (eq <= 0) {
    throw new ScenarioError(source, "", `bad --set ${JSON.stringify(set)}: expected PATH=VALUE, e.g. kernel.cpus=4`);
  }
  const path_text = set.slice(0, eq);
  const path: (string | number)[] = [];
  const first = /^([A-Za-z_][A-Za-z0-9_-]*)/;
  const next = /^(?:\.([A-Za-z_][A-Za-z0-9_-]*)|\.(\d+)|\[(\d+)\])/;
  let rest = path_text;
  while (rest !== "") {
    const m = (path.length === 0 ? first : next).exec(rest);
    if (!m) {
      throw new ScenarioError(
        source,
        "",
        `bad --set path ${JSON.stringify(path_text)}: expected field names and indexes such as tasks[0].priority or tasks.0.priority`,
      );
    }
    const index = m[2] ?? m[3];
    if (index !== undefined) path.push(Number(index));
    else path.push(m[1]!);
    rest = rest.slice(m[0].length);
  }
  for (const seg of path) {
    if (typeof seg === "string" && FORBIDDEN_KEYS.has(seg)) {
      throw new ScenarioError(source, "", `bad --set path ${JSON.stringify(path_text)}: ${JSON.stringify(seg)} is not a scenario field`);
    }
    if (typeof seg === "number" && !Number.isSafeInteger(seg)) {
      throw new ScenarioError(source, "", `bad --set path ${JSON.stringify(path_text)}: index ${seg} is too large`);
    }
  }
  return { path, value: parse_set_value(set.slice(eq + 1)) };
}

/**
 * A YAML scalar or flow value (`4`, `true`, `CPU_POST_DEAD`, `[1, 2]`,
 * `{ busy: true }`); anything else, such as `a: b`, is taken as a string.
 */
function parse_set_value(text: string): unknown {
  if (text.trim() === "") return text;
  try {
    const doc = YAML.parseDocument(text, { strict: true });
    if (doc.errors.length > 0) return text;
    if (isCollection(doc.contents) && !doc.contents.flow) return text;
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) as unknown;
  } catch {
    return text;
  }
}

function apply_set(source: string, root: Record<string, unknown>, path: (string | number)[], value: unknown, set: string): void {
  let cur: unknown = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    const here = format_path(path.slice(0, i)) || "the scenario";
    const last = i === path.length - 1;
    const next_seg = path[i + 1];
    const fresh = () => (typeof next_seg === "number" ? [] : {});
    if (Array.isArray(cur)) {
      if (typeof seg !== "number") {
        throw new ScenarioError(source, "", `bad --set ${JSON.stringify(set)}: ${here} is a list, so expected an index, got ${JSON.stringify(seg)}`);
      }
      if (seg > cur.length) {
        throw new ScenarioError(source, "", `bad --set ${JSON.stringify(set)}: index ${seg} is past the end of ${here} (it has ${cur.length} items)`);
      }
      if (last) cur[seg] = value;
      else {
        const child: unknown = cur[seg];
        if (child === undefined || child === null) cur[seg] = fresh();
        cur = cur[seg];
      }
    } else if (is_plain_object(cur)) {
      const key = String(seg);
      if (last) cur[key] = value;
      else {
        if (cur[key] === undefined || cur[key] === null) cur[key] = fresh();
        cur = cur[key];
      }
    } else {
      throw new ScenarioError(source, "", `bad --set ${JSON.stringify(set)}: ${here} is ${describe_value(cur)}, not a mapping or list`);
    }
  }
}
