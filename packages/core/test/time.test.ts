import { describe, expect, it } from "vitest";
import { format_duration, format_trace_ts, parse_duration } from "../src/index.js";

describe("durations", () => {
  it.each([
    ["1500ms", 1_500_000_000],
    ["2.5s", 2_500_000_000],
    ["48h", 172_800_000_000_000],
    ["10m", 600_000_000_000],
    ["0.1s", 100_000_000],
    ["250us", 250_000],
    ["7ns", 7],
    ["0s", 0],
  ])("parses %s", (text, ns) => {
    expect(parse_duration(text)).toBe(ns);
  });

  it.each([
    ["", /expected a duration/],
    ["10", /expected a duration/],
    ["-1s", /expected a duration/],
    ["1.5ns", /whole number of nanoseconds/],
    ["5 parsecs", /expected a duration/],
    ["200d", /expected a duration/],
    ["1000000h", /longer than ksim can represent/],
  ])("rejects %j with a clear message", (text, msg) => {
    expect(() => parse_duration(text)).toThrow(msg);
  });

  it("prints the shortest exact form, and round-trips", () => {
    expect(format_duration(1_500_000_000)).toBe("1.5s");
    expect(format_duration(172_800_000_000_000)).toBe("48h");
    expect(format_duration(950_000_000)).toBe("950ms");
    expect(format_duration(1234)).toBe("1.234us");
    expect(format_duration(1)).toBe("1ns");
    for (const ns of [1, 999, 1_000_001, 123_456_789_000, 3_600_000_000_000]) {
      expect(parse_duration(format_duration(ns))).toBe(ns);
    }
  });

  it("prints trace timestamps as the kernel does", () => {
    expect(format_trace_ts(12_345_678_901)).toBe("   12.345678");
  });
});
