import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { CpuMask, NR_CPUS } from "../src/index.js";

describe("CpuMask", () => {
  it("sets, tests, counts and prints as a cpulist", () => {
    const m = CpuMask.of([0, 1, 2, 3, 6, 200]);
    expect(m.weight()).toBe(6);
    expect(m.test_cpu(6)).toBe(true);
    expect(m.test_cpu(5)).toBe(false);
    expect(m.toString()).toBe("0-3,6,200");
    expect(m.next(4)).toBe(6);
    expect(m.next(7)).toBe(200);
    expect(m.first_and(CpuMask.of([6, 200]))).toBe(6);
    m.clear_cpu(0);
    expect(m.first()).toBe(1);
  });

  it("next and next_and find the first set CPU at or after any start, across word edges", () => {
    const cpus = fc.uniqueArray(fc.integer({ min: 0, max: NR_CPUS - 1 }), { maxLength: 40, size: "max" });
    fc.assert(
      fc.property(cpus, cpus, fc.integer({ min: -2, max: NR_CPUS + 2 }), (a, b, from) => {
        const ma = CpuMask.of(a);
        const mb = CpuMask.of(b);
        const after = (list: number[]): number => list.filter((c) => c >= from).sort((x, y) => x - y)[0] ?? -1;
        expect(ma.next(from)).toBe(after(a));
        expect(ma.next_and(mb, from)).toBe(after(a.filter((c) => b.includes(c))));
        expect(ma.weight()).toBe(a.length);
      }),
    );
    const edges = CpuMask.of([31, 32, 255]);
    expect([edges.next(0), edges.next(32), edges.next(33), edges.next(256)]).toEqual([31, 32, 255, -1]);
  });

  it("rejects CPUs outside NR_CPUS", () => {
    expect(() => new CpuMask().set_cpu(256)).toThrow(/outside 0..255/);
  });
});
