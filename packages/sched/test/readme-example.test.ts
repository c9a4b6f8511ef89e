import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("gives the FIFO spinner 950 ms a period (951 in the first) and the NORMAL one the rest", () => {
    expect(readme_example()).toEqual({ fifo_ms: 951 + 4 * 950, normal_ms: 5000 - 951 - 4 * 950, throttles: 5 });
  });
});
