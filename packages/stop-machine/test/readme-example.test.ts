import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs as written and gives what the README says", () => {
    expect(readme_example()).toEqual({
      ret: 7,
      ran_on: "kstop/1 on CPU 1",
      atomic: true,
      kstop: ["kstop/0 FIFO 99", "kstop/1 FIFO 99", "kstop/2 FIFO 99"],
      after: 0,
    });
  });
});
