import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("loads seed-hang with the patch set, and names the file and field of a bad priority", () => {
    const r = readme_example();
    expect(r.builtins).toEqual(["seed-fix-hrtimer-priority", "seed-fix-post-dead", "seed-hang", "seed-stress"]);
    expect(r.stop).toBe("CPU_POST_DEAD");
    expect(r.cpus).toBe(2);
    expect(r.duration_ns).toBe(600_000_000_000);
    expect(r.error).toBe("my.yaml: tasks[0].priority: expected 1..99, got 120");
  });
});
