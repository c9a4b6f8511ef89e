import { describe, expect, it } from "vitest";
import { format_comm, TASK_COMM_LEN } from "../src/index.js";

describe("kthread_create's name formatting", () => {
  it("formats %d, %u, %s and %% as vsnprintf does", () => {
    expect(format_comm("migration/%d", [1])).toBe("migration/1");
    expect(format_comm("ksoftirqd/%u", [12])).toBe("ksoftirqd/12");
    expect(format_comm("%s-%ld", ["kstop", -3])).toBe("kstop--3");
    expect(format_comm("%u", [-1])).toBe("4294967295");
    expect(format_comm("100%%", [])).toBe("100%");
  });

  it("truncates to TASK_COMM_LEN - 1 characters", () => {
    expect(TASK_COMM_LEN).toBe(16);
    expect(format_comm("a_very_long_thread_name/%d", [3])).toBe("a_very_long_thr");
  });

  it("a missing, surplus or unknown argument is a bug in the caller", () => {
    expect(() => format_comm("migration/%d", [])).toThrow("no argument for %d");
    expect(() => format_comm("kthreadd", [1])).toThrow("1 argument(s) left over");
    expect(() => format_comm("x/%p", [1])).toThrow("unsupported conversion %p");
  });
});
