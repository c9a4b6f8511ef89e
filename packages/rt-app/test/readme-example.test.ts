import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("gives the periodic thread 10 ms of every 100 ms and logs each period with its slack", () => {
    const { runtime_ms, log } = readme_example();
    expect(runtime_ms).toBe(100);
    expect(log).toEqual([
      "#idx     perf      run   period           start             end          rel_st      slack c_duration   c_period     wu_lat",
      "   0    10000    10000   100000               0          100000               0      90000      10000     100000          0",
      "   0    10000    10000   100000          100000          200000          100000      90000      10000     100000          0",
    ]);
  });
});
