import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("formats an ok run as text and JSON, exits 0, and lists the campaign's hung seed with its replay", () => {
    const r = readme_example();
    expect(r.first_line).toBe("ksim 0.1.0: quiet, seed 1");
    expect(r.json_keys).toEqual(["ksim", "scenario", "seed", "outcome", "simulated_ns", "events", "wall_ms", "cpus", "tasks", "hotplug", "stats", "dmesg", "kernel", "stopped_early"]);
    expect(r.exit).toBe(0);
    expect(r.campaign.split("\n")).toEqual([
      "quiet: 2 runs: 1 ok, 1 hang, 0 bug (expected: ok)",
      "time to hang: min 1.00 h, median 1.00 h, max 1.00 h",
      "simulated 2.00 h in 1.0 s wall: 2.0 simulated hours per second, 0.00 M events/s",
      "",
      "seeds that did not end ok (replay any of them exactly):",
      "  seed    2  hang at 1.00 h: task a -> task b",
      "             ksim run quiet --seed 2",
      "",
    ]);
  });
});
