import { describe, expect, it } from "vitest";
import { campaign_blocks, format_seed_ranges, mask_url, masker, parse_queue_url, parse_seed_range, queue_name } from "../src/index.js";

describe("queue URLs", () => {
  it("reads host, port, db and password, and never shows the password", () => {
    const t = parse_queue_url("redis://:p%40ss%2Fword@10.0.0.5:6390/3");
    expect([t.host, t.port, t.db, t.password, t.tls]).toEqual(["10.0.0.5", 6390, 3, "p@ss/word", false]);
    expect(t.masked).toBe("redis://:***@10.0.0.5:6390/3");
    const d = parse_queue_url("rediss://worker:pw@redis.example");
    expect([d.host, d.port, d.db, d.username, d.tls, d.masked]).toEqual(["redis.example", 6379, 0, "worker", true, "rediss://worker:***@redis.example:6379/0"]);
    expect(mask_url("see redis://:p@ss@h:1/0 now")).toBe("see redis://:***@h:1/0 now");
    expect(masker("redis://:longsecret@h/0")("auth longsecret failed")).toBe("auth *** failed");
  });

  it.each(["http://h:1/0", "redis://h:1/x", "redis://:pw@/0", "not a url"])("rejects %j with a message that hides the password", (u) => {
    expect(() => parse_queue_url(u)).toThrow(/--queue/);
    try {
      parse_queue_url(u.replace("//", "//:hunter22@"));
    } catch (e) {
      expect(String(e)).not.toContain("hunter22");
    }
  });

  it("keeps seed lists short and cuts them into jobs in order", () => {
    expect(format_seed_ranges([1, 2, 3, 5, 7, 8])).toBe("1..3,5,7..8");
    expect(parse_seed_range(format_seed_ranges([4, 9, 10, 11, 2]))).toEqual([4, 9, 10, 11, 2]);
    expect(campaign_blocks("c", [1, 2, 3, 4, 5], 2)).toEqual([
      { id: "c-0", seeds: [1, 2] },
      { id: "c-1", seeds: [3, 4] },
      { id: "c-2", seeds: [5] },
    ]);
  });
});

describe("queue names", () => {
  it("one queue per ksim version, so workers never run another version's jobs", () => {
    expect([queue_name("0.1.0"), queue_name("0.2.0")]).toEqual(["ksim-0.1.0", "ksim-0.2.0"]);
  });
});
