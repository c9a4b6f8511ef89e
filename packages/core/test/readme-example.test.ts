import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("wakes the consumer at 5 ms, after the producer's 3 ms of work and 2 ms of sleep", () => {
    expect(readme_example()).toEqual({
      log: ["5 ms: producer completes setup_done", "5 ms: consumer woke on CPU 0"],
      because: "setup_done is completed by producer",
      runtime_ms: [1, 3],
    });
  });
});
