import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs six seeds through the runner it is given: seeds 3 and 6 hang, so the campaign fails", async () => {
    expect(await readme_example()).toEqual({ runs: 6, ok: 4, hang: 2, passed: false, hung_seeds: [3, 6] });
  });
});
