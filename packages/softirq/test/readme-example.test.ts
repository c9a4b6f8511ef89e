import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs as written and gives what the README says", () => {
    expect(readme_example()).toEqual({ threads: ["ksoftirqd/0", "ksoftirqd/1"], stopped: "ksoftirqd/1 FIFO 99 state X", woken: 1 });
  });
});
