import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs worker/1 on CPU 1 for ten 1 ms periods and kthread_stop returns its 42", () => {
    expect(readme_example()).toEqual({ comm: "worker/1", cpu: 1, loops: 10, ret: 42, stopped_at_ms: 10 });
  });
});
