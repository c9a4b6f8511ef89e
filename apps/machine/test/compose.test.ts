/**
 * The kit composes: a machine assembled from the packages runs the same
 * with any subsystem replaced by an implementation that is not the
 * default's class, and a BUG raised through a second copy of @ksim/core
 * ends a run of the first copy's engine.
 */
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import * as core from "@ksim/core";
import { Engine, SimEvent, type Subsystem, type SubsystemFactory } from "@ksim/core";
import { load_scenario } from "@ksim/scenario";
import { afterAll, describe, expect, it } from "vitest";
import { SUBSYSTEM_NAMES, type SubsystemName } from "../src/kernels.js";
import { Machine, type MachineOptions } from "../src/machine.js";

/**
 * An object that forwards every property and method of `target` (own and
 * inherited) to it, but whose prototype is Object's: `instanceof` the
 * default class is false, and only the interface can be relied on.
 */
function delegate<T extends object>(target: T): T {
  const out: Record<PropertyKey, unknown> = {};
  const keys = new Set<PropertyKey>();
  for (let o: object | null = target; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const key of Reflect.ownKeys(o)) if (key !== "constructor") keys.add(key);
  }
  const t = target as Record<PropertyKey, unknown>;
  for (const key of keys) {
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => {
        const v = t[key];
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
      set: (v: unknown) => {
        t[key] = v;
      },
    });
  }
  return out as T;
}

/** The default factory of `name`, with its ops replaced by a delegate; the delegates made are kept. */
function wrap_one(name: SubsystemName, made: { ops: object; inner: object }[]) {
  return (n: SubsystemName, f: SubsystemFactory): SubsystemFactory =>
    n !== name
      ? f
      : (k) => {
          const s = f(k);
          const inner = s.ops as object;
          const ops = delegate(inner);
          made.push({ ops, inner });
          return { ...s, ops } satisfies Subsystem;
        };
}

function run(sets: string[], decorate?: MachineOptions["decorate"]) {
  const { spec } = load_scenario("seed-hang", { sets });
  const m = new Machine(spec, decorate ? { decorate } : {});
  return { m, r: m.run() };
}

const cycle_of = (r: ReturnType<Machine["run"]>) => r.hang?.cycle.map((e) => `${e.node} -> ${e.waits_for}`) ?? [];

describe("each subsystem replaced by a delegating implementation that is not the default's class", () => {
  const reference = run([]).r;

  it("the reference: seed-hang hangs with the seed's six-edge cycle", () => {
    expect(reference.outcome).toBe("hang");
    expect(cycle_of(reference)).toHaveLength(6);
  });

  for (const name of SUBSYSTEM_NAMES) {
    it(`${name}: seed-hang hangs with the same cycle, and both fixes end ok`, () => {
      const made: { ops: object; inner: object }[] = [];
      const { m, r } = run([], wrap_one(name, made));
      expect(made).toHaveLength(1);
      const { ops, inner } = made[0]!;
      expect(ops instanceof (inner.constructor as new () => object)).toBe(false);
      // The machine's services are the wrapper, not the default.
      const services: Record<(typeof SUBSYSTEM_NAMES)[number], string> = {
        cpu_hotplug: "hotplug",
        sched: "sched",
        hrtimer: "hrtimer",
        kthread: "kthread",
        stop_machine: "stop_machine",
        timer: "",
        softirq: "",
        hung_task: "",
      };
      // Services core does not know by a field are found by their key's name.
      if (services[name]) expect((m.k as unknown as Record<string, unknown>)[services[name]]).toBe(ops);
      else expect(m.k.service({ name })).toBe(ops);
      expect(r.outcome).toBe("hang");
      expect(cycle_of(r)).toEqual(cycle_of(reference));
      expect(r.hang?.detected_at_ns).toBe(reference.hang?.detected_at_ns);
      for (const fix of ["kernel.migration_thread_stop=CPU_POST_DEAD", "kernel.notifier_priority.hrtimer_cpu_notify=20"]) {
        const fixed = run([fix], wrap_one(name, [])).r;
        expect([fix, fixed.outcome]).toEqual([fix, "ok"]);
        expect(fixed.hotplug.every((op) => op.result === "ok")).toBe(true);
      }
    });
  }
});

describe("two copies of @ksim/core in one process", () => {
  // A second copy: core's built files under another path, so Node loads them
  // as different modules (as an install with two versions of core would).
  // Inside core's folder, so the copy resolves core's own dependencies.
  const core_root = dirname(createRequire(import.meta.url).resolve("@ksim/core/package.json"));
  const tmp = mkdtempSync(join(core_root, ".ksim-core-copy-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  cpSync(join(core_root, "dist"), join(tmp, "dist"), { recursive: true });

  it("a BUG raised through the other copy ends this copy's engine with outcome bug, and current() agrees", async () => {
    const other = (await import(pathToFileURL(join(tmp, "dist", "index.js")).href)) as typeof core;
    expect(other.KernelBug).not.toBe(core.KernelBug);
    const engine = new Engine();
    const seen: string[] = [];
    engine.schedule(
      new SimEvent("bad", () => {
        engine.ctx.cpu = 3;
        seen.push(`cpu ${other.raw_smp_processor_id()}`);
        other.BUG("raised through the other copy of @ksim/core");
      }),
      5,
    );
    expect(engine.run(100)).toBe("bug");
    expect(engine.bug).toEqual({ at_ns: 5, kind: "BUG", message: "raised through the other copy of @ksim/core" });
    expect(seen).toEqual(["cpu 3"]);
    expect(other.is_kernel_bug(new core.KernelBug("x"))).toBe(true);
  });
});
