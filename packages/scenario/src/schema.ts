/**
 * The scenario format of CONTRACT.md §1 as a zod schema. Its input side is the
 * file format (durations are strings with a unit), its output side is
 * ScenarioSpec (every default applied, every duration in nanoseconds).
 *
 * Checks that span fields (a CPU number below kernel.cpus, a priority range
 * that depends on the policy) run only once every field is well formed, so the
 * first reported problem is always the most local one.
 */
import {
  CPU_DEAD,
  CPU_DOWN_FAILED,
  CPU_DOWN_PREPARE,
  CPU_DYING,
  CPU_ONLINE,
  CPU_POST_DEAD,
  CPU_STARTING,
  CPU_TASKS_FROZEN,
  CPU_UP_CANCELED,
  CPU_UP_PREPARE,
  DurationError,
  cpu_event_from_name,
  errno_from_name,
  errno_names,
  cpu_event_name,
  format_duration,
  parse_duration,
} from "@ksim/core";
import { z } from "zod";
import type { core } from "zod";
import {
  BUILTIN_NOTIFIERS,
  KERNEL_VERSIONS,
  type Behavior,
  type KernelVersion,
  type MigrationThreadStop,
  type ExploreSweep,
  type ExtraNotifier,
  type NotifierAction,
  type TieChoice,
  type ScenarioSpec,
  type ScriptOp,
  type WorkloadTask,
} from "./types.js";

// ---- limits (TIGER_STYLE: a limit on everything, and a clear message at it) --

export const MAX_CPUS = 256;
export const MAX_TASKS = 10_000;
export const MAX_SCRIPT_OPS = 100_000;
export const MAX_NOTIFIERS = 1_000;
/** TASK_COMM_LEN is 16 bytes including the terminating NUL. */
export const TASK_COMM_LEN = 16;
const INT_MAX = 2 ** 31 - 1;
const INT_MIN = -(2 ** 31);
/** The longest hung_task_timeout_secs whose nanoseconds stay exact (about 104 days). */
const HUNG_TASK_TIMEOUT_MAX = Math.floor(Number.MAX_SAFE_INTEGER / 1e9);
const MAX_TEXT = 1_000;

// ---- ScenarioError -----------------------------------------------------------

/**
 * Bad scenario input. The message is one line: the file (or built-in name),
 * the field path when there is one, and what is wrong, e.g.
 * `seed-hang.yaml: tasks[2].priority: expected 1..99, got 120`.
 */
export class ScenarioError extends Error {
  override readonly name = "ScenarioError";
  constructor(
    /** The file path as given, or the built-in scenario's name. */
    readonly source: string,
    /** The field path (`tasks[2].priority`), or "" when the problem is not in one field. */
    readonly path: string,
    /** What is wrong, without the source and path. */
    readonly detail: string,
  ) {
    super([one_line(source), path, one_line(detail)].filter((s) => s !== "").join(": "));
  }
}

