import { describe, expect, it } from "vitest";
import { CpuMask } from "../src/index.js";

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

  it("rejects CPUs outside NR_CPUS", () => {
    expect(() => new CpuMask().set_cpu(256)).toThrow(/outside 0..255/);
  });
});
