import { EBUSY, EINVAL, errno_name } from "@ksim/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { boot, caller, recorder, type Seen } from "./helpers.js";

const NR_CPUS = 4;

describe("random hotplug sequences", () => {
  it("results, masks and notifications match a plain model of 2.6.34's checks", () => {
    const op = fc.record({ up: fc.boolean(), cpu: fc.integer({ min: 0, max: NR_CPUS }) });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 25, size: "max" }), (ops) => {
        const { k, hp } = boot(NR_CPUS);
        const seen: Seen[] = [];
        hp.register_cpu_notifier(recorder(hp, k, "a", 1, seen));
        hp.register_cpu_notifier(recorder(hp, k, "b", 0, seen));
        const got: number[] = [];
        caller(k, function* () {
          for (const o of ops) got.push(o.up ? yield* hp.cpu_up(o.cpu) : yield* hp.cpu_down(o.cpu));
          return 0;
        });
        k.run();

        const online = new Set([0, 1, 2, 3]);
        const want: number[] = [];
        let calls = 0;
        for (const o of ops) {
          let r: number;
          if (o.up) r = o.cpu >= NR_CPUS || online.has(o.cpu) ? -EINVAL : 0;
          else r = online.size === 1 ? -EBUSY : !online.has(o.cpu) ? -EINVAL : 0;
          if (r === 0) {
            if (o.up) online.add(o.cpu);
            else online.delete(o.cpu);
            calls += 2 * (o.up ? 3 : 4);
          }
          want.push(r);
        }
        expect(got).toEqual(want);
        expect(hp.cpu_online_mask.to_list()).toEqual([...online].sort((x, y) => x - y));
        expect(hp.cpu_active_mask.equals(hp.cpu_online_mask)).toBe(true);
        expect(seen).toHaveLength(calls);
        // DYING and STARTING, and only they, ran with interrupts off.
        for (const s of seen) expect(s.atomic).toBe(s.event === "CPU_DYING" || s.event === "CPU_STARTING");
        const recs = hp.log.slice(NR_CPUS - 1);
        expect(recs.map((r) => r.result)).toEqual(want.map((r) => (r === 0 ? "ok" : errno_name(r))));
        expect(hp.cpu_add_remove_lock.owner).toBeNull();
        expect(hp.cpu_hotplug.lock.owner).toBeNull();
      }),
      { numRuns: 60, seed: 34 },
    );
  });
});