/** Control characters (a newline in a file name, a NUL in a value) never reach the terminal raw. */
export function one_line(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

/** A short, safe description of an input value for "got ..." (never walks a structure). */
export function describe_value(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  switch (typeof v) {
    case "string": {
      const s = v.length > 40 ? `${v.slice(0, 40)}...` : v;
      return JSON.stringify(s);
    }
    case "number":
      return String(v);
    case "boolean":
      return String(v);
    case "bigint":
      return `${v}n`;
    default:
      if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? "" : "s"}`;
      if (v instanceof Date) return "a date";
      if (typeof v === "object") return "a mapping";
      return typeof v;
  }
}

/** `tasks[2].priority`, `kernel.notifier_priority.hrtimer_cpu_notify`. */
export function format_path(path: readonly PropertyKey[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (typeof seg === "string" && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

// ---- field helpers -------------------------------------------------------------

type RawIssue = core.$ZodRawIssue;

/** An integer in lo..hi; every failure says the range and what it got. */
function int_in(lo: number, hi: number, what = `${lo}..${hi}`) {
  const error = (iss: RawIssue) => `expected ${what}, got ${describe_value(iss.input)}`;
  return z.number({ error }).int({ error }).min(lo, { error }).max(hi, { error });
}

function cpu_number() {
  return int_in(0, MAX_CPUS - 1, `a CPU number 0..${MAX_CPUS - 1}`);
}

const DURATION_DOC =
  'A duration: a number with a unit, one of ns, us, ms, s, m, h ("1500ms", "2.5s", "48h").';

/** The shortest run, sleep or period a workload may have. */
export const MIN_BEHAVIOR_NS = 1_000;

/** A duration string parsed by core's parse_duration, to nanoseconds. */
function duration(min_ns = 0) {
  return z
    .string({ error: (iss) => `expected a duration string such as "1500ms" or "2.5s", got ${describe_value(iss.input)}` })
    .transform((text, ctx) => {
      let ns: number;
      try {
        ns = parse_duration(text);
      } catch (e) {
        ctx.issues.push({ code: "custom", input: text, message: e instanceof DurationError ? e.message : String(e) });
        return z.NEVER;
      }
      if (ns < min_ns) {
        ctx.issues.push({ code: "custom", input: text, message: `expected a duration of at least ${format_duration(min_ns)}, got ${JSON.stringify(text)}` });
        return z.NEVER;
      }
      return ns;
    })
    .meta({ description: DURATION_DOC, pattern: "^\\s*(\\d+(\\.\\d+)?|\\.\\d+)\\s*(ns|us|ms|s|m|h)\\s*$" });
}

/** A closed mapping: an unknown key is an error that lists the keys it could have been. */
function strict<S extends z.core.$ZodLooseShape>(shape: S, what = "a mapping") {
  const keys = Object.keys(shape).join(", ");
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === "unrecognized_keys") return `unknown key (expected one of: ${keys})`;
      if (iss.code === "invalid_type") return `expected ${what}, got ${describe_value(iss.input)}`;
      return undefined;
    },
  });
}

function one_of<const T extends readonly [string, ...string[]]>(values: T) {
  return z.enum(values, { error: (iss) => `expected one of ${values.join(" | ")}, got ${describe_value(iss.input)}` });
}

/** Printable text: no control characters, so every report line stays one line. */
function text(min: number, max: number) {
  const error = (iss: RawIssue) =>
    typeof iss.input === "string"
      ? `expected ${min}..${max} characters, got ${iss.input.length}`
      : `expected a string, got ${describe_value(iss.input)}`;
  return z
    .string({ error })
    .min(min, { error })
    .max(max, { error })
    // eslint-disable-next-line no-control-regex
    .regex(/^[^\u0000-\u001f\u007f]*$/, { error: "expected printable text (no control characters or newlines)" });
}

/** A list of distinct CPU numbers (order kept: the first one matters for `start`). */
function cpu_list(what: string) {
  return z
    .array(cpu_number(), { error: (iss) => `expected a list of CPU numbers, got ${describe_value(iss.input)}` })
    .min(1, { error: `expected at least one CPU in ${what}` })
    .max(MAX_CPUS, { error: `expected at most ${MAX_CPUS} CPUs` })
    .check((ctx) => {
      const seen = new Set<number>();
      ctx.value.forEach((cpu, i) => {
        if (seen.has(cpu)) ctx.issues.push({ code: "custom", path: [i], input: cpu, message: `CPU ${cpu} is listed twice` });
        seen.add(cpu);
      });
    });
}

// ---- the format ------------------------------------------------------------------

const POLICIES = ["FIFO", "RR", "NORMAL"] as const;

/** Every CPU notifier event name a scenario may act on, _FROZEN forms included. */
export const CPU_EVENT_NAMES: readonly string[] = [
  CPU_ONLINE,
  CPU_UP_PREPARE,
  CPU_UP_CANCELED,
  CPU_DOWN_PREPARE,
  CPU_DOWN_FAILED,
  CPU_DEAD,
  CPU_DYING,
  CPU_POST_DEAD,
  CPU_STARTING,
].flatMap((ev) => [cpu_event_name(ev), cpu_event_name(ev | CPU_TASKS_FROZEN)]);

const notifier_action = () =>
  z
  .union([one_of(["ok", "bad"]), strict({ block: duration() }), strict({ errno: one_of(errno_names() as [string, ...string[]]) })], {
    error: (iss) => `expected ok, bad, { block: <duration> } or { errno: <EBUSY, EINVAL, ...> }, got ${describe_value(iss.input)}`,
  })
  .transform((a): NotifierAction => {
    if (typeof a === "string") return { kind: a };
    if ("block" in a) return { kind: "block", ns: a.block };
    return { kind: "errno", errno: errno_from_name(a.errno) ?? 0 };
  });

const kernel = () =>
  strict({
  version: one_of(KERNEL_VERSIONS)
    .default("2.6.34")
    .meta({ description: 'The kernel the machine is assembled from: "2.6.34" (migration threads, kstop) or "2.6.35" (cpu_stop).' }),
  cpus: int_in(1, MAX_CPUS).meta({ description: "Number of CPUs, numbered from 0. The only field without a default." }),
  hz: z
    .literal([100, 250, 300, 1000], {
      error: (iss) => `expected one of 100 | 250 | 300 | 1000, got ${describe_value(iss.input)}`,
    })
    .default(1000),
  sched_rt_runtime_us: int_in(-1, INT_MAX, "-1 or 1..sched_rt_period_us")
    .default(950_000)
    .meta({ description: "RT runtime per period in microseconds; -1: no throttling." }),
  sched_rt_period_us: int_in(1, INT_MAX).default(1_000_000),
  rt_runtime_share: z.boolean({ error: (iss) => `expected true or false, got ${describe_value(iss.input)}` }).default(true),
  hung_task_timeout_secs: int_in(0, HUNG_TASK_TIMEOUT_MAX).default(120).meta({ description: "0: the hung-task detector is off." }),
  // No zod default: a knob of 2.6.34 only, so the check must see whether it was given.
  migration_thread_stop: one_of(["CPU_DEAD", "CPU_POST_DEAD"])
    .optional()
    .meta({ description: "2.6.34 only (default CPU_DEAD: as released; CPU_POST_DEAD: the upstream patch). An error under 2.6.35, whose cpu_stop stops migration/N at CPU_POST_DEAD." }),
  notifier_priority: z
    .partialRecord(z.enum(BUILTIN_NOTIFIERS), int_in(INT_MIN, INT_MAX, "an integer priority"), {
      error: (iss) =>
        iss.code !== "invalid_type"
          ? `unknown built-in notifier (expected one of: ${BUILTIN_NOTIFIERS.join(", ")})`
          : `expected a mapping of notifier name to priority, got ${describe_value(iss.input)}`,
    })
    .default({})
    .meta({ description: "Registration priority overrides for built-in notifiers (built-in: migration_call 10, hrtimer_cpu_notify 0, update_runtime 0)." }),
  topology: strict({
    packages: int_in(1, MAX_CPUS),
    cores_per_package: int_in(1, MAX_CPUS),
    threads_per_core: int_in(1, MAX_CPUS),
  })
    .nullable()
    .default(null)
    .meta({ description: "The sched domains' shape; its CPUs must number kernel.cpus. Default: one package of `cpus` cores." }),
}, "a mapping with at least `cpus`").check((ctx) => {
  const k = ctx.value;
  if (ctx.issues.length > 0) return;
  for (const knob of VERSION_ONLY_KNOBS) {
    if (k[knob.field] !== undefined && !knob.versions.includes(k.version)) {
      ctx.issues.push({
        code: "custom",
        path: [knob.field],
        input: k[knob.field],
        message: `not a knob of kernel ${k.version}: ${knob.why} (remove it, or set kernel.version to ${knob.versions.map((v) => `"${v}"`).join(" or ")})`,
      });
      return;
    }
  }
  const t = k.topology;
  if (t && t.packages * t.cores_per_package * t.threads_per_core !== k.cpus) {
    ctx.issues.push({
      code: "custom",
      path: ["topology"],
      input: t,
      message: `expected packages x cores_per_package x threads_per_core = kernel.cpus (${k.cpus}), got ${t.packages * t.cores_per_package * t.threads_per_core}`,
    });
  }
  if (k.sched_rt_runtime_us === 0 || k.sched_rt_runtime_us > k.sched_rt_period_us) {
    ctx.issues.push({
      code: "custom",
      path: ["sched_rt_runtime_us"],
      input: k.sched_rt_runtime_us,
      message: `expected -1 or 1..${k.sched_rt_period_us} (sched_rt_period_us), got ${k.sched_rt_runtime_us}`,
    });
  }
});

/** Kernel fields that only some versions have, and why the others lack them. */
const VERSION_ONLY_KNOBS: readonly { field: "migration_thread_stop"; versions: readonly KernelVersion[]; why: string }[] = [
  {
    field: "migration_thread_stop",
    versions: ["2.6.34"],
    why: "its cpu_stop_cpu_callback always stops migration/N at CPU_POST_DEAD",
  },
];

/** Where each version stops a dead CPU's migration/N when the scenario does not say. */
const MIGRATION_THREAD_STOP: Readonly<Record<KernelVersion, MigrationThreadStop>> = {
  "2.6.34": "CPU_DEAD",
  "2.6.35": "CPU_POST_DEAD",
};

const extra_notifier = () =>
  strict({
  name: text(1, 64).meta({ description: "The callback's name, as reports show it." }),
  priority: int_in(INT_MIN, INT_MAX, "an integer priority").default(0),
  actions: z
    .partialRecord(z.enum(CPU_EVENT_NAMES as [string, ...string[]]), notifier_action(), {
      error: (iss) =>
        iss.code !== "invalid_type"
          ? "unknown CPU event (expected a name such as CPU_DOWN_PREPARE, CPU_DEAD, CPU_POST_DEAD)"
          : `expected a mapping of CPU event to ok | bad | { block: <duration> } | { errno: <name> }, got ${describe_value(iss.input)}`,
    })
    .default({}),
});

const behavior = () =>
  strict({
  busy: z.literal(true, { error: (iss) => `expected true, got ${describe_value(iss.input)}` }).optional(),
  // At least 1us: a workload that runs or sleeps for nanoseconds would make
  // the simulation dense without modelling anything a tick-based kernel does.
  cycle: strict({ run: duration(MIN_BEHAVIOR_NS), sleep: duration(MIN_BEHAVIOR_NS) }).optional(),
  periodic: strict({ period: duration(MIN_BEHAVIOR_NS), run: duration(MIN_BEHAVIOR_NS) })
    .check((ctx) => {
      if (ctx.issues.length === 0 && ctx.value.run > ctx.value.period) {
        ctx.issues.push({ code: "custom", path: ["run"], input: ctx.value.run, message: "expected run to be at most period" });
      }
    })
    .optional(),
})
  .check((ctx) => {
    const given = (["busy", "cycle", "periodic"] as const).filter((k) => ctx.value[k] !== undefined);
    if (given.length !== 1) {
      ctx.issues.push({
        code: "custom",
        input: ctx.value,
        message: `expected exactly one of busy, cycle, periodic, got ${given.length === 0 ? "none" : given.join(" and ")}`,
      });
    }
  })
  .prefault({ busy: true })
  .meta({ description: "Exactly one of busy, cycle, periodic.", minProperties: 1, maxProperties: 1 });

const task = () =>
  strict({
  comm: text(1, TASK_COMM_LEN - 1)
    .optional()
    .meta({ description: "The task's name (at most 15 characters, like TASK_COMM_LEN); default task<index>." }),
  policy: one_of(POLICIES).default("NORMAL"),
  // The range depends on the policy, so the task-level check below says it.
  priority: z
    .number({ error: (iss) => `expected an integer priority, got ${describe_value(iss.input)}` })
    .int({ error: (iss) => `expected an integer priority, got ${describe_value(iss.input)}` })
    .optional()
    .meta({
      description: "rt_priority 1..99 for FIFO and RR (default 50); nice -20..19 for NORMAL (default 0).",
      minimum: -20,
      maximum: 99,
    }),
  cpus: cpu_list("cpus").nullable().default(null).meta({ description: "Affinity; default every CPU. The task starts on the first one." }),
  start: duration().prefault("0s"),
  behavior: behavior(),
  jitter: z
    .number({ error: (iss) => `expected 0..1, got ${describe_value(iss.input)}` })
    .min(0, { error: (iss) => `expected 0..1, got ${describe_value(iss.input)}` })
    .max(1, { error: (iss) => `expected 0..1, got ${describe_value(iss.input)}` })
    .default(0),
}).check((ctx) => {
  const t = ctx.value;
  if (ctx.issues.length > 0 || t.priority === undefined) return;
  const [lo, hi] = t.policy === "NORMAL" ? [-20, 19] : [1, 99];
  if (t.priority < lo || t.priority > hi) {
    ctx.issues.push({
      code: "custom",
      path: ["priority"],
      input: t.priority,
      message: `expected ${lo}..${hi}${t.policy === "NORMAL" ? " (nice, for NORMAL)" : ""}, got ${t.priority}`,
    });
  }
});

const script_op = () =>
  strict({
  at: duration().prefault("0s"),
  cpu_down: cpu_number().optional(),
  cpu_up: cpu_number().optional(),
  on: cpu_number().default(0).meta({ description: "The CPU cpuhp-stress runs on for this operation." }),
}).check((ctx) => {
  const { cpu_down, cpu_up } = ctx.value;
  if ((cpu_down === undefined) === (cpu_up === undefined)) {
    ctx.issues.push({
      code: "custom",
      input: ctx.value,
      message: `expected exactly one of cpu_down, cpu_up, got ${cpu_down === undefined ? "neither" : "both"}`,
    });
  }
}).meta({
  description: "One hotplug operation by cpuhp-stress: exactly one of cpu_down, cpu_up.",
  oneOf: [{ required: ["cpu_down"] }, { required: ["cpu_up"] }],
});

const stress = () =>
  strict({
  hotplug: strict({
    interval: z
      .tuple([duration(), duration()], {
        error: (iss) => `expected [<min duration>, <max duration>], got ${describe_value(iss.input)}`,
      })
      .prefault(["500ms", "3s"])
      .check((ctx) => {
        const [lo, hi] = ctx.value;
        if (ctx.issues.length === 0 && lo > hi) {
          ctx.issues.push({ code: "custom", input: ctx.value, message: "expected [lo, hi] with lo <= hi" });
        }
      })
      .meta({ description: "Uniform random wait between operations, [lo, hi]." }),
    cpus: cpu_list("cpus").optional().meta({ description: "CPUs to toggle; default every CPU but `on`." }),
    on: cpu_number().default(0),
  }).optional(),
});

/** The most values one explore dimension may take. */
export const MAX_DIMENSION_VALUES = 100_000;

/** `--set` paths: field names and indexes (`script[0].at`, `kernel.notifier_priority.hrtimer_cpu_notify`). */
const set_path = () =>
  text(1, 200).regex(/^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\.\d+|\[\d+\])*$/, {
  error: "expected a field path such as script[0].at or kernel.notifier_priority.hrtimer_cpu_notify",
});

const explore_value = () =>
  z.union([z.number(), text(0, 200), z.boolean()], {
  error: (iss) => `expected a number, a string or true/false, got ${describe_value(iss.input)}`,
});

function sweep_bound(text_or_number: number | string, kind: ExploreSweep["kind"]): number {
  return kind === "number" ? (text_or_number as number) : parse_duration(text_or_number as string);
}

/** `{ from: 2.9s, to: 4.1s, step: 10ms }` or `{ from: -5, to: 20, step: 1 }`. */
const sweep_range = () =>
  strict({
  from: z.union([z.number(), z.string()]),
  to: z.union([z.number(), z.string()]),
  step: z.union([z.number(), z.string()]),
}).transform((r, ctx): ExploreSweep => {
  const kinds = new Set([r.from, r.to, r.step].map((v) => typeof v));
  if (kinds.size !== 1) {
    ctx.issues.push({ code: "custom", input: r, message: "expected from, to and step all numbers or all durations" });
    return z.NEVER;
  }
  const kind = typeof r.from === "number" ? "number" : "duration";
  let from: number, to: number, step: number;
  try {
    [from, to, step] = [r.from, r.to, r.step].map((v) => sweep_bound(v, kind)) as [number, number, number];
  } catch (e) {
    ctx.issues.push({ code: "custom", input: r, message: e instanceof DurationError ? e.message : String(e) });
    return z.NEVER;
  }
  if (!(step > 0) || !(to >= from) || !Number.isFinite(from) || !Number.isFinite(to)) {
    ctx.issues.push({ code: "custom", input: r, message: "expected from <= to and a step above 0" });
    return z.NEVER;
  }
  if (Math.floor((to - from) / step) + 1 > MAX_DIMENSION_VALUES) {
    ctx.issues.push({ code: "custom", input: r, message: `expected at most ${MAX_DIMENSION_VALUES} values in one sweep` });
    return z.NEVER;
  }
  return { kind, from, to, step };
});

const explore_section = () =>
  strict({
  vary: z
    .record(set_path(), z.array(explore_value()).min(1, { error: "expected at least one value" }).max(MAX_DIMENSION_VALUES))
    .default({})
    .meta({ description: "Field path -> the values it takes (any path --set accepts)." }),
  sweep: z
    .record(set_path(), sweep_range())
    .default({})
    .meta({ description: "Field path -> { from, to, step }: numbers, or durations (\"2.9s\", \"10ms\")." }),
  ties: z.boolean({ error: (iss) => `expected true or false, got ${describe_value(iss.input)}` }).default(false),
});

/** `"3s: resched/0"`: at that instant, that event fired first among those due. */
const tie_choice = () =>
  text(3, 300).transform((t, ctx): TieChoice => {
  const m = /^([^:\s]+):\s+(.+)$/.exec(t);
  let at_ns = Number.NaN;
  try {
    if (m) at_ns = parse_duration(m[1]!);
  } catch {
    // reported below
  }
  if (!m || !Number.isFinite(at_ns)) {
    ctx.issues.push({ code: "custom", input: t, message: `expected "<time>: <event>" such as "3s: resched/0", got ${describe_value(t)}` });
    return z.NEVER;
  }
  return { at_ns, event: m[2]! };
});

/** How many rt-app files one scenario may name. */
export const MAX_RT_APP_FILES = 64;

/** The scenario file format (CONTRACT.md §1), before cross-field checks. */
const scenario_fields = () =>
  strict({
  name: text(1, 100).default("scenario"),
  description: text(0, MAX_TEXT).default(""),
  seed: int_in(0, Number.MAX_SAFE_INTEGER, `an integer 0..${Number.MAX_SAFE_INTEGER}`).default(1),
  duration: duration(1).prefault("10m").meta({ description: "Simulated time limit; a run stops early at its first hang or bug." }),
  kernel: kernel(),
  notifiers: z
    .array(extra_notifier(), { error: (iss) => `expected a list, got ${describe_value(iss.input)}` })
    .max(MAX_NOTIFIERS, { error: `expected at most ${MAX_NOTIFIERS} notifiers` })
    .default([])
    .meta({ description: "Extra callbacks on the cpu notifier chain." }),
  tasks: z
    .array(task(), { error: (iss) => `expected a list, got ${describe_value(iss.input)}` })
    .max(MAX_TASKS, { error: (iss) => `expected at most ${MAX_TASKS} tasks, got ${describe_value(iss.input)}` })
    .default([])
    .meta({ description: "The workload; pids are given in creation order." }),
  script: z
    .array(script_op(), { error: (iss) => `expected a list, got ${describe_value(iss.input)}` })
    .max(MAX_SCRIPT_OPS, { error: (iss) => `expected at most ${MAX_SCRIPT_OPS} entries, got ${describe_value(iss.input)}` })
    .default([])
    .meta({ description: "Timed hotplug operations, in order, done by the task cpuhp-stress." }),
  stress: stress()
    .nullable()
    .default(null)
    .meta({ description: "Torture-style random hotplug by cpuhp-stress." }),
  rt_app: z
    .array(text(1, 4096), { error: (iss) => `expected a list of rt-app file paths, got ${describe_value(iss.input)}` })
    .max(MAX_RT_APP_FILES, { error: `expected at most ${MAX_RT_APP_FILES} rt-app files` })
    .default([])
    .meta({ description: "rt-app files (paths relative to this file) whose threads join `tasks`." }),
  explore: explore_section()
    .nullable()
    .default(null)
    .meta({ description: "The space `ksim explore` covers: vary, sweep, ties." }),
  tie_order: z
    .array(tie_choice(), { error: (iss) => `expected a list of "<time>: <event>", got ${describe_value(iss.input)}` })
    .max(MAX_SCRIPT_OPS)
    .default([])
    .meta({ description: "Tie choices recorded by `ksim explore` (a witness): at each of the run's first instants with several events due, the one that fired first." }),
  expect: strict({ outcome: one_of(["ok", "hang", "bug"]).default("ok") })
    .nullable()
    .default(null)
    .meta({ description: "The outcome `ksim run` should see (exit status 0 when it does)." }),
}, "a mapping (the scenario)");

type ScenarioFields = z.output<ReturnType<typeof scenario_fields>>;

/** The checks that need more than one field; they run only on well-formed input. */
function cross_checks(s: ScenarioFields, issues: core.$ZodRawIssue[]): void {
  const ncpus = s.kernel.cpus;
  const cpu_ok = (cpu: number, path: PropertyKey[]) => {
    if (cpu >= ncpus) {
      issues.push({
        code: "custom",
        path,
        input: cpu,
        message: `CPU ${cpu} does not exist: kernel.cpus is ${ncpus}, so CPUs are 0..${ncpus - 1}`,
      });
    }
  };
  const names = new Set<string>(BUILTIN_NOTIFIERS);
  s.notifiers.forEach((nb, i) => {
    if (names.has(nb.name)) {
      issues.push({
        code: "custom",
        path: ["notifiers", i, "name"],
        input: nb.name,
        message: `${JSON.stringify(nb.name)} is already a notifier on the chain`,
      });
    }
    names.add(nb.name);
    for (const ev of Object.keys(nb.actions)) {
      // The enum above and core's parser must agree on what an event is.
      if (cpu_event_from_name(ev) === undefined) {
        issues.push({ code: "custom", path: ["notifiers", i, "actions", ev], input: ev, message: "unknown CPU event" });
      }
    }
  });
  s.tasks.forEach((t, i) => (t.cpus ?? []).forEach((cpu, j) => cpu_ok(cpu, ["tasks", i, "cpus", j])));
  let prev_at = 0;
  s.script.forEach((op, i) => {
    const which = op.cpu_down !== undefined ? "cpu_down" : "cpu_up";
    cpu_ok(op.cpu_down ?? op.cpu_up ?? 0, ["script", i, which]);
    cpu_ok(op.on, ["script", i, "on"]);
    if (op.at < prev_at) {
      issues.push({
        code: "custom",
        path: ["script", i, "at"],
        input: op.at,
        message: `expected a time at or after script[${i - 1}].at (the script runs in order)`,
      });
    }
    prev_at = op.at;
  });
  const hp = s.stress?.hotplug;
  if (hp) {
    cpu_ok(hp.on, ["stress", "hotplug", "on"]);
    hp.cpus?.forEach((cpu, j) => cpu_ok(cpu, ["stress", "hotplug", "cpus", j]));
    if (hp.cpus === undefined && ncpus < 2) {
      issues.push({
        code: "custom",
        path: ["stress", "hotplug", "cpus"],
        input: undefined,
        message: "a 1-CPU machine has no CPU to toggle (the default is every CPU but `on`)",
      });
    }
  }
}

function to_behavior(b: z.output<ReturnType<typeof behavior>>): Behavior {
  if (b.cycle) return { kind: "cycle", run_ns: b.cycle.run, sleep_ns: b.cycle.sleep };
  if (b.periodic) return { kind: "periodic", period_ns: b.periodic.period, run_ns: b.periodic.run };
  return { kind: "busy" };
}

function to_spec(s: ScenarioFields): ScenarioSpec {
  const tasks = s.tasks.map(
    (t, i): WorkloadTask => ({
      comm: t.comm ?? `task${i}`,
      policy: t.policy,
      priority: t.priority ?? (t.policy === "NORMAL" ? 0 : 50),
      cpus: t.cpus,
      start_ns: t.start,
      behavior: to_behavior(t.behavior),
      jitter: t.jitter,
    }),
  );
  const notifiers = s.notifiers.map(
    (nb): ExtraNotifier => ({
      name: nb.name,
      priority: nb.priority,
      actions: Object.fromEntries(Object.entries(nb.actions).filter((e): e is [string, NotifierAction] => e[1] !== undefined)),
    }),
  );
  const script = s.script.map(
    (op): ScriptOp =>
      op.cpu_down !== undefined
        ? { at_ns: op.at, op: "cpu_down", cpu: op.cpu_down, on: op.on }
        : { at_ns: op.at, op: "cpu_up", cpu: op.cpu_up ?? 0, on: op.on },
  );
  const hp = s.stress?.hotplug;
  const all_cpus = Array.from({ length: s.kernel.cpus }, (_, i) => i);
  return {
    name: s.name,
    description: s.description,
    seed: s.seed,
    duration_ns: s.duration,
    kernel: {
      ...s.kernel,
      migration_thread_stop: s.kernel.migration_thread_stop ?? MIGRATION_THREAD_STOP[s.kernel.version],
      notifier_priority: Object.fromEntries(
        Object.entries(s.kernel.notifier_priority).filter((e): e is [string, number] => e[1] !== undefined),
      ),
    },
    notifiers,
    tasks,
    script,
    stress: hp
      ? { hotplug: { interval_ns: hp.interval, cpus: hp.cpus ?? all_cpus.filter((c) => c !== hp.on), on: hp.on } }
      : null,
    expect: s.expect,
    // Present only when given, so a spec without them is the one it always was.
    ...(s.explore ? { explore: s.explore } : {}),
    ...(s.tie_order.length > 0 ? { tie_order: s.tie_order } : {}),
  };
}

/** The scenario format: file input in, ScenarioSpec out. */
function build_scenario_schema() {
  return scenario_fields()
    .check((ctx) => {
      if (ctx.issues.length === 0) cross_checks(ctx.value, ctx.issues);
    })
    .transform(to_spec);
}

let built: ReturnType<typeof build_scenario_schema> | null = null;

/**
 * The scenario schema, built on first use: building it is a sizeable part of
 * a cold start, and a built-in scenario read from its parsed form
 * (load_scenario) never needs it.
 */
export function scenario_schema_lazy(): ReturnType<typeof build_scenario_schema> {
  built ??= build_scenario_schema();
  return built;
}

/** The JSON Schema of the file format (input side: durations are strings), for `ksim schema`. */
export function scenario_json_schema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenario_fields(), { io: "input", unrepresentable: "any" });
  return {
    $schema: schema.$schema,
    $id: "https://github.com/ksim/ksim/scenario.schema.json",
    title: "ksim scenario",
    description:
      "A ksim scenario: a Linux 2.6.34 or 2.6.35 machine model, a workload and a hotplug script (CONTRACT.md §1). CPU numbers must be below kernel.cpus.",
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== "$schema")),
  };
}

// ---- issues to one line --------------------------------------------------------

interface Located {
  path: PropertyKey[];
  message: string;
}

function locate(iss: core.$ZodIssue, prefix: readonly PropertyKey[]): Located {
  const path = [...prefix, ...iss.path];
  switch (iss.code) {
    case "unrecognized_keys":
      return { path: [...path, iss.keys[0] ?? ""], message: iss.message };
    case "invalid_union": {
      // A mapping that half-matches one branch ({ block: "5x" }) is best
      // explained by that branch's own first problem.
      for (const branch of iss.errors) {
        // An unknown key explains a missing one ({ blok: 5s } lacks block).
        const best = branch.find((b) => b.code === "unrecognized_keys") ?? branch.find((b) => b.path.length > 0);
        if (best) return locate(best, path);
      }
      return { path, message: iss.message };
    }
    case "invalid_type":
      if (iss.input === undefined) return { path, message: "required" };
      return { path, message: iss.message };
    default:
      return { path, message: iss.message };
  }
}

/**
 * Validates a parsed scenario document. Throws ScenarioError naming `source`
 * and the field path of the first problem.
 */
export function parse_scenario(raw: unknown, source: string): ScenarioSpec {
  let result;
  try {
    result = scenario_schema_lazy().safeParse(raw, { reportInput: true });
  } catch (e) {
    // A stack overflow on absurdly nested input is bad input, not a crash.
    throw new ScenarioError(source, "", `cannot validate: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (result.success) return result.data;
  const first = result.error.issues[0];
  if (!first) throw new ScenarioError(source, "", "invalid scenario");
  const { path, message } = locate(first, []);
  const at = format_path(path);
  const more = new Set(
    result.error.issues.map((iss) => format_path(locate(iss, []).path)).filter((p) => p !== at),
  ).size;
  return raise(source, path, more > 0 ? `${message} (and ${more} more problem${more === 1 ? "" : "s"})` : message);
}

function raise(source: string, path: PropertyKey[], message: string): never {
  throw new ScenarioError(source, format_path(path), message);
}
