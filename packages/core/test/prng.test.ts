import { describe, expect, it } from "vitest";
import { Prng } from "../src/index.js";

const draw = (p: Prng, n = 8) => Array.from({ length: n }, () => p.int(0, 1_000_000));

describe("Prng streams", () => {
  it("the same seed and stream give the same numbers", () => {
    expect(draw(new Prng(42, "workload"))).toEqual(draw(new Prng(42, "workload")));
  });

  it("streams of different names or seeds differ", () => {
    const a = draw(new Prng(42, "workload"));
    expect(draw(new Prng(42, "stress"))).not.toEqual(a);
    expect(draw(new Prng(43, "workload"))).not.toEqual(a);
  });

  it("drawing from one stream does not move another", () => {
    const root = new Prng(7);
    const s1 = root.split("stress");
    const untouched = draw(root.split("workload"));
    draw(s1, 100);
    expect(draw(new Prng(7).split("workload"))).toEqual(untouched);
  });

  it("between covers ranges wider than 32 bits and stays inside them", () => {
    const p = new Prng(1, "x");
    for (let i = 0; i < 1000; i++) {
      const v = p.between(500_000_000, 3_000_000_000);
      expect(Number.isInteger(v)).toBe(true);
      expect(v).toBeGreaterThanOrEqual(500_000_000);
      expect(v).toBeLessThanOrEqual(3_000_000_000);
    }
  });
});
