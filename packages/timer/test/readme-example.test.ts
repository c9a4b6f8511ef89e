import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs as written and gives what the README says", () => {
    expect(readme_example()).toEqual({ woke_ms: 201, woke_on: 0, migrated: 1 });
  });
});
