import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("a 9 ms run / 1 ms sleep task gets 900 ms of a 1 s second on its own CPU", () => {
    expect(readme_example()).toEqual({ comm: "worker", state: "S", runtime_ms: 900 });
  });
});
