import { describe, expect, it } from "vitest";
import { readme_example } from "../examples/readme.js";

describe("the README example", () => {
  it("runs as written and gives what the README says", () => {
    expect(readme_example()).toEqual({
      reported: ["stuck"],
      at_s: 20,
      dmesg: [
        "INFO: task stuck:<pid> blocked for more than 10 seconds.",
        '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
      ],
    });
  });
});
